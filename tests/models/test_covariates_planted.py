"""Planted signals in other series (issue 24): a model given a series whose previous-day
return drives the target beats persistence; one given a series whose same-day return drives
it cannot (that would be look-ahead); and perturbing any input after a date moves no forecast
dated on or before it. Small, seeded, CPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.core.covariates import Covariate, align_covariates
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig

N = 1200


def _frame(returns: np.ndarray, dates: pd.DatetimeIndex) -> pd.DataFrame:
    close = 100.0 * np.exp(np.cumsum(returns))
    return pd.DataFrame({"Close": close}, index=pd.DatetimeIndex(dates, name="Date"))


def _planted(lag: int, seed: int = 0) -> tuple[pd.DataFrame, Covariate]:
    """A target whose log return is 0.7 times the other series' return ``lag`` bars earlier
    (1: the previous day's; 0: the same day's) plus noise."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=N)
    c = rng.normal(0.0, 0.01, N)
    driver = np.roll(c, lag)
    driver[:lag] = 0.0
    r = 0.7 * driver + rng.normal(0.0, 0.004, N)
    return _frame(r, dates), Covariate("X", _frame(c, dates))


def _cfg() -> TrainConfig:
    return TrainConfig(
        model="gru", hidden=16, layers=1, epochs=12, batch_size=64, lr=1e-2, patience=0,
        device="cpu", seed=0,
    )  # fmt: skip


def _backtest(prices: pd.DataFrame, covariates=(), settings=None):
    aligned = align_covariates(prices, tuple(covariates))
    spec = FeatureSpec(window=8, features=("log_return", *aligned.columns))
    settings = settings or BacktestSettings(test_fraction=0.3, ridge=True)
    model = RecurrentForecaster(spec, _cfg())
    return drain(walk_forward(aligned.frame, spec, model, settings))


def test_the_previous_days_return_of_another_series_is_found():
    prices, cov = _planted(lag=1)
    with_it = _backtest(prices, [cov]).metrics["model"]
    without = _backtest(prices).metrics["model"]
    assert with_it.verdict == "better", with_it
    assert with_it.skill > 0.3
    assert without.verdict != "better"
    ridge = _backtest(prices, [cov]).metrics["ridge"]  # a linear model finds it too
    assert ridge.verdict == "better" and ridge.skill > 0.3


def test_the_same_days_return_of_another_series_does_not_help():
    """It moves on the day forecast, so under the alignment rule the model never sees it: it
    must not beat persistence (a model that did would have looked ahead)."""
    prices, cov = _planted(lag=0)
    result = _backtest(prices, [cov])
    for key in ("model", "ridge"):
        assert result.metrics[key].verdict != "better", key
        assert result.metrics[key].skill < 0.05


@pytest.mark.parametrize("which", ["target", "covariate"])
def test_perturbing_any_input_after_a_date_moves_no_forecast_on_or_before_it(which):
    prices, cov = _planted(lag=1, seed=3)
    settings = BacktestSettings(test_fraction=0.3, refit_every=60, ridge=True)
    base = _backtest(prices, [cov], settings)
    cut = base.dates[len(base.dates) // 2]
    rng = np.random.default_rng(9)
    if which == "target":
        later = prices.index > cut
        prices = prices.copy()
        prices.loc[later, "Close"] *= np.exp(rng.normal(0, 0.05, later.sum()))
    else:  # the covariate's bars dated on the cut too: the bar dated d never reads day d
        later = cov.prices.index >= cut
        moved = cov.prices.copy()
        moved.loc[later, "Close"] *= np.exp(rng.normal(0, 0.05, later.sum()))
        cov = Covariate("X", moved)
    other = _backtest(prices, [cov], settings)
    upto = base.dates <= cut
    for key in ("model", "ridge"):
        np.testing.assert_array_equal(other.forecasts[key][upto], base.forecasts[key][upto])
        assert not np.array_equal(other.forecasts[key][~upto], base.forecasts[key][~upto])
