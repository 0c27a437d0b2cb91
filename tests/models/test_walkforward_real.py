"""No look-ahead with the real recurrent forecaster, with and without refits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig

SPEC = FeatureSpec(window=8, features=("log_return", "hl_range"))
CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, patience=0, device="cpu", seed=3)


def _prices(n: int = 260) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    close = 20 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
    idx = pd.bdate_range("2015-01-05", periods=n, name="Date")
    return pd.DataFrame({"High": close * 1.01, "Low": close * 0.99, "Close": close}, index=idx)


def _frame(prices: pd.DataFrame, settings: BacktestSettings) -> pd.DataFrame:
    return drain(
        walk_forward(prices, SPEC, RecurrentForecaster(SPEC, CFG), settings)
    ).forecasts_frame()


@pytest.mark.parametrize("refit_every", [0, 15])
def test_changing_later_prices_leaves_earlier_forecasts_unchanged(refit_every):
    prices = _prices()
    settings = BacktestSettings(test_fraction=0.2, refit_every=refit_every, refit_bars=60)
    base = _frame(prices, settings)
    assert len(base) == 52 and base["forecast"].notna().all()
    cut = 260 - 52 + 20  # a date inside the test span, after the first refit
    changed = prices.copy()
    factor = np.linspace(0.7, 1.6, len(prices) - cut - 1)
    changed.iloc[cut + 1 :] = changed.iloc[cut + 1 :].mul(factor, axis=0)
    other = _frame(changed, settings)
    upto = base["date"] <= f"{prices.index[cut]:%Y-%m-%d}"
    cols = ["forecast", "naive", "drift", "ar", "position", "strategy_equity", "buyhold_equity"]
    pd.testing.assert_frame_equal(other.loc[upto, cols], base.loc[upto, cols])
    assert not np.allclose(other.loc[~upto, "forecast"], base.loc[~upto, "forecast"])
