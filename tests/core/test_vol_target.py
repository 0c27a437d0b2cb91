"""The volatility-targeted rule: sizes by hand, costs on every change of size, caps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockapp.core.trading import TradingRule, simulate
from stockapp.core.vol_target import run_vol_target, vol_target_positions
from stockapp.errors import DataError


def test_sizes_hand_worked():
    per_bar = 0.10 / math.sqrt(252)  # 0.0063
    pred = np.array([0.01, 0.01, -0.01, 0.01, 0.01])
    sigma = np.array([per_bar * 2, per_bar / 4, per_bar, np.nan, per_bar])
    flat = vol_target_positions(pred, sigma, TradingRule("long_flat"))
    np.testing.assert_allclose(flat, [0.5, 1.0, 0.0, 0.0, 1.0])
    ls = vol_target_positions(pred, sigma, TradingRule("long_short"))
    np.testing.assert_allclose(ls, [0.5, 2.0, -1.0, 0.0, 1.0])


def test_costs_on_every_change_of_size():
    prev = np.array([100.0, 101.0, 102.0])
    real = np.array([101.0, 102.0, 101.0])
    per_bar = 0.10 / math.sqrt(252)
    rule = TradingRule("long_flat", cost_bps=10.0)
    curve = run_vol_target(prev, real, np.full(3, 0.01), [per_bar * 2, per_bar, per_bar * 4], rule)
    pos = np.array([0.5, 1.0, 0.25])
    np.testing.assert_allclose(curve.positions, pos)
    turnover = [0.5, 0.5, 0.75 + 0.25]  # entry, +0.5, -0.75 and the exit of 0.25
    growth = 1 + pos * (real / prev - 1) - 1e-3 * np.array(turnover)
    np.testing.assert_allclose(curve.equity, np.cumprod(growth))
    assert curve.stats == simulate(prev, real, pos, 10.0).stats


def test_bad_inputs():
    with pytest.raises(DataError, match="target volatility"):
        vol_target_positions(np.zeros(2), np.ones(2), TradingRule(), target_vol=0.0)
    with pytest.raises(DataError, match="forecast volatilities"):
        vol_target_positions(np.zeros(2), np.ones(3), TradingRule())
