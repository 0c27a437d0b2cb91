"""Cross-section scores of forecasts for three or more series (issue 24): do they rank them?

On each date the series' forecast log returns are compared with their realised ones:

- the **information coefficient** (IC), Pearson's correlation across the series, and the
  **rank IC**, Spearman's (Pearson's of the ranks, ties averaged);
- the **hit rate of the cross-sectional rank**: the share of series whose forecast is on the same
  side of the day's median forecast as its realised return is of the day's median return;
- a **top-minus-bottom portfolio**: long the top third of the series by forecast, short the
  bottom third, equal weights, paying the trading rule's cost per unit of turnover (entering,
  rebalancing and exiting at the last close), against an **equal-weight buy-and-hold** of the
  same series (paying to enter and to exit).

The daily IC, rank IC, hit rate (less 1/2) and the portfolio's daily return (less buy-and-hold's)
are each tested for a positive mean with the long-run variance every mean test in the app uses
(:func:`stockapp.core.metrics.mean_difference_test`: Newey-West on AR(1)-prewhitened values, a
Student-t), so a day's scores leaning on yesterday's do not overstate the evidence. Verdicts are
signed: ``better`` (significantly positive at 5%), ``worse`` (significantly negative) or ``tie``.

Only dates where at least three series have a forecast and an outcome count.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from stockapp.core.significance import format_pvalue, mean_difference_test, signed_verdict

#: Fewest series a date needs for its cross-section to count.
MIN_SERIES = 3


@dataclass(frozen=True)
class MeanTest:
    """A daily score's mean, its Newey-West t and one-sided p that it is above ``null``."""

    mean: float
    t: float
    pvalue: float  # one-sided, small when the mean is above the null
    verdict: str | None
    n: int

    @classmethod
    def of(cls, daily: np.ndarray, null: float = 0.0) -> MeanTest:
        x = np.asarray(daily, np.float64)
        x = x[np.isfinite(x)]
        if x.size < 2:
            return cls(math.nan, math.nan, math.nan, None, int(x.size))
        stat, _, better = mean_difference_test(null - x)  # "better": null - x below zero
        return cls(float(x.mean()), -stat, better, signed_verdict(better), int(x.size))


@dataclass(frozen=True)
class CrossSection:
    """The cross-section scores of one set of forecasts (see the module)."""

    n_series: int
    n_dates: int
    ic: MeanTest
    rank_ic: MeanTest
    hit_rate: MeanTest  # mean is the hit rate; tested against 1/2
    top_minus_bottom: MeanTest  # daily net return
    vs_buy_and_hold: MeanTest  # daily net return less buy-and-hold's
    tmb_total_return: float
    tmb_sharpe: float
    buy_and_hold_total_return: float
    buy_and_hold_sharpe: float
    daily: pd.DataFrame  # per date: ic, rank_ic, hit_rate, tmb, buy_and_hold

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "daily"}
        out["summary"] = self.sentences()
        return out

    def sentences(self, model_name: str = "The model") -> list[str]:
        """The verdicts in words, each with the test that gave it."""
        if self.n_dates < 2:
            return [
                f"The {self.n_series} series' test spans share fewer than two dates on which "
                f"{MIN_SERIES} or more have a forecast, so they cannot be ranked against each "
                "other."
            ]

        def tested(m: MeanTest) -> str:
            return f"Newey-West t = {m.t:.2f}, one-sided {format_pvalue(m.pvalue)}"

        word = {"better": "significantly positive", "worse": "significantly negative",
                "tie": "not significantly different from zero", None: "untested"}  # fmt: skip
        out = [
            f"{model_name} ranks {self.n_series} series on {self.n_dates} dates: mean IC "
            f"{self.ic.mean:.3f} ({tested(self.ic)}) and mean rank IC {self.rank_ic.mean:.3f} "
            f"({tested(self.rank_ic)}): the rank IC is {word[self.rank_ic.verdict]}.",
            f"It puts a series on the right side of the day's median {self.hit_rate.mean:.1%} of "
            f"the time against 50% by chance ({tested(self.hit_rate)}).",
        ]
        vs = {"better": "significantly more than", "worse": "significantly less than",
              "tie": "no significant difference from", None: "untested against"}  # fmt: skip
        out.append(
            f"Long the top third and short the bottom third returned "
            f"{self.tmb_total_return:+.1%} after costs (Sharpe {self.tmb_sharpe:.2f}) against "
            f"{self.buy_and_hold_total_return:+.1%} (Sharpe {self.buy_and_hold_sharpe:.2f}) for "
            f"an equal-weight buy-and-hold: {vs[self.vs_buy_and_hold.verdict]} it day by day "
            f"({tested(self.vs_buy_and_hold)})."
        )
        return out


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's correlation of each row of ``a`` with the same row of ``b`` over the columns
    where both are finite; NaN with fewer than :data:`MIN_SERIES` or no spread."""
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=1)
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        am = a0.sum(axis=1, keepdims=True) / n[:, None]
        bm = b0.sum(axis=1, keepdims=True) / n[:, None]
        da, db = np.where(ok, a0 - am, 0.0), np.where(ok, b0 - bm, 0.0)
        sa, sb = (da * da).sum(axis=1), (db * db).sum(axis=1)
        r = (da * db).sum(axis=1) / np.sqrt(sa * sb)
    # no spread: a constant row leaves rounding dust after centring, not exact zeros
    flat = (sa <= 1e-20 * (a0 * a0).sum(axis=1)) | (sb <= 1e-20 * (b0 * b0).sum(axis=1))
    return np.where((n >= MIN_SERIES) & ~flat, r, np.nan)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along each row (ties averaged); NaN stays NaN."""
    return pd.DataFrame(x).rank(axis=1, method="average").to_numpy(np.float64)


