"""A model trained already stands in for the backtest's first fit, and only for that past."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.fitted import AlreadyFitted
from stockapp.core.walkforward import BacktestSettings, first_test_bar, walk_forward
from stockapp.errors import BacktestError

SPEC = FeatureSpec(window=5, features=("log_return",))


def _result(tag: str) -> SimpleNamespace:
    return SimpleNamespace(
        train_losses=[1.0], val_losses=[], epoch_seconds=[0.1], best_epoch=1,
        stop_reason="completed", device="CPU", cuda_graphs=False, message=tag,
    )  # fmt: skip


class Recorder:
    """Forecasts the last close; records every fit it is asked for."""

    def __init__(self) -> None:
        self.fits: list[tuple[pd.Timestamp, pd.Timestamp, bool]] = []

    def fit(self, prices, should_stop=None, warm_start=False, epochs=None, recent=None):
        self.fits.append((prices.index[0], prices.index[-1], warm_start))
        yield "trained"
        return _result("refit" if warm_start else "fresh")

    def predict_next(self, prices, ends):
        return prices["Close"].to_numpy()[np.asarray(ends)]


@pytest.fixture
def prices() -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=200)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 200)))
    return pd.DataFrame({"Close": close}, index=dates)


def _drain(gen):
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def test_the_first_fit_is_the_training_the_model_had(prices):
    settings = BacktestSettings(test_fraction=0.2)
    start = first_test_bar(prices.index, settings, 0)  # 160
    inner = Recorder()
    model = AlreadyFitted(inner, _result("trained in the window"), prices.index[:start])
    events, result = _drain(walk_forward(prices, SPEC, model, settings))
    assert inner.fits == []  # nothing was trained again
    assert "trained" not in events
    assert [f.message for f in result.fits] == ["trained in the window"]
    assert result.n == 40
    # The model forecast every test bar itself.
    np.testing.assert_array_equal(result.forecasts["model"], prices["Close"].to_numpy()[159:-1])


def test_refits_train_the_model_itself(prices):
    settings = BacktestSettings(test_fraction=0.2, refit_every=20)
    inner = Recorder()
    model = AlreadyFitted(inner, _result("window"), prices.index[:160])
    _, result = _drain(walk_forward(prices, SPEC, model, settings))
    assert [f.message for f in result.fits] == ["window", "refit"]
    assert len(inner.fits) == 1 and inner.fits[0][2] is True  # one warm refit
    assert inner.fits[0][1] == prices.index[179]  # it learnt up to the bar before its segment


@pytest.mark.parametrize("trained_bars", [150, 161])
def test_a_model_trained_on_another_past_is_refused(prices, trained_bars):
    model = AlreadyFitted(Recorder(), _result("x"), prices.index[:trained_bars])
    with pytest.raises(BacktestError) as info:
        _drain(walk_forward(prices, SPEC, model, BacktestSettings(test_fraction=0.2)))
    message = str(info.value)
    assert f"{trained_bars} bars" in message and "160 bars" in message
    assert "\n" not in message and message.endswith(".")


def test_attributes_are_the_models():
    inner = Recorder()
    inner.spec = SPEC
    model = AlreadyFitted(inner, _result("x"), pd.bdate_range("2020-01-01", periods=3))
    model.data_fingerprint = "abc"
    assert inner.data_fingerprint == "abc" and model.spec is SPEC
    with pytest.raises(BacktestError):
        AlreadyFitted(inner, None, pd.bdate_range("2020-01-01", periods=3))


def test_a_model_whose_weights_stopped_short_is_refused(prices):
    """Issue 18.3: the model just trained stands in for a first fit only if its weights learnt
    through the bar before the test span, as a fresh first fit's now do."""
    trained = prices.index[:160]
    short = _result("cancelled while learning the validation slice")
    short.trained_through, short.weights_through = "2020-08-11", "2020-07-10"
    model = AlreadyFitted(Recorder(), short, trained)
    with pytest.raises(BacktestError, match="they learnt through 2020-07-10") as info:
        _drain(walk_forward(prices, SPEC, model, BacktestSettings(test_fraction=0.2)))
    assert "\n" not in str(info.value)
    whole = _result("caught up")
    whole.trained_through = whole.weights_through = "2020-08-11"
    _, result = _drain(
        walk_forward(prices, SPEC, AlreadyFitted(Recorder(), whole, trained), BacktestSettings())
    )
    assert [f.message for f in result.fits] == ["caught up"]
