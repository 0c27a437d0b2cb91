"""A simple trading rule driven by the forecasts, with costs, against buy-and-hold.

A forecast error metric says little about money. This module turns each forecast return into a
position (long, flat or short) held over the forecast bar, charges a cost on every change of
position, and reports the equity curve and its usual statistics next to buy-and-hold.

The position for bar ``t`` is decided at the close of bar ``t-1`` from the forecast for ``t``,
and earns the return from close ``t-1`` to close ``t``: no bar's own price enters its decision.
Any position still open at the end of the test span is closed at the last close and pays its
exit cost there, for the rule and for buy-and-hold alike, so both curves are net of every cost
(a rule that is long on every bar *is* buy-and-hold, to the last digit).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from stockapp.core.bars import median_spacing_days
from stockapp.errors import DataError

#: Trading mode -> what it means (shown as tooltips).
MODES: dict[str, str] = {
    "long_flat": "long when the forecast return beats the threshold, otherwise in cash",
    "long_short": "long above +threshold, short below -threshold, otherwise in cash",
}


@dataclass(frozen=True)
class TradingRule:
    """How forecasts become positions and what each trade costs.

    ``threshold`` is on the forecast log return: go long only above ``+threshold`` (and short,
    in ``long_short`` mode, only below ``-threshold``). ``cost_bps`` is charged per unit of
    turnover, so flipping from long to short pays twice.
    """

    mode: str = "long_flat"
    threshold: float = 0.0
    cost_bps: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DataError(
                f"Unknown trading mode '{self.mode}'; choose 'long_flat' or 'long_short'."
            )
        if not (math.isfinite(self.threshold) and self.threshold >= 0.0):
            raise DataError(f"The threshold must be zero or positive, not {self.threshold}.")
        if not (math.isfinite(self.cost_bps) and self.cost_bps >= 0.0):
            raise DataError(
                f"The trading cost must be zero or more basis points, not {self.cost_bps}."
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TradingRule:
        return cls(
            mode=str(d.get("mode", "long_flat")),
            threshold=float(d.get("threshold", 0.0)),
            cost_bps=float(d.get("cost_bps", 5.0)),
        )


@dataclass(frozen=True)
class EquityStats:
    """Summary of an equity curve; fractions, not percent (``max_drawdown`` is <= 0).

    ``trades`` counts position changes, the final exit at the last close included.
    """

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    max_drawdown: float
    trades: int
    time_in_market: float

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: int(v) if k == "trades" else float(v) for k, v in d.items()}


@dataclass(frozen=True)
class EquityCurve:
    """One simulated strategy: per-bar positions, net returns, equity and its statistics.

    ``equity[i]`` is the value at the close of bar ``i`` of a capital of 1.0 held just before
    the first bar.
    """

    positions: np.ndarray
    returns: np.ndarray
    equity: np.ndarray
    stats: EquityStats


def positions(predicted_return: np.ndarray, rule: TradingRule) -> np.ndarray:
    """1.0 / 0.0 / -1.0 for each bar from its forecast log return (NaN forecasts stay flat)."""
    pred = np.asarray(predicted_return, dtype=np.float64)
    pos = np.zeros_like(pred)
    pos[pred > rule.threshold] = 1.0
    if rule.mode == "long_short":
        pos[pred < -rule.threshold] = -1.0
    return pos


def _stats(net: np.ndarray, equity: np.ndarray, pos: np.ndarray, turnover: np.ndarray, ppy: float):
    n = net.size
    end = float(equity[-1])
    cagr = end ** (ppy / n) - 1.0 if end > 0.0 else -1.0
    # np.ptp guards against a constant series whose std is rounding noise, not zero; the
    # returns are scaled first so a bad tick's return of 1e298 does not overflow when squared
    scale = float(np.max(np.abs(net)))
    std = scale * float(np.std(net / scale, ddof=1)) if n > 1 and np.ptp(net) > 0.0 else 0.0
    sharpe = float(np.mean(net)) / std * math.sqrt(ppy) if std > 0.0 else 0.0
    path = np.concatenate([[1.0], equity])
    drawdown = float(np.min(path / np.maximum.accumulate(path) - 1.0))
    return EquityStats(
        total_return=end - 1.0,
        cagr=cagr,
        volatility=std * math.sqrt(ppy),
        sharpe=sharpe,
        max_drawdown=drawdown if drawdown < 0.0 else 0.0,
        trades=int(np.count_nonzero(turnover)),
        time_in_market=float(np.mean(pos != 0.0)),
    )


def simulate(
    previous: np.ndarray,
    realised: np.ndarray,
    positions: np.ndarray,
    cost_bps: float,
    periods_per_year: float = 252.0,
) -> EquityCurve:
    """Equity of holding ``positions[t]`` from close ``previous[t]`` to close ``realised[t]``.

    Each bar returns ``p_t * (realised_t / previous_t - 1) - cost_bps / 1e4 * |p_t - p_{t-1}|``
    with ``p_{-1} = 0``, and the last bar also pays ``cost_bps / 1e4 * |p_{n-1}|`` to close the
    position at the last close; CAGR is ``equity_end ** (periods_per_year / n) - 1`` (-1 if
    ruined).
    """
    prev = np.asarray(previous, dtype=np.float64)
    real = np.asarray(realised, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.float64)
    n = real.size
    if prev.size != n or pos.size != n:
        raise DataError(
            f"There are {n} realised closes, {prev.size} previous closes and {pos.size} "
            "positions; they must cover the same bars."
        )
    if n == 0:
        raise DataError("There are no test bars to trade; use a longer test period.")
    if not (np.all(np.isfinite(prev)) and np.all(np.isfinite(real)) and prev.min() > 0.0):
        raise DataError("The closes to trade on must be positive numbers with no gaps.")
    turnover = np.abs(np.diff(pos, prepend=0.0, append=0.0))  # the last entry is the exit
    costs = cost_bps / 1e4 * turnover[:-1]
    costs[-1] += cost_bps / 1e4 * turnover[-1]
    with np.errstate(over="ignore"):
        # the growth factor 1 + p (r - 1), written so a long position's factor is exactly
        # realised / previous: after a bad tick of 1e300, 1 + (1e-298 - 1) would round to 0
        growth = (pos * real + (1.0 - pos) * prev) / prev - costs
        equity = np.cumprod(growth)
    net = growth - 1.0
    if not np.all(np.isfinite(equity)):
        raise DataError(
            "The trading returns are too large to represent (a close jumps by a factor near "
            "1e300?); check the prices for a bad value."
        )
    return EquityCurve(
        positions=pos,
        returns=net,
        equity=equity,
        stats=_stats(net, equity, pos, turnover, float(periods_per_year)),
    )


def run_rule(
    previous: np.ndarray,
    realised: np.ndarray,
    predicted_return: np.ndarray,
    rule: TradingRule,
    periods_per_year: float = 252.0,
) -> tuple[EquityCurve, EquityCurve]:
    """``(strategy, buy_and_hold)``; buy-and-hold is long throughout and pays entry and exit."""
    strategy = simulate(
        previous, realised, positions(predicted_return, rule), rule.cost_bps, periods_per_year
    )
    hold = simulate(
        previous, realised, np.ones(np.asarray(realised).size), rule.cost_bps, periods_per_year
    )
    return strategy, hold


def describe_trading(strategy: EquityCurve, buy_and_hold: EquityCurve) -> str:
    """One sentence comparing the rule with buy-and-hold, naming the trivial cases as such."""
    pos = strategy.positions
    rule, hold = strategy.stats.total_return, buy_and_hold.stats.total_return
    if np.all(pos == 1.0):
        return (
            "The trading rule was long on every test bar, so it is buy-and-hold with the same "
            f"costs (a total return of {hold:+.1%} for both): it says nothing about the forecasts."
        )
    if np.all(pos == -1.0):
        return (
            "The trading rule was short on every test bar, so it is the mirror image of "
            f"buy-and-hold ({rule:+.1%} against {hold:+.1%}): it says nothing about the forecasts."
        )
    if np.all(pos == 0.0):
        return (
            f"The trading rule never took a position, so it stayed in cash (a total return of "
            f"{rule:.1%} against {hold:+.1%} for buy-and-hold)."
        )
    return (
        f"The trading rule was in the market on {strategy.stats.time_in_market:.0%} of the test "
        f"bars and returned {rule:+.1%} after costs against {hold:+.1%} for buy-and-hold; both "
        "pay to enter and to exit at the last close."
    )


@dataclass(frozen=True)
class Annualisation:
    """How many bars make a year in a series' own calendar, and how that was counted."""

    bars_per_year: float
    basis: str


