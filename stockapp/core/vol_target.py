"""A volatility-targeted trading rule: the sign rule's position sized by forecast risk.

The position for bar ``t`` is the existing rule's position (long / flat / short from the
forecast return, :func:`stockapp.core.trading.positions`) times ``target / sigma_t``, where
``target`` is the yearly target volatility per bar (``target_vol / sqrt(periods_per_year)``) and
``sigma_t`` the forecast standard deviation of bar ``t``'s log return, made at the close of
``t-1``; the size is capped (1.0 for long/flat, 2.0 for long/short by default). Every change of
size pays the rule's cost per unit of turnover, and the statistics are the same as the sign
rule's (:func:`stockapp.core.trading.simulate`).
"""

from __future__ import annotations

import math

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
