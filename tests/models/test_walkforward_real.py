"""The real recurrent forecaster walked forward: no look-ahead; refits use the latest bars."""

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
MODES = [(0, "expanding"), (15, "expanding"), (15, "rolling")]


def _prices(n: int = 260) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    close = 20 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
    idx = pd.bdate_range("2015-01-05", periods=n, name="Date")
    return pd.DataFrame({"High": close * 1.01, "Low": close * 0.99, "Close": close}, index=idx)


def _settings(refit_every: int, mode: str) -> BacktestSettings:
    return BacktestSettings(
        test_fraction=0.2, refit_every=refit_every, refit_mode=mode, rolling_bars=120,
        refit_bars=60,
    )  # fmt: skip


def _run(prices: pd.DataFrame, settings: BacktestSettings, cfg: TrainConfig = CFG):
    return drain(walk_forward(prices, SPEC, RecurrentForecaster(SPEC, cfg), settings))


@pytest.mark.parametrize(("refit_every", "mode"), MODES)
def test_changing_later_prices_leaves_earlier_forecasts_unchanged(refit_every, mode):
    prices = _prices()
    settings = _settings(refit_every, mode)
    base = _run(prices, settings).forecasts_frame()
    assert len(base) == 52 and base["forecast"].notna().all()
    cut = 260 - 52 + 20  # a date inside the test span, after the first refit
    changed = prices.copy()
    factor = np.linspace(0.7, 1.6, len(prices) - cut - 1)
    changed.iloc[cut + 1 :] = changed.iloc[cut + 1 :].mul(factor, axis=0)
    other = _run(changed, settings).forecasts_frame()
    upto = base["date"] <= f"{prices.index[cut]:%Y-%m-%d}"
    cols = ["forecast", "naive", "drift", "ar", "position", "strategy_equity", "buyhold_equity"]
    pd.testing.assert_frame_equal(other.loc[upto, cols], base.loc[upto, cols])
    assert not np.allclose(other.loc[~upto, "forecast"], base.loc[~upto, "forecast"])


@pytest.mark.parametrize(("refit_every", "mode"), MODES)
def test_every_fit_trained_through_the_bar_before_its_segment(refit_every, mode):
    """A (re)fit before bar s uses targets through bar s-1: the newest bars, not stale ones."""
    prices = _prices()
    dates = prices.index
    result = _run(prices, _settings(refit_every, mode), CFG)
    assert len(result.fits) == (1 if refit_every == 0 else 4)
    starts = [dates.get_loc(pd.Timestamp(d)) for d in result.refit_dates]
    w = SPEC.window
    for k, (fit, s) in enumerate(zip(result.fits, starts, strict=True)):
        assert fit.first_test_date == f"{dates[s]:%Y-%m-%d}"
        assert fit.trained_through == f"{dates[s - 1]:%Y-%m-%d}", k
        # The first window ends at the past's bar w (row 0 has no return), forecasting bar w+1.
        first_bar = 0 if (k == 0 or mode == "expanding") else s - 120
        assert fit.trained_from == f"{dates[first_bar + w + 1]:%Y-%m-%d}", k
        if k == 0:  # early stopping's validation: the last 15% of the first fit's windows
            n = s - 1 - w
            assert fit.validated_from == f"{dates[s - round(0.15 * n)]:%Y-%m-%d}"
            assert fit.message.endswith("lowest validation loss.")
        else:  # a refit carves no validation out of its own recent past
            assert fit.validated_from is None
            assert fit.message == "Completed 1 epoch; kept the final weights."
    d = result.fits[-1].to_dict()
    assert {"trained_from", "trained_through", "validated_from"} <= set(d)


def test_the_all_steps_loss_trains_from_the_first_windows_earliest_target():
    prices = _prices()
    cfg = TrainConfig(**{**CFG.to_dict(), "loss_on": "all"})
    fit = _run(prices, _settings(0, "expanding"), cfg).fits[0]
    assert fit.trained_from == f"{prices.index[2]:%Y-%m-%d}"  # step 1 of the window ending at w
