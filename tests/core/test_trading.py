"""The trading rule: positions, costs, equity and statistics worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stockapp.core.trading import (
    TradingRule,
    annualisation,
    describe_trading,
    periods_per_year,
    positions,
    run_rule,
    simulate,
)
from stockapp.errors import DataError

# Asset returns +10%, -10%, 0%, +10%, -10% over five bars.
PREVIOUS = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
REALISED = np.array([110.0, 99.0, 99.0, 108.9, 98.01])
PREDICTED = np.array([0.02, -0.01, 0.005, 0.03, 0.001])


def test_positions_long_flat_long_short_and_threshold():
    np.testing.assert_array_equal(positions(PREDICTED, TradingRule()), [1, 0, 1, 1, 1])
    np.testing.assert_array_equal(
        positions(PREDICTED, TradingRule(threshold=0.01)), [1, 0, 0, 1, 0]
    )
    # 0.005 does not *exceed* a threshold of 0.005, so that bar stays flat
    np.testing.assert_array_equal(
        positions(PREDICTED, TradingRule(mode="long_short", threshold=0.005)), [1, -1, 0, 1, 0]
    )
    np.testing.assert_array_equal(positions(np.array([np.nan, 0.0]), TradingRule()), [0, 0])


def test_long_flat_equity_and_costs_by_hand():
    curve = simulate(PREVIOUS, REALISED, np.array([1.0, 0, 1, 1, 1]), cost_bps=10.0)
    # turnover 1, 1, 1, 0, 0 at 0.1% each, and the position still open at the end is closed at
    # the last close, paying 0.1% more on the last bar
    net = [0.10 - 0.001, -0.001, -0.001, 0.10, -0.10 - 0.001]
    np.testing.assert_allclose(curve.returns, net, atol=1e-15)
    np.testing.assert_allclose(
        curve.equity, [1.099, 1.097901, 1.096803099, 1.2064834089, 1.0846285846011]
    )
    s = curve.stats
    assert s.total_return == pytest.approx(0.0846285846011)
    assert s.trades == 4  # three position changes and the final exit
    assert s.time_in_market == pytest.approx(0.8)
    assert s.max_drawdown == pytest.approx(0.899 - 1)  # from the 1.2065 peak to 1.0846


def test_long_short_pays_double_on_a_flip():
    pos = positions(PREDICTED, TradingRule(mode="long_short", threshold=0.005))
    curve = simulate(PREVIOUS, REALISED, pos, cost_bps=10.0)
    # positions 1, -1, 0, 1, 0: turnover 1, 2, 1, 1, 1; the short earns +10% on the fall
    net = [0.099, 0.10 - 0.002, -0.001, 0.099, -0.001]
    np.testing.assert_allclose(curve.returns, net, atol=1e-15)
    np.testing.assert_allclose(curve.equity, np.cumprod(1 + np.array(net)))
    assert curve.stats.trades == 5
    assert curve.stats.time_in_market == pytest.approx(0.6)


def test_buy_and_hold_pays_entry_and_exit_costs():
    strategy, hold = run_rule(PREVIOUS, REALISED, PREDICTED, TradingRule(cost_bps=10.0))
    np.testing.assert_array_equal(strategy.positions, [1, 0, 1, 1, 1])
    np.testing.assert_array_equal(hold.positions, np.ones(5))
    # 0.1% to buy before the first bar, 0.1% to sell at the last close
    np.testing.assert_allclose(hold.returns, [0.099, -0.10, 0.0, 0.10, -0.101], atol=1e-15)
    np.testing.assert_allclose(hold.equity, [1.099, 0.9891, 0.9891, 1.08801, 0.97812099])
    assert hold.stats.trades == 2 and hold.stats.time_in_market == 1.0
    assert hold.stats.total_return == pytest.approx(0.97812099 - 1)
    # worst point 0.97812099 against the 1.099 peak
    assert hold.stats.max_drawdown == pytest.approx(0.97812099 / 1.099 - 1)


def test_a_rule_that_is_always_long_is_buy_and_hold_and_says_so():
    strategy, hold = run_rule(PREVIOUS, REALISED, np.full(5, 0.01), TradingRule(cost_bps=10.0))
    np.testing.assert_array_equal(strategy.equity, hold.equity)  # same costs, same curve
    assert describe_trading(strategy, hold) == (
        "The trading rule was long on every test bar, so it is buy-and-hold with the same "
        "costs (a total return of -2.2% for both): it says nothing about the forecasts."
    )
    short, _ = run_rule(
        PREVIOUS, REALISED, np.full(5, -0.01), TradingRule(mode="long_short", cost_bps=10.0)
    )
    assert describe_trading(short, hold).startswith(
        "The trading rule was short on every test bar, so it is the mirror image of buy-and-hold"
    )
    cash, _ = run_rule(PREVIOUS, REALISED, np.full(5, -0.01), TradingRule())
    assert describe_trading(cash, hold) == (
        "The trading rule never took a position, so it stayed in cash (a total return of 0.0% "
        "against -2.2% for buy-and-hold)."
    )
    mixed, _ = run_rule(PREVIOUS, REALISED, PREDICTED, TradingRule(cost_bps=10.0))
    assert describe_trading(mixed, hold) == (
        "The trading rule was in the market on 80% of the test bars and returned +8.5% after "
        "costs against -2.2% for buy-and-hold; both pay to enter and to exit at the last close."
    )


def test_trading_on_an_absurd_close_gives_no_numpy_warnings():
    """A close of 1e300 on one bar (issue 7.5): the statistics stay free of overflow."""
    prev = np.array([100.0, 101.0, 1e300, 102.0])
    real = np.array([101.0, 1e300, 102.0, 103.0])
    curve = simulate(prev, real, np.ones(4), 0.0)  # warnings are errors in this suite
    net = real / prev - 1.0
    assert curve.stats.volatility == pytest.approx(
        1e298 * np.std(net / 1e298, ddof=1) * math.sqrt(252)
    )
    assert math.isfinite(curve.stats.sharpe)
    # held through the bad tick and back, buy-and-hold ends where the prices say: 103 / 100
    assert curve.equity[-1] == pytest.approx(1.03, rel=1e-12)
    with pytest.raises(DataError, match="too large"):
        simulate(np.array([1e-300, 1e-300]), np.array([1e300, 1e300]), np.ones(2), 0.0)


def test_sharpe_volatility_and_cagr_formulas():
    curve = simulate(np.array([100.0, 100.0]), np.array([101.0, 103.0]), np.ones(2), 0.0)
    # returns 1% and 3%: mean 0.02, std (ddof=1) sqrt(0.0002), so Sharpe = sqrt(2 * 252)
    assert curve.stats.sharpe == pytest.approx(math.sqrt(504))
    assert curve.stats.volatility == pytest.approx(math.sqrt(0.0002 * 252))
    assert curve.stats.cagr == pytest.approx(1.0403 ** (252 / 2) - 1)  # equity_end = 1.01 * 1.03
    assert curve.stats.max_drawdown == 0.0
    # with as many bars as periods per year, CAGR is the total return; with half, its sqrt
    five = simulate(PREVIOUS, REALISED, np.ones(5), 10.0, periods_per_year=5)
    assert five.stats.cagr == pytest.approx(five.stats.total_return)
    half = simulate(PREVIOUS, REALISED, np.ones(5), 10.0, periods_per_year=2.5)
    assert half.stats.cagr == pytest.approx(math.sqrt(0.97812099) - 1)


def test_degenerate_curves_give_zeros_without_warnings():
    flat = simulate(PREVIOUS, REALISED, np.zeros(5), 10.0)
    s = flat.stats
    assert (s.total_return, s.cagr, s.volatility, s.sharpe, s.max_drawdown) == (0, 0, 0, 0, 0)
    assert s.trades == 0 and s.time_in_market == 0.0
    np.testing.assert_array_equal(flat.equity, np.ones(5))
    steady = simulate(np.full(4, 100.0), np.full(4, 101.0), np.ones(4), 0.0)
    assert steady.stats.sharpe == 0.0 and steady.stats.volatility == 0.0
    one = simulate(np.array([100.0]), np.array([101.0]), np.ones(1), 0.0)
    assert one.stats.sharpe == 0.0 and one.stats.cagr == pytest.approx(1.01**252 - 1)
    # a short through a tripling loses 200%: equity -1, so CAGR is -100% and the drawdown -200%
    ruined = simulate(np.array([100.0]), np.array([300.0]), -np.ones(1), 0.0)
    assert ruined.stats.cagr == -1.0 and ruined.stats.max_drawdown == pytest.approx(-2.0)


def test_rule_validation_and_round_trip():
    with pytest.raises(DataError, match="Unknown trading mode 'short_only'"):
        TradingRule(mode="short_only")
    with pytest.raises(DataError, match="threshold"):
        TradingRule(threshold=-0.01)
    with pytest.raises(DataError, match="cost"):
        TradingRule(cost_bps=float("nan"))
    rule = TradingRule(mode="long_short", threshold=0.002, cost_bps=2.5)
    assert TradingRule.from_dict(rule.to_dict()) == rule
    assert TradingRule.from_dict({}) == TradingRule()


def test_stats_to_dict_is_plain():
    d = simulate(PREVIOUS, REALISED, np.ones(5), 10.0).stats.to_dict()
    assert set(d) == {
        "total_return",
        "cagr",
        "volatility",
        "sharpe",
        "max_drawdown",
        "trades",
        "time_in_market",
    }
    assert type(d["trades"]) is int and type(d["sharpe"]) is float


def test_simulate_rejects_mismatched_bars():
    with pytest.raises(DataError, match="same bars"):
        simulate(PREVIOUS, REALISED, np.ones(4), 5.0)
    with pytest.raises(DataError, match="no test bars"):
        simulate(np.array([]), np.array([]), np.array([]), 5.0)


@pytest.mark.parametrize(
    ("freq", "expected"),
    # bdate_range has no holidays: 5 bars in every week, 260.9 a year
    [("B", 5 * 365.25 / 7), ("W-FRI", 365.25 / 7), ("ME", 12.0), ("QE", 4.0), ("YE", 1.0)],
)
def test_periods_per_year_from_the_calendar(freq, expected):
    dates = pd.date_range("2020-01-01", periods=30, freq=freq)
    assert periods_per_year(dates) == pytest.approx(expected, rel=1e-9)


def test_periods_per_year_intraday_and_real_daily(aapl_csv):
    days = pd.bdate_range("2024-01-01", periods=15)  # three weeks, Monday to Friday
    hours = pd.DatetimeIndex(
        [d + pd.Timedelta(hours=9.5 + h) for d in days for h in range(7)], tz="America/New_York"
    )
    a = annualisation(hours)
    assert a.bars_per_year == pytest.approx(35 * 365.25 / 7)  # the one full week: 35 bars
    assert "35 bars a week" in a.basis
    # within one week there is no whole week to count: bars per elapsed time
    assert periods_per_year(hours[:35]) == pytest.approx(35 / (4 + 7 / 24) * 365.25)
    dates = pd.DatetimeIndex(pd.read_csv(aapl_csv, usecols=["Date"])["Date"])
    daily = annualisation(dates)
    assert daily.bars_per_year == 252.0  # US daily stocks still give 252
    assert daily.basis.startswith("the median count of bars in the 13 full calendar years")
    assert periods_per_year(dates[:1]) == 252.0
    with pytest.raises(DataError, match="strictly increasing"):
        periods_per_year(dates[::-1])


def test_hourly_fx_counts_its_own_year_not_252_days():
    """Issue 18.10: hourly FX trades 24 hours, Sunday 22:00 to Friday 22:00 (UTC); 252 x 24 =
    6,048 was assumed. Its own calendar has 5 x 24 bars in a week, 6,262 in a year without
    holidays; with a holiday removed from each year, the count follows."""
    idx = pd.date_range("2019-06-01", "2023-03-01", freq="h", tz="UTC")
    wd, hour = idx.day_of_week, idx.hour
    fx = idx[(wd < 4) | ((wd == 4) & (hour < 22)) | ((wd == 6) & (hour >= 22))]
    assert periods_per_year(fx) == float(np.sum(fx.year == 2021)) == 6262.0
    holidays = fx.normalize().isin(
        pd.to_datetime(["2020-12-25", "2021-12-24", "2022-12-26"], utc=True)
    )
    kept = fx[~holidays]
    counts = [np.sum(kept.year == y) for y in (2020, 2021, 2022)]  # each lost a day of 24 bars
    assert periods_per_year(kept) == float(np.median(counts)) < 6262.0
    assert annualisation(fx).basis == (
        "the median count of bars in the 3 full calendar years of the data (2020-2022)"
    )
