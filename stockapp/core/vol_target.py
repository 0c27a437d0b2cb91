"""A volatility-targeted trading rule: the sign rule's position sized by forecast risk.

The position for bar ``t`` is the existing rule's position (long / flat / short from the
forecast return, :func:`stockapp.core.trading.positions`) times ``target / sigma_t``, where
``target`` is the yearly target volatility per bar (``target_vol / sqrt(periods_per_year)``) and
``sigma_t`` the forecast standard deviation of bar ``t``'s log return, made at the close of
``t-1``; the size is capped (1.0 for long/flat, 2.0 for long/short by default). Every change of
size pays the rule's cost per unit of turnover, and the statistics are the same as the sign
rule's (:func:`stockapp.core.trading.simulate`).

The target is an aim, not a result: the rule is in cash whenever the sign rule is flat, its size
is capped, and it is sized by the *forecast* volatility, so what it realises is reported beside
the target (:func:`vol_target_report`, :func:`describe_vol_target`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from stockapp.core.trading import EquityCurve, TradingRule, positions, simulate
from stockapp.errors import DataError

#: Yearly volatility the position aims at.
TARGET_VOL = 0.10
#: Largest position per trading mode.
CAPS = {"long_flat": 1.0, "long_short": 2.0}


def vol_target_positions(
    predicted_return: np.ndarray,
    sigma: np.ndarray,
    rule: TradingRule,
    periods_per_year: float = 252.0,
    target_vol: float = TARGET_VOL,
    cap: float | None = None,
) -> np.ndarray:
    """Sized positions: ``sign position * min(cap, target per bar / sigma)``; 0 without sigma."""
    if not (math.isfinite(target_vol) and target_vol > 0.0):
        raise DataError(f"The target volatility must be a positive number, not {target_vol}.")
    cap = CAPS[rule.mode] if cap is None else float(cap)
    sign = positions(predicted_return, rule)
    s = np.asarray(sigma, dtype=np.float64)
    if s.shape != sign.shape:
        raise DataError(
            f"There are {sign.size} forecast returns but {s.size} forecast volatilities."
        )
    usable = np.isfinite(s) & (s > 0.0)
    per_bar = target_vol / math.sqrt(periods_per_year)
    size = np.zeros_like(s)
    size[usable] = np.minimum(cap, per_bar / s[usable])
    return sign * size


def run_vol_target(
    previous: np.ndarray,
    realised: np.ndarray,
    predicted_return: np.ndarray,
    sigma: np.ndarray,
    rule: TradingRule,
    periods_per_year: float = 252.0,
    target_vol: float = TARGET_VOL,
) -> EquityCurve:
    """The volatility-targeted equity curve with the rule's costs and statistics."""
    pos = vol_target_positions(predicted_return, sigma, rule, periods_per_year, target_vol)
    return simulate(previous, realised, pos, rule.cost_bps, periods_per_year)


@dataclass(frozen=True)
class VolTargetReport:
    """What the volatility-targeted rule aimed at and what it realised (fractions a year).

    ``realised`` is the annualised volatility of its net returns over every test bar (the
    ``volatility`` of its statistics); ``in_market`` the same over the bars it held a position
    (NaN with fewer than two); ``time_in_market`` the share of bars with a position;
    ``move_to_forecast`` the root mean square of the log returns over the root mean square of
    the forecast volatilities on those bars (above 1: the moves were larger than forecast, so
    the rule ran above target there); ``capped_share`` the share of those bars sized at the cap.
    """

    target: float
    realised: float
    in_market: float
    time_in_market: float
    move_to_forecast: float
    capped_share: float
    cap: float

    def to_dict(self) -> dict:
        """The ``metrics.json`` keys added to ``strategy_vol`` beside its statistics."""
        d = asdict(self)
        return {
            "target_volatility": d["target"],
            "in_market_volatility": d["in_market"],
            "move_to_forecast_ratio": d["move_to_forecast"],
            "capped_share": d["capped_share"],
            "cap": d["cap"],
        }


def vol_target_report(
    curve: EquityCurve,
    previous: np.ndarray,
    realised: np.ndarray,
    sigma: np.ndarray,
    rule: TradingRule,
    periods_per_year: float = 252.0,
    target_vol: float = TARGET_VOL,
) -> VolTargetReport:
    """Realised against target for ``curve``, the rule :func:`run_vol_target` ran."""
    cap = CAPS[rule.mode]
    pos = np.asarray(curve.positions, np.float64)
    held = pos != 0.0
    net = np.asarray(curve.returns, np.float64)
    in_market = math.nan
    if np.count_nonzero(held) > 1:
        in_market = float(np.std(net[held], ddof=1)) * math.sqrt(periods_per_year)
    move = math.nan
    s = np.asarray(sigma, np.float64)[held]
    if held.any():
        r = np.log(np.asarray(realised, np.float64) / np.asarray(previous, np.float64))[held]
        denom = float(np.sqrt(np.mean(s**2)))
        move = float(np.sqrt(np.mean(r**2))) / denom if denom > 0.0 else math.nan
    capped = float(np.mean(np.abs(pos[held]) >= cap - 1e-12)) if held.any() else math.nan
    return VolTargetReport(
        target=float(target_vol),
        realised=curve.stats.volatility,
        in_market=in_market,
        time_in_market=curve.stats.time_in_market,
        move_to_forecast=move,
        capped_share=capped,
        cap=cap,
    )


def describe_vol_target(r: VolTargetReport) -> str:
    """One sentence: the target, what was realised, and why they differ."""
    head = (
        f"The volatility-targeted rule aimed at {r.target:.0%} a year and realised {r.realised:.1%}"
    )
    if r.time_in_market == 0.0:
        return f"{head}: it never held a position."
    parts = []
    if r.time_in_market < 1.0:
        parts.append(f"it was in cash on {1.0 - r.time_in_market:.0%} of the test bars")
    moves = ""
    if math.isfinite(r.move_to_forecast):
        moves = f"the moves were {r.move_to_forecast:.2f}x the model's forecast volatility"
    if r.time_in_market < 1.0 and math.isfinite(r.in_market):
        held = f"on the bars it held, it ran at {r.in_market:.1%}"
        parts.append(f"{held} as {moves}" if moves else held)
    elif moves:
        parts.append(moves)  # always in the market: what it ran at is what it realised
    if r.capped_share > 0.0:
        parts.append(f"{r.capped_share:.0%} of its positions were capped at size {r.cap:g}")
    return f"{head}: " + "; ".join(parts) + "." if parts else f"{head}."
