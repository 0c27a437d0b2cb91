"""The window's state without Qt: which data, which model may be reused, what is stale, and
what the results header says (the rules the Qt adapters only show)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings, first_fit_span
from stockapp.data import load_sample
from stockapp.data.series import make_series
from stockapp.session.data_tag import DataTag
from stockapp.session.state import NO_TRAINED_MODEL, Results, Session, TrainedModel

SPEC = FeatureSpec(window=10, features=("log_return",))


@pytest.fixture(scope="module")
def aapl():
    full = load_sample("AAPL")
    return make_series(full.frame.iloc[:400], full.name, full.source, full.report, full.data_source)


@pytest.fixture(scope="module")
def msft():
    return load_sample("MSFT")


def _trained(series, split, through_ok=True) -> TrainedModel:
    """A model trained as the window trains one: on the first fit's span of ``split``."""
    prices = series.prices(True)
    train = prices.iloc[first_fit_span(prices.index, split)]
    last = f"{train.index[-1]:%Y-%m-%d}"
    result = SimpleNamespace(
        trained_through=last, weights_through=last if through_ok else "2005-01-03"
    )
    tag = DataTag.of(series, True, train.index[0], train.index[-1])
    return TrainedModel(SimpleNamespace(spec=SPEC), result, tag, train.index)


def test_events_follow_the_data_model_and_results(aapl):
    s, heard = Session(), []
    s.data_changed.connect(lambda: heard.append("data"))
    s.model_changed.connect(lambda m: heard.append(("model", m)))
    s.results_changed.connect(lambda r: heard.append(("results", r)))
    s.set_data(aapl, True)
    s.set_adjusted(False)
    s.set_model(None)
    s.show_results(None)
    assert heard == ["data", "data", ("model", None), ("results", None)]
    assert (
        s.data_text()
        == f"AAPL · raw prices · {aapl.dates[0]:%Y-%m-%d} to {aapl.dates[-1]:%Y-%m-%d}"
    )


def test_the_model_just_trained_may_forecast_only_its_own_test_span(aapl, msft):
    s = Session(BacktestSettings(test_fraction=0.2))
    s.set_data(aapl, True)
    assert s.reusable_model(s.split) == (None, NO_TRAINED_MODEL)
    s.set_model(_trained(aapl, s.split))
    span, why = s.reusable_model(s.split)
    assert why == "" and span == f"{aapl.dates[0]:%Y-%m-%d} to {aapl.dates[319]:%Y-%m-%d}"
    assert s.training_prices(SPEC).index.equals(s.model.trained_dates)
    # another test span: its first fit learns from other bars
    span, why = s.reusable_model(BacktestSettings(test_fraction=0.3))
    assert span is None and "this test span's first fit trains on" in why
    # an unusable setting is said as the engine says it
    span, why = s.reusable_model(lambda: BacktestSettings(test_start="2099-01-04"))
    assert span is None and "2099-01-04" in why
    # raw closes are other data
    s.set_adjusted(False)
    span, why = s.reusable_model(s.split)
    assert span is None and why.startswith("The model just trained belongs to AAPL · adjusted")
    assert s.model_is_stale() and s.model_note().startswith("⚠ This model belongs to")
    s.set_data(msft, True)
    assert s.model_is_stale()
    s.set_data(aapl, True)
    assert not s.model_is_stale() and s.model_note() == ""
    # weights that stopped short of the bar before the test span cannot be reused
    s.set_model(_trained(aapl, s.split, through_ok=False))
    assert "stopped before its weights learnt" in s.reusable_model(s.split)[1]
    # an opened model records no data: nothing to reuse, never stale
    s.set_model(TrainedModel(SimpleNamespace(spec=SPEC)))
    assert s.reusable_model(s.split) == (None, NO_TRAINED_MODEL) and not s.model_is_stale()


def test_results_say_their_data_and_go_stale_with_other_data(aapl, msft):
    s = Session()
    assert s.results_header().text == "No backtest yet."
    s.set_data(aapl, True)
    tag = DataTag.of(aapl, True)
    outcome = SimpleNamespace(
        result="result", model_name="LSTM", manifest=None
    )  # a live run whose manifest names no data: the job's tag does
    s.show_results(Results.live(outcome, tag))
    header = s.results_header()
    assert header == type(header)(f"Results for <b>{tag.text()}</b>", False)
    assert s.results_save_block() == ""
    s.set_data(msft, True)
    header = s.results_header()
    assert header.stale and s.results_are_stale()
    assert header.text.startswith(f"⚠ These results belong to the previous data: <b>{tag.text()}")
    assert header.text.endswith(f"The window now shows {s.data_text()}.")
    assert header.reload_text == "Load AAPL (sample)"
    assert header.reload_tip == "Load the data these results came from: sample AAPL"
    assert s.results_save_block().startswith("These results belong to AAPL · adjusted")
    # results opened from a folder are saved as they are, data named, even when stale
    s.show_results(dataclasses.replace(s.results, outcome=None))
    assert s.results_are_stale() and s.results_save_block() == ""
    s.show_results(Results("result", data_tag=None))
    assert s.results_header().text == "Data not recorded." and not s.results_are_stale()
