"""The real recurrent forecaster walked forward: no look-ahead; refits use the latest bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.reference import fit_spans
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
            assert "lowest validation loss. Then 1 epoch on the validation slice" in fit.message
            assert fit.catchup_epochs == fit.best_epoch == 1
        else:  # a refit carves no validation out of its own recent past
            assert fit.validated_from is None
            assert fit.message == "Completed 1 epoch; kept the final weights."
            assert fit.catchup_epochs == 0
        # Issue 18.3: the weights of every fit, the first included, learnt through the bar
        # before its first forecast.
        assert fit.weights_through == f"{dates[s - 1]:%Y-%m-%d}", k
    d = result.fits[-1].to_dict()
    assert {"trained_from", "trained_through", "validated_from", "weights_through"} <= set(d)
    # ... as the reference, which works the same spans out from the rules, says.
    spans = fit_spans(dates, w, _settings(refit_every, mode), CFG.val_fraction)
    assert [{k: f.to_dict()[k] for k in spans[0]} for f in result.fits] == spans


def test_the_all_steps_loss_trains_from_the_first_windows_earliest_target():
    prices = _prices()
    cfg = TrainConfig(**{**CFG.to_dict(), "loss_on": "all"})
    fit = _run(prices, _settings(0, "expanding"), cfg).fits[0]
    assert fit.trained_from == f"{prices.index[2]:%Y-%m-%d}"  # step 1 of the window ending at w
    spans = fit_spans(prices.index, SPEC.window, _settings(0, "expanding"), 0.15, "all")
    assert {k: fit.to_dict()[k] for k in spans[0]} == spans[0]


def _first_fit_weights(prices: pd.DataFrame) -> dict:
    # One epoch: early stopping keeps it whatever the validation slice says, so only learning
    # from the slice can make the weights depend on it.
    model = RecurrentForecaster(SPEC, TrainConfig(**{**CFG.to_dict(), "epochs": 1}))
    drain(walk_forward(prices, SPEC, model, _settings(0, "expanding")))
    return model.net.state_dict()


def test_the_first_fits_weights_learn_the_last_bar_before_the_test_span_and_nothing_after():
    """Issue 18.3 as a perturbation: moving the close of the bar just before the test span
    (a validation target) moves the first fit's weights; moving any later bar does not."""
    prices = _prices()
    s = 260 - 52  # the first test bar
    base = _first_fit_weights(prices)
    later = prices.copy()
    later.iloc[s:] = later.iloc[s:].mul(np.linspace(0.6, 1.7, 260 - s), axis=0)
    for name, value in _first_fit_weights(later).items():
        assert torch.equal(value, base[name]), name
    # The last past bar's close is only the target of the window before it (and an input of
    # the test span's first forecasts), so only learning from it can move the weights.
    last = prices.copy()
    last.iloc[s - 1] *= 1.05
    moved = _first_fit_weights(last)
    assert any(not torch.equal(moved[n], base[n]) for n in base)
