"""The persistence reference on the loss chart equals the validation loss of a network that
forecasts no change, on the trainer's own windows and scaling (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from stockapp.core.dataset import training_set
from stockapp.core.features import FeatureSpec
from stockapp.core.reference import backtest_spans, persistence_loss, validation_start
from stockapp.core.walkforward import BacktestSettings
from stockapp.data.samples import load_sample
from stockapp.models.trainer import validation_loss


class _NoChange(nn.Module):
    """Outputs persistence at every step: a scaled return of 0, or the step's own scaled close
    (feature 0 must be ``close``) re-expressed on the target's scale."""

    def __init__(self, scaler, target: str) -> None:
        super().__init__()
        self.scaler, self.target = scaler, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scaler
        if self.target == "return":
            return torch.full(x.shape[:2], (0.0 - s.target_mean) / s.target_std, dtype=x.dtype)
        close = x[..., 0].double() * s.feature_std[0] + s.feature_mean[0]
        return ((close - s.target_mean) / s.target_std).to(x.dtype)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("AAPL").prices(True).iloc[:600]


@pytest.mark.parametrize("target", ["return", "price"])
@pytest.mark.parametrize("loss_on", ["last", "all"])
def test_reference_is_the_validation_loss_of_a_no_change_network(prices, target, loss_on):
    spec = FeatureSpec(window=12, features=("close", "log_return"), target=target)
    data = training_set(prices, spec, 0.15)
    net = _NoChange(data.scaler, target)
    x, y = torch.as_tensor(data.x_val), torch.as_tensor(data.y_val)
    expected = validation_loss(net, x, y, loss_on)
    got = persistence_loss(prices, spec, 0.15, loss_on)
    assert got == pytest.approx(expected, rel=1e-5)


def test_return_reference_by_hand():
    # Closes built from chosen log returns, so target[i] = rets[i] for i >= 1.
    rets = np.array([0.0, 0.1, -0.1, 0.2, 0.0, 0.1, -0.2, 0.1, 0.0, 0.3] * 5)
    close = 100 * np.exp(np.cumsum(rets))
    idx = pd.bdate_range("2020-01-01", periods=len(close))
    frame = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close}, index=idx)
    spec = FeatureSpec(window=3, features=("log_return",))
    # n = 50 - 1 - 3 = 46 windows ending at bars 3..48; round(4.6) = 5 validate (ends 44..48,
    # targets of bars 45..49); the scaler is fitted on targets of bars 1..44 (every row up to
    # the last training target).
    tr = rets[1:45]
    m, sd = tr.mean(), tr.std()
    val_targets = rets[45:50]
    expected = np.mean(((val_targets - m) / sd - (0 - m) / sd) ** 2)
    assert expected == pytest.approx(np.mean(val_targets**2) / sd**2)
    assert persistence_loss(frame, spec, 0.1, "last") == pytest.approx(expected)
    assert persistence_loss(frame, spec, 0.0, "last") is None


def test_validation_start_matches_the_trainer_cut(prices):
    spec = FeatureSpec(window=12, features=("log_return",))
    data = training_set(prices, spec, 0.15)
    assert validation_start(len(prices), 12, 0.15) == int(data.val_ends[0]) + 1
    assert validation_start(len(prices), 12, 0.0) is None
    assert validation_start(50, 3, 0.1) == 45  # worked above: targets of bars 45..49 validate


def test_backtest_spans_follow_the_first_fit(prices):
    settings = BacktestSettings(test_fraction=0.2)
    test, val = backtest_spans(prices.index, 12, settings, 0.15)
    assert test == prices.index[600 - 120]
    first_fit = prices.iloc[:480]
    data = training_set(first_fit, FeatureSpec(window=12, features=("log_return",)), 0.15)
    assert val == prices.index[int(data.val_ends[0]) + 1]
