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
from stockapp.errors import ModelError
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