def _hit_rate(f: np.ndarray, r: np.ndarray) -> np.ndarray:
    ok = np.isfinite(f) & np.isfinite(r)
    fm = np.where(ok, f, np.nan)
    rm = np.where(ok, r, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # dates with no value at all
        sf = np.sign(fm - np.nanmedian(fm, axis=1, keepdims=True))
        sr = np.sign(rm - np.nanmedian(rm, axis=1, keepdims=True))
    called = ok & (sf != 0) & (sr != 0)
    hits = (called & (sf == sr)).sum(axis=1)
    count = called.sum(axis=1)
    enough = ok.sum(axis=1) >= MIN_SERIES
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough & (count > 0), hits / count, np.nan)


def top_minus_bottom_weights(f: np.ndarray) -> np.ndarray:
    """Each date's weights: ``+1/k`` on the ``k`` series with the highest forecasts, ``-1/k``
    on the ``k`` lowest, ``k`` a third of the series with a forecast (at least one); zero on
    dates with fewer than :data:`MIN_SERIES`."""
    w = np.zeros_like(f, dtype=np.float64)
    for i, row in enumerate(f):
        ok = np.flatnonzero(np.isfinite(row))
        if ok.size < MIN_SERIES:
            continue
        k = max(1, ok.size // 3)
        order = ok[np.argsort(row[ok], kind="stable")]
        w[i, order[-k:]] = 1.0 / k
        w[i, order[:k]] = -1.0 / k
    return w


def _sharpe(daily: np.ndarray, periods_per_year: float) -> float:
    sd = float(np.std(daily, ddof=1)) if daily.size > 1 else math.nan
    return float(np.mean(daily) / sd * math.sqrt(periods_per_year)) if sd > 0 else math.nan


def returns_panel(results: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(forecast, realised)`` log returns, dates x series, from every series' backtest result
    (``{name: BacktestResult}``) over its test span: what :func:`cross_section_scores` reads,
    for a backtest just run and for one opened from its folder alike."""
    f, r = {}, {}
    for name, res in results.items():
        f[name] = pd.Series(np.log(res.forecasts["model"] / res.previous), index=res.dates)
        r[name] = pd.Series(np.log(res.realised / res.previous), index=res.dates)
    return pd.DataFrame(f), pd.DataFrame(r)


def cross_section_scores(
    forecast: pd.DataFrame,
    realised: pd.DataFrame,
    cost_bps: float = 5.0,
    periods_per_year: float = 252.0,
) -> CrossSection:
    """Scores of ``forecast`` (dates x series, forecast log returns of each date's bar, made the
    bar before) against ``realised`` (the same shape: the log returns that came)."""
    realised = realised.reindex(index=forecast.index, columns=forecast.columns)
    f = forecast.to_numpy(np.float64)
    r = realised.to_numpy(np.float64)
    ok = np.isfinite(f) & np.isfinite(r)
    keep = ok.sum(axis=1) >= MIN_SERIES
    f, r, ok = np.where(ok, f, np.nan)[keep], np.where(ok, r, np.nan)[keep], ok[keep]
    dates = forecast.index[keep]
    ic = _row_corr(f, r)
    rank_ic = _row_corr(_ranks(f), _ranks(r))
    hits = _hit_rate(f, r)
    simple = np.where(ok, np.expm1(np.nan_to_num(r)), 0.0)
    cost = float(cost_bps) / 1e4
    w = top_minus_bottom_weights(f)
    turnover = np.abs(np.diff(w, axis=0, prepend=0.0)).sum(axis=1)
    tmb = (w * simple).sum(axis=1) - cost * turnover
    if tmb.size:
        tmb[-1] -= cost * np.abs(w[-1]).sum()  # the exit at the last close
    # equal-weight buy-and-hold: equal money in every series at the start, never rebalanced
    growth = np.cumprod(1.0 + simple, axis=0)
    value = np.concatenate([[1.0], growth.mean(axis=1)]) if growth.size else np.ones(1)
    bh = value[1:] / value[:-1] - 1.0
    if bh.size:
        bh[0] -= cost
        bh[-1] -= cost
    daily = pd.DataFrame(
        {"ic": ic, "rank_ic": rank_ic, "hit_rate": hits, "tmb": tmb, "buy_and_hold": bh},
        index=dates,
    )
    return CrossSection(
        n_series=int(forecast.shape[1]),
        n_dates=int(keep.sum()),
        ic=MeanTest.of(ic),
        rank_ic=MeanTest.of(rank_ic),
        hit_rate=MeanTest.of(hits, 0.5),
        top_minus_bottom=MeanTest.of(tmb),
        vs_buy_and_hold=MeanTest.of(tmb - bh),
        tmb_total_return=float(np.prod(1.0 + tmb) - 1.0),
        tmb_sharpe=_sharpe(tmb, periods_per_year),
        buy_and_hold_total_return=float(np.prod(1.0 + bh) - 1.0),
        buy_and_hold_sharpe=_sharpe(bh, periods_per_year),
        daily=daily,
    )
