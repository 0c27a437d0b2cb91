"""A forward record: forecasts written down before their outcome existed, scored as it arrives.

The ledger (:mod:`stockapp.core.ledger`) holds one entry per forecast; this module says what an
entry holds, scores an entry once its target bar's close is known (a row of the results file,
which names the entry by its hash), and turns the scored entries into the same scores and tests
as a backtest: RMSE against persistence with the Diebold-Mariano test, the hit rate with the
Pesaran-Timmermann test, and band coverage (Kupiec) when the model forecasts a distribution.

Entries marked ``backfill`` (their outcome was already in the data when they were made, e.g. the
bars the run itself was tested on) are scored too but kept apart from the forward record.

Whether the forward errors are consistent with the run's own backtest is tested with the
Mann-Whitney U test (scipy, two-sided) of the absolute log errors ``|log(forecast/realised)|``
of the forward bars against those of the backtest's test bars: log errors do not depend on the
price level, which drifts between the backtest and today, and the rank test needs no normal
errors. Like the other tests here it treats the bars as independent, which volatility
clustering makes only approximately true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from stockapp.core.bands import BandScores, describe_bands, score_bands
from stockapp.core.bars import format_dates, parse_dates
from stockapp.core.exchange import BarClock
from stockapp.core.lazy import stats  # scipy.stats, imported when first used
from stockapp.core.ledger import digest
from stockapp.core.metrics import (
    ForecastMetrics,
    describe_direction,
    describe_significance,
    forecast_metrics,
)
from stockapp.core.return_distribution import interval
from stockapp.core.significance import ALPHA, format_pvalue

#: Bumped when the meaning of an entry's keys changes.
LEDGER_FORMAT = 1
#: Keys every entry carries (besides ``prev_hash`` and ``hash``).
REQUIRED = (
    "format", "run_id", "weights_hash", "series", "close", "source", "bars", "exchange",
    "data_through", "data_hash", "inputs", "last_close", "target_date", "forecast", "bands",
    "issued_at", "backfill",
)  # fmt: skip


def frame_record(frame: pd.DataFrame) -> dict:
    """Prices as plain JSON (full float precision): ``{"columns", "dates", "rows"}``; a value
    that is not a number (an input column's first row, which no window reads) is ``null``."""
    values = frame.to_numpy(dtype=np.float64)
    rows = values.astype(object)
    rows[~np.isfinite(values)] = None
    return {
        "columns": [str(c) for c in frame.columns],
        "dates": format_dates(pd.DatetimeIndex(frame.index)),
        "rows": rows.tolist(),
    }


def frame_from_record(record: dict) -> pd.DataFrame:
    """Inverse of :func:`frame_record`."""
    index = parse_dates(record["dates"]).rename("Date")
    return pd.DataFrame(record["rows"], index=index, columns=record["columns"], dtype=np.float64)


def window_hash(frame: pd.DataFrame, end: int, window: int) -> str:
    """The ``data_hash`` of a forecast from the window ending at row ``end``: SHA-256 of the
    ``window + 1`` rows it reads (the first only to difference the second)."""
    return digest(frame_record(frame.iloc[end - window : end + 1]))


def band_levels(mu: float, sigma: float, nu: float | None, last_close: float) -> dict:
    """An entry's ``bands``: the log-return distribution and its 80%/95% price bands."""
    out = {"mu": float(mu), "sigma": float(sigma), "nu": None if nu is None else float(nu)}
    for level in (80, 95):
        lo, hi = interval(level / 100, mu, sigma, nu)
        out[f"lower_{level}"] = float(last_close * math.exp(float(lo)))
        out[f"upper_{level}"] = float(last_close * math.exp(float(hi)))
    return out


def score_entry(entry: dict, outcome_date: str, realised_return: float, scored_at: str) -> dict:
    """A results row for ``entry``: its target bar closed ``realised_return`` (log) above the
    bar its data ended on, so the realised close is ``last_close * exp(realised_return)`` on the
    scale the forecast was made (a later re-adjustment of the history moves both alike)."""
    last = float(entry["last_close"])
    realised = last * math.exp(realised_return)
    forecast = float(entry["forecast"])
    move, called = np.sign(realised - last), np.sign(forecast - last)
    row = {
        "entry": entry["hash"],
        "target_date": entry["target_date"],
        "outcome_date": outcome_date,
        "realised": realised,
        "realised_return": float(realised_return),
        "error": forecast - realised,
        "persistence_error": last - realised,
        "direction_hit": None if move == 0 or called == 0 else bool(move == called),
        "backfill": bool(entry["backfill"]),
        "scored_at": scored_at,
    }
    bands = entry.get("bands")
    for level in (80, 95):
        row[f"in_{level}"] = (
            None
            if not bands
            else bool(bands[f"lower_{level}"] <= realised <= bands[f"upper_{level}"])
        )
    return row


@dataclass(frozen=True)
class Comparison:
    """Forward absolute log errors against the backtest's (Mann-Whitney U, two-sided)."""

    forward_n: int
    backtest_n: int
    forward_median: float
    backtest_median: float
    pvalue: float
    forward_ratio: float  # RMSE / persistence RMSE on the forward bars
    backtest_ratio: float  # the same on the backtest's test bars

    def sentence(self) -> str:
        ratios = (
            f"RMSE / persistence {self.forward_ratio:.3f} forward, {self.backtest_ratio:.3f} in "
            f"the backtest"
        )
        if math.isnan(self.pvalue):
            return (
                f"Too few forward bars ({self.forward_n}) to compare with the backtest's "
                f"{self.backtest_n}; {ratios}."
            )
        test = (
            f"Mann-Whitney {format_pvalue(self.pvalue)} on absolute log errors, median "
            f"{self.forward_median:.4f} on {self.forward_n} forward bars vs "
            f"{self.backtest_median:.4f} on {self.backtest_n} backtest bars"
        )
        if self.pvalue >= ALPHA:
            return f"The forward errors are consistent with the backtest's ({test}); {ratios}."
        word = "larger" if self.forward_median > self.backtest_median else "smaller"
        return (
            f"The forward errors are significantly {word} than the backtest's ({test}); {ratios}."
        )


def compare_with_backtest(
    forward_log_errors: np.ndarray,
    backtest_log_errors: np.ndarray,
    forward_ratio: float,
    backtest_ratio: float,
) -> Comparison:
    """Test whether forward absolute log errors come from the backtest's distribution."""
    f = np.abs(np.asarray(forward_log_errors, np.float64))
    b = np.abs(np.asarray(backtest_log_errors, np.float64))
    f, b = f[np.isfinite(f)], b[np.isfinite(b)]
    p = math.nan
    if f.size >= 2 and b.size >= 2:
        p = float(stats.mannwhitneyu(f, b, alternative="two-sided").pvalue)
    med = lambda a: float(np.median(a)) if a.size else math.nan  # noqa: E731
    return Comparison(int(f.size), int(b.size), med(f), med(b), p, forward_ratio, backtest_ratio)


@dataclass(frozen=True)
class ForwardScores:
    """The forward record so far: counts, the backtest's scores on it, and the comparison."""

    scored: int  # forward (not backfill) entries whose outcome is known
    waiting: int  # forward entries whose target bar has not closed in the data yet
    backfill: int  # backfill entries (kept apart)
    metrics: ForecastMetrics | None
    bands: BandScores | None
    comparison: Comparison | None

    def lines(self, name: str = "The model") -> list[str]:
        """The record in sentences, for the command line and the window."""
        head = (
            f"Forward record: {self.scored} bar{'s' if self.scored != 1 else ''} scored, "
            f"{self.waiting} awaiting {'its' if self.waiting == 1 else 'their'} close; "
            f"{self.backfill} backfill forecast{'s' if self.backfill != 1 else ''} kept apart."
        )
        if self.metrics is None:
            return [head, "No forward forecast has been scored yet."]
        m = self.metrics
        out = [
            head,
            f"RMSE {m.rmse:.4f}, persistence's {_persistence_rmse(m):.4f}, on the forward bars.",
            describe_significance(name, m),
            describe_direction(name, m),
        ]
        if self.bands is not None:
            out.append(describe_bands(name, self.bands))
        if self.comparison is not None:
            out.append(self.comparison.sentence())
        return out


def forward_scores(entries: list[dict], results: list[dict], backtest=None) -> ForwardScores:
    """Score the forward (not backfill) entries that have a result; ``backtest`` (a
    ``BacktestResult``) adds the comparison with the run's own test bars."""
    by_hash = {r["entry"]: r for r in results}
    forward = [e for e in entries if not e["backfill"]]
    done = [(e, by_hash[e["hash"]]) for e in forward if e["hash"] in by_hash]
    n_backfill = len(entries) - len(forward)
    if not done:
        return ForwardScores(0, len(forward), n_backfill, None, None, None)
    realised = np.array([r["realised"] for _, r in done])
    forecast = np.array([float(e["forecast"]) for e, _ in done])
    last = np.array([float(e["last_close"]) for e, _ in done])
    metrics = forecast_metrics(realised, forecast, last, last)
    bands = None
    with_bands = [(e, r) for e, r in done if e.get("bands")]
    if with_bands:
        y = np.array([r["realised_return"] for _, r in with_bands])
        mu = np.array([e["bands"]["mu"] for e, _ in with_bands])
        sigma = np.array([e["bands"]["sigma"] for e, _ in with_bands])
        nus = [e["bands"]["nu"] for e, _ in with_bands]
        nu = None if any(v is None for v in nus) else np.array(nus, dtype=np.float64)
        bands, _ = score_bands(y, mu, sigma, nu, bounds=_bounds([e for e, _ in with_bands]))
    comparison = None
    if backtest is not None:
        bt = backtest.metrics
        comparison = compare_with_backtest(
            np.log(forecast / realised),
            np.log(backtest.forecasts["model"] / backtest.realised),
            metrics.rmse / _persistence_rmse(metrics),
            bt["model"].rmse / bt["persistence"].rmse if bt["persistence"].rmse else math.nan,
        )
    return ForwardScores(
        len(done), len(forward) - len(done), n_backfill, metrics, bands, comparison
    )


def _bounds(entries: list[dict]) -> dict | None:
    """The entries' own 50/80/95% bands in log return (a calibrated run's), where every entry
    has all three; ``None`` scores the distributions' central intervals."""
    keys = [f"{side}_{level}" for level in (50, 80, 95) for side in ("lower", "upper")]
    if not all(all(k in e["bands"] for k in keys) for e in entries):
        return None
    last = np.array([float(e["last_close"]) for e in entries])

    def log_band(key: str) -> np.ndarray:
        return np.log(np.array([float(e["bands"][key]) for e in entries]) / last)

    return {
        level / 100: (log_band(f"lower_{level}"), log_band(f"upper_{level}"))
        for level in (50, 80, 95)
    }


def _persistence_rmse(m: ForecastMetrics) -> float:
    ratio = 1.0 - m.skill  # MSE / MSE_persistence
    return m.rmse / math.sqrt(ratio) if ratio > 0 else math.nan


def timing_problem(entry: dict, clock: BarClock) -> str | None:
    """Why a forward entry was not issued before its target bar closed, or ``None``.

    Checks that its data ended before the target date and that ``issued_at`` is earlier than
    the close :class:`BarClock` gives for the target bar.
    """
    target = pd.Timestamp(entry["target_date"])
    if pd.Timestamp(entry["data_through"]) >= target:
        return f"was made from data through {entry['data_through']}, not before its target date"
    try:
        issued = pd.Timestamp(datetime.fromisoformat(entry["issued_at"]))
    except (TypeError, ValueError):
        return f"has an issued_at that is not a date and time ({entry['issued_at']!r})"
    if issued.tzinfo is None:
        return "has an issued_at without a time zone"
    try:
        close = clock.closes_at(target)
    except ValueError as exc:
        return f"targets a bar that cannot close: {exc}"
    if issued >= close:
        return (
            f"was issued at {issued.tz_convert('UTC'):%Y-%m-%d %H:%M} UTC, after its target bar "
            f"closed ({close:%Y-%m-%d %H:%M} UTC)"
        )
    return None
