"""The volatility-targeted rule: sizes by hand, costs on every change of size, caps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockapp.core.trading import TradingRule, simulate
from stockapp.core.vol_target import (
    describe_vol_target,
    run_vol_target,
    vol_target_positions,
    vol_target_report,
)
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


def test_realised_volatility_is_reported_beside_the_target():
    """Issue 18.9: "sized to a 10% yearly volatility" realised 7.5-8.7%; say both, and why."""
    per_bar = 0.10 / math.sqrt(252)
    prev = np.array([100.0, 101.0, 102.0, 101.0, 103.0])
    real = np.array([101.0, 102.0, 101.0, 103.0, 102.0])
    pred = np.array([0.01, 0.01, -0.01, 0.01, 0.01])
    sigma = np.array([per_bar * 2, per_bar / 4, per_bar, per_bar * 1.25, per_bar * 2])
    rule = TradingRule("long_flat", cost_bps=0.0)
    curve = run_vol_target(prev, real, pred, sigma, rule)
    np.testing.assert_allclose(curve.positions, [0.5, 1.0, 0.0, 0.8, 0.5])
    r = vol_target_report(curve, prev, real, sigma, rule)
    net = curve.positions * (real / prev - 1)
    held = curve.positions != 0
    assert r.target == 0.10 and r.cap == 1.0
    assert r.realised == pytest.approx(np.std(net, ddof=1) * math.sqrt(252))
    assert r.realised == curve.stats.volatility
    assert r.in_market == pytest.approx(np.std(net[held], ddof=1) * math.sqrt(252))
    assert r.time_in_market == 0.8 and r.capped_share == 0.25  # one of four held bars
    moves = np.log(real / prev)[held]
    assert r.move_to_forecast == pytest.approx(
        math.sqrt(np.mean(moves**2)) / math.sqrt(np.mean(sigma[held] ** 2))
    )
    text = describe_vol_target(r)
    assert text == (
        f"The volatility-targeted rule aimed at 10% a year and realised {r.realised:.1%}: it was "
        f"in cash on 20% of the test bars; on the bars it held, it ran at {r.in_market:.1%} as "
        f"the moves were {r.move_to_forecast:.2f}x the model's forecast volatility; 25% of its "
        "positions were capped at size 1."
    )
    d = r.to_dict()
    assert d["target_volatility"] == 0.10 and d["in_market_volatility"] == r.in_market
    always = run_vol_target(prev, real, np.ones(5), sigma * 5, rule)  # never at the cap
    r_always = vol_target_report(always, prev, real, sigma * 5, rule)
    assert describe_vol_target(r_always) == (
        f"The volatility-targeted rule aimed at 10% a year and realised {r_always.realised:.1%}: "
        f"the moves were {r_always.move_to_forecast:.2f}x the model's forecast volatility."
    )
    never = run_vol_target(prev, real, -np.ones(5), sigma, rule)
    assert describe_vol_target(vol_target_report(never, prev, real, sigma, rule)).endswith(
        "it never held a position."
    )
