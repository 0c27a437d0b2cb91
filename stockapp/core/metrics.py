"""Forecast accuracy with honest significance tests, and sentences that explain them.

A forecaster is only interesting if it beats the naive "tomorrow = today" (persistence)
forecast, and only believable if the difference survives a test. This module measures:

* the usual errors (RMSE, MAE, MAPE) of the forecast closes;
* directional accuracy on the bars where both the forecast and the market moved, with the
  Pesaran-Timmermann (1992) test of directional predictability
  (:func:`stockapp.core.direction.pesaran_timmermann`). The exact binomial test against a coin
  flip is kept as ``direction_pvalue`` for what it is: hit rate vs 50%;
* skill against persistence (``1 - MSE / MSE_persistence``) and the Diebold-Mariano test of equal
  squared error (:func:`stockapp.core.significance.diebold_mariano_signed`, with the app's one
  long-run variance), signed: ``better`` when the one-sided p for "the model's squared errors are
  smaller" is below 5%, ``worse`` when the other side's is, otherwise ``tie``.

Everything is plain numpy/scipy; nothing here knows about models or the GUI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from stockapp.core.direction import pesaran_timmermann
from stockapp.core.lazy import stats  # scipy.stats, imported when first used
from stockapp.core.significance import (
    ALPHA,
    as_1d,
    diebold_mariano_signed,
    format_pvalue,
    scaled,
    signed_verdict,
)
from stockapp.errors import DataError

#: Smallest expected count in a cell of the forecast/realised direction table for which the
#: sentences trust the Pesaran-Timmermann test's normal approximation (the chi-square rule of
#: thumb; PT^2 is that chi-square up to n / (n - 1)). With 8 "down" calls among 511 the test
#: gave p = 0.038 where Fisher's exact test of the same table gives 0.078.
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class ForecastMetrics:
    """Accuracy of one forecaster over the test bars.

    ``directional_accuracy`` is a fraction (0..1) and NaN when the forecaster makes no
    directional calls (persistence never does); ``mape`` is in percent. On the same
    ``direction_n`` bars, ``up_share`` is the share that rose (what "always up" would score),
    ``forecast_up_share`` the share the forecaster called up, and ``pt_stat``/``pt_pvalue`` the
    Pesaran-Timmermann test (one-sided, NaN when undefined, see :func:`pesaran_timmermann`);
    ``direction_pvalue`` is the binomial test of the hit rate against 50%. ``skill`` and the
    Diebold-Mariano fields compare against the persistence forecast; for persistence itself
    ``skill`` is 0 and ``dm_stat``/``dm_pvalue`` are NaN. A positive ``dm_stat`` means larger
    errors than persistence; ``dm_pvalue`` is two-sided and ``dm_better_pvalue`` one-sided, small
    when the forecaster's squared errors are smaller (:attr:`verdict` turns it into words).
    """

    rmse: float
    mae: float
    mape: float
    directional_accuracy: float
    direction_n: int
    direction_pvalue: float
    skill: float
    dm_stat: float
    dm_pvalue: float
    n: int
    up_share: float = math.nan
    forecast_up_share: float = math.nan
    pt_stat: float = math.nan
    pt_pvalue: float = math.nan
    dm_better_pvalue: float = math.nan

    @property
    def verdict(self) -> str | None:
        """``better``, ``worse`` or ``tie`` against persistence (one-sided 5% tests); ``None``
        when there is nothing to test (persistence itself)."""
        return signed_verdict(self.dm_better_pvalue)

    def to_dict(self) -> dict:
        """Plain Python numbers, NaN as ``None``, so the result is valid JSON."""
        out: dict = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("n", "direction_n"):
                out[f.name] = int(v)
            else:
                v = float(v)
                out[f.name] = None if math.isnan(v) else v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> ForecastMetrics:
        """Inverse of :meth:`to_dict` (``None`` back to NaN; keys added later may be absent).

        Metrics written before ``dm_better_pvalue`` existed get it from their own symmetric
        test: half the two-sided p on the side of ``dm_stat``.
        """
        kw = {}
        for f in fields(cls):
            v = d.get(f.name) if f.name in _ADDED_KEYS else d[f.name]
            if f.name in ("n", "direction_n"):
                kw[f.name] = int(v)
            else:
                kw[f.name] = math.nan if v is None else float(v)
        if "dm_better_pvalue" not in d and math.isfinite(kw["dm_stat"]):
            half = kw["dm_pvalue"] / 2.0
            kw["dm_better_pvalue"] = half if kw["dm_stat"] < 0 else 1.0 - half
        return cls(**kw)


_ADDED_KEYS = ("up_share", "forecast_up_share", "pt_stat", "pt_pvalue", "dm_better_pvalue")


def forecast_metrics(
    realised: np.ndarray, forecast: np.ndarray, previous: np.ndarray, naive: np.ndarray
) -> ForecastMetrics:
    """Measure one forecaster over the test bars.

    Parameters
    ----------
    realised
        The close of each test bar.
    forecast
        The forecast of that close, made at the previous bar.
    previous
        The close of the bar before each test bar; direction is measured from it.
    naive
        The persistence forecast of each bar (the benchmark for skill and Diebold-Mariano).
    """
    realised = as_1d("realised", realised)
    forecast = as_1d("forecast", forecast)
    previous = as_1d("previous close", previous)
    naive = as_1d("persistence forecast", naive)
    n = realised.size
    for name, arr in (("forecast", forecast), ("previous close", previous), ("naive", naive)):
        if arr.size != n:
            raise DataError(
                f"There are {n} realised closes but {arr.size} {name} values; "
                "they must cover the same bars."
            )
    if n == 0:
        raise DataError("There are no test bars to measure; use a longer test period.")
    bad = ~(
        np.isfinite(realised) & np.isfinite(forecast) & np.isfinite(previous) & np.isfinite(naive)
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} test bars have a missing or infinite value (first at test bar "
            f"{first}); check the prices and the model's output."
        )

    with np.errstate(over="ignore"):  # prices near 1e300: a difference can overflow to inf
        err = forecast - realised
        bench_err = naive - realised
    if not (np.all(np.isfinite(err)) and np.all(np.isfinite(bench_err))):
        raise DataError(
            "The forecast errors are too large to represent (a price near 1e308?); "
            "check the prices for a bad value."
        )
    scale, (err_s, bench_s) = scaled(err, bench_err)
    mse_s = float(np.mean(err_s**2))  # MSE / scale**2
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(np.mean(np.abs(err) / np.abs(realised)) * 100.0)

    fc_move = np.sign(forecast - previous)
    real_move = np.sign(realised - previous)
    called = (fc_move != 0) & (real_move != 0)
    direction_n = int(called.sum())
    up_share = fc_up_share = pt = pt_p = math.nan
    if direction_n:
        hits = int((fc_move[called] == real_move[called]).sum())
        accuracy = hits / direction_n
        dir_p = float(stats.binomtest(hits, direction_n, 0.5).pvalue)
        fc_up, real_up = fc_move[called] > 0, real_move[called] > 0
        up_share, fc_up_share = float(real_up.mean()), float(fc_up.mean())
        pt, pt_p = pesaran_timmermann(fc_up, real_up)
    else:
        accuracy = dir_p = math.nan

    if np.array_equal(forecast, naive):
        skill, dm, dm_p, dm_better = 0.0, math.nan, math.nan, math.nan
    else:
        mse_naive_s = float(np.mean(bench_s**2))
        skill = 1.0 - mse_s / mse_naive_s if mse_naive_s > 0.0 else math.nan
        dm, dm_p, dm_better = diebold_mariano_signed(err_s, bench_s)

    return ForecastMetrics(
        rmse=scale * math.sqrt(mse_s),
        mae=scale * float(np.mean(np.abs(err_s))),
        mape=mape,
        directional_accuracy=accuracy,
        direction_n=direction_n,
        direction_pvalue=dir_p,
        skill=skill,
        dm_stat=dm,
        dm_pvalue=dm_p,
        n=n,
        up_share=up_share,
        forecast_up_share=fc_up_share,
        pt_stat=pt,
        pt_pvalue=pt_p,
        dm_better_pvalue=dm_better,
    )


def describe_significance(name: str, m: ForecastMetrics, bench: str = "persistence") -> str:
    """One sentence on whether ``name`` beats ``bench``, for a reader with no statistics.

    Signed: "better" only when the one-sided test for smaller squared errors is below 5%,
    "worse" only when the test the other way round is, otherwise "not distinguishable".
    """
    verdict = m.verdict
    if verdict is None:
        if m.skill == 0.0:
            return f"{name} makes the same squared errors as {bench}, so there is nothing to test."
        if m.n < 2:
            return f"{name} cannot be tested against {bench}: there is only {m.n} test bar."
        return (
            f"{name} cannot be tested against {bench}: its squared errors differ from {bench}'s "
            f"by the same amount on every one of the {m.n} test bars."
        )
    ratio = 1.0 - m.skill  # MSE_model / MSE_bench
    if verdict == "tie":
        side = "smaller" if ratio < 1.0 else "larger"
        return (
            f"{name} is not distinguishable from {bench}: its squared errors are "
            f"{abs(ratio - 1.0) * 100:.1f}% {side}, within what luck explains "
            f"(Diebold-Mariano {format_pvalue(m.dm_pvalue)}, two-sided)."
        )
    if verdict == "worse":
        return (
            f"{name} is significantly worse than {bench}: its squared errors are "
            f"{(ratio - 1.0) * 100:.1f}% larger (Diebold-Mariano, one-sided "
            f"{format_pvalue(1.0 - m.dm_better_pvalue)})."
        )
    return (
        f"{name} is significantly better than {bench}: its squared errors are "
        f"{(1.0 - ratio) * 100:.1f}% smaller (Diebold-Mariano, one-sided "
        f"{format_pvalue(m.dm_better_pvalue)})."
    )


def describe_direction(name: str, m: ForecastMetrics) -> str:
    """One sentence on whether ``name`` calls the direction better than chance.

    The verdict is the Pesaran-Timmermann test, which allows for how often the market rose: in a
    market that rose on 55% of bars, "always up" is right 55% of the time with no skill at all.
    """
    acc = m.directional_accuracy
    if math.isnan(acc):
        return (
            f"{name} never forecasts a move on a bar that moved, so its direction cannot be scored."
        )
    up = m.up_share
    if m.forecast_up_share in (0.0, 1.0):
        side, moves = ("rise", "up") if m.forecast_up_share == 1.0 else ("fall", "down")
        share = up if side == "rise" else 1.0 - up
        return (
            f"{name} forecast a {side} on every bar it called, so its hit rate of {acc * 100:.1f}% "
            f"is just the share of {moves} moves ({share * 100:.1f}%) and says nothing about "
            "skill at calling direction."
        )
    head = f"{name} calls the direction right {acc * 100:.1f}% of the time ({m.direction_n} calls)"
    if up in (0.0, 1.0):
        return (
            f"{head}, but the market {'rose' if up == 1.0 else 'fell'} on every scored bar, so "
            "skill at calling direction cannot be tested."
        )
    head += f" where always up would score {up * 100:.1f}%"
    p = m.pt_pvalue
    if math.isnan(p):
        return f"{head}; the Pesaran-Timmermann test is undefined on these bars."
    px, n = m.forecast_up_share, m.direction_n
    minority = round(n * min(px, 1.0 - px))
    if p < ALPHA and n * min(px, 1.0 - px) * min(up, 1.0 - up) < MIN_EXPECTED:
        side = "a fall" if px > 0.5 else "a rise"
        verdict = (
            f"which would be better than chance given how often the market rose, but it rests "
            f"on only {minority} calls of {side}, too few to trust the test"
        )
        shown = p
    elif p < ALPHA:
        verdict = "which is better than chance given how often the market rose"
        shown = p
    elif m.pt_stat < 0 and 1.0 - p < ALPHA:
        verdict = (
            "which is worse than chance given how often the market rose: its calls go "
            "against the market's moves"
        )
        shown = 1.0 - p
    else:
        verdict = "which is no better than chance given how often the market rose"
        shown = p
    return f"{head}, {verdict} (Pesaran-Timmermann {format_pvalue(shown)})."