#: Days in a calendar year, and weeks in it.
_YEAR_DAYS = 365.25
_WEEKS = _YEAR_DAYS / 7.0


def annualisation(dates: pd.DatetimeIndex) -> Annualisation:
    """Bars per year counted on the data's own calendar (for CAGR, volatility and Sharpe).

    In order, the first that applies:

    1. the median number of bars in the calendar years wholly inside the data (after the year
       of its first bar and before the year of its last): about 252 for US daily stocks, 52 for
       weekly bars, ~6,200 for hourly FX (24 hours, 5 days a week, less holidays);
    2. for bars less than a week apart and no such year, the median number of bars in the
       calendar weeks (Monday to Sunday) wholly inside the data, times 365.25 / 7;
    3. otherwise the bars per elapsed time: ``n`` bars over the span from the first bar to one
       median spacing after the last, scaled to 365.25 days.

    Counting replaces the old assumption of 252 trading days times the bars of a day, which
    gave 6,048 a year for hourly FX that trades 24 hours a day. Fewer than two bars give 252.
    Calendar counts use the bars' local (wall-clock) time.
    """
    idx = pd.DatetimeIndex(dates)
    if idx.size < 2:
        return Annualisation(252.0, "252 trading days a year: too few bars to count")
    days = median_spacing_days(idx)
    if not (np.all(idx[1:] > idx[:-1]) and days > 0.0):
        raise DataError("The dates must be strictly increasing to infer the bar frequency.")
    local = idx.tz_localize(None) if idx.tz is not None else idx
    years = local.year.to_numpy()
    inside = np.arange(years[0] + 1, years[-1])
    if inside.size:
        counts = np.bincount(years - years[0], minlength=years[-1] - years[0] + 1)[1:-1]
        median = float(np.median(counts))
        if median >= 1.0:
            if inside.size == 1:
                basis = f"the count of bars in the data's one full calendar year ({inside[0]})"
            else:
                basis = (
                    f"the median count of bars in the {inside.size} full calendar years of the "
                    f"data ({inside[0]}-{inside[-1]})"
                )
            return Annualisation(median, basis)
    if days < 7.0:
        # whole days since Monday 1970-01-05, then weeks Monday to Sunday
        day = (local.normalize() - pd.Timestamp("1970-01-05")).days.to_numpy()
        week = day // 7
        full = np.bincount(week - week[0], minlength=week[-1] - week[0] + 1)[1:-1]
        if full.size:
            per_week = float(np.median(full))
            if per_week >= 1.0:
                return Annualisation(
                    per_week * _WEEKS,
                    f"{per_week:g} bars a week (the median over the {full.size} full calendar "
                    f"week{'s' if full.size > 1 else ''} of the data) times {_WEEKS:.2f} weeks",
                )
    elapsed = float((idx[-1] - idx[0]).total_seconds()) / 86_400.0 + days
    return Annualisation(
        idx.size / elapsed * _YEAR_DAYS,
        f"{idx.size} bars in {elapsed:.4g} days, scaled to {_YEAR_DAYS} days "
        "(no full calendar year or week to count)",
    )


def periods_per_year(dates: pd.DatetimeIndex) -> float:
    """Bars per year of ``dates``, counted on their own calendar (see :func:`annualisation`)."""
    return annualisation(dates).bars_per_year
