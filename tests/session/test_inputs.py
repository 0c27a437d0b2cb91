"""Other series as inputs through the session layer (issue 24): the window's backtest job takes
them as the command line does, and a model trained without them is refused in one sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data.series import QualityReport, make_series
from stockapp.errors import ModelError, StockappError
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig
from stockapp.session.inputs import covariate_of, covariate_requests
from stockapp.session.jobs import backtest_job


def _series(name, seed, n=300):
    dates = pd.bdate_range("2015-01-01", periods=n, name="Date")
    close = 20 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    frame = pd.DataFrame({"Close": close}, index=dates)
    return make_series(frame, name, f"test {name}", QualityReport(n, dates[0], dates[-1]))


CFG = TrainConfig(hidden=4, layers=1, epochs=1, patience=0, device="cpu")


def test_requests_become_sources_with_their_features():
    (s, f), (c, g) = covariate_requests(samples=["SPY:range"], csvs=["x.csv"])
    assert (s.kind, s.where, f) == ("sample", "SPY", ("range",))
    assert (c.kind, c.where, g) == ("csv", "x.csv", ("return",))


def test_the_backtest_job_takes_other_series_as_inputs():
    target, other = _series("T", 1), _series("X", 2)
    cov = covariate_of(other, ("return",), adjusted=True)
    assert cov.identity["fingerprint"] == other.fingerprint
    job = backtest_job(target, FeatureSpec(window=5), CFG, BacktestSettings(), 1,
                       covariates=(cov,), calendar=("dow",))  # fmt: skip
    outcome = drain(job(lambda: False))
    assert outcome.manifest.spec().features == ("log_return", "with:X:return", "cal:dow")
    assert outcome.manifest.covariates[0]["name"] == "X"


def test_a_model_trained_without_the_inputs_is_refused():
    target, other = _series("T", 1), _series("X", 2)
    model = RecurrentForecaster(FeatureSpec(window=5), CFG)
    job = backtest_job(target, FeatureSpec(window=5), CFG, BacktestSettings(), 1, model,
                       covariates=(covariate_of(other, ("return",), True),))  # fmt: skip
    with pytest.raises(ModelError, match="trained without the other series"):
        drain(job(lambda: False))


# ---------------------------------------------------------------- the window's choice (issue 24.5)
from stockapp.core.walkforward import BacktestSettings as _Settings  # noqa: E402
from stockapp.session.inputs import InputChoice  # noqa: E402
from stockapp.session.loading import csv_file, sample, ticker  # noqa: E402
from stockapp.session.state import Results, Session, TrainedModel  # noqa: E402


def test_a_choice_adds_replaces_removes_and_round_trips():
    choice = InputChoice().add(sample("SPY"), ["range", "return"])
    choice = choice.add(ticker("^VIX", "1d"), [])  # nothing ticked: the log return
    choice = choice.add(sample("SPY"), ["abs_return"])  # the same source again: replaced
    assert [(s.where, f) for s, f in choice.requests] == [("^VIX", ("return",)),
                                                          ("SPY", ("abs_return",))]  # fmt: skip
    choice = choice.with_calendar(["month", "dow", "hour"])
    assert choice.calendar == ("dow", "month")
    assert choice.lines() == ["^VIX (Yahoo Finance): log return", "SPY (sample): |log return|"]
    assert choice.summary() == "^VIX, SPY; day of the week, month"
    assert InputChoice.from_list(choice.to_list()) == choice
    assert InputChoice.from_list(["not json", '{"source": 3}', *choice.to_list()]) == choice
    assert choice.without(0).summary() == "SPY; day of the week, month"
    assert not InputChoice() and InputChoice().with_calendar(["dow"])


def test_the_job_loads_the_choice_when_it_runs_and_says_an_unreadable_one():
    target = _series("T", 1)
    choice = InputChoice().add(sample("SPY"), ["return"]).with_calendar(["dow"])
    job = backtest_job(target, FeatureSpec(window=5), CFG, _Settings(), 1, inputs=choice)
    outcome = drain(job(lambda: False))
    assert outcome.manifest.spec().features == ("log_return", "with:SPY:return", "cal:dow")
    assert outcome.manifest.covariates[0]["data_source"]["where"] == "SPY"
    # The frame the model read travels with the outcome (the Inside tab explains from it).
    assert "with:SPY:return" in outcome.prices.columns
    header = Session()
    header.set_data(target, True)
    header.show_results(Results.live(outcome))
    assert header.results_header().text.endswith(" · with SPY (log return); day of the week")
    broken = InputChoice().add(csv_file("/nowhere/prices.csv"), ["return"])
    job = backtest_job(target, FeatureSpec(window=5), CFG, _Settings(), 1, inputs=broken)
    with pytest.raises(StockappError):
        drain(job(lambda: False))


def test_the_model_just_trained_is_not_offered_when_the_backtest_adds_inputs():
    target = _series("T", 1)
    session = Session()
    session.set_data(target, True)
    seen = []
    session.inputs_changed.connect(seen.append)
    model = RecurrentForecaster(FeatureSpec(window=5), CFG)
    session.set_model(TrainedModel(model, result=object(), trained_on=session.data_tag()))
    session.set_inputs(InputChoice().add(sample("SPY"), ["return"]))
    span, why = session.reusable_model(_Settings())
    assert span is None
    assert why == ("The model just trained reads only T's own past; with other inputs (SPY) "
                   "Run backtest trains a fresh model.")  # fmt: skip
    assert len(seen) == 1
