"""Tiny seeded data for the model tests: a noiseless sine wave and a slice of real AAPL prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stockapp.core.dataset import TrainingSet
from stockapp.core.features import step_targets, windows
from stockapp.core.progress import drain
from stockapp.core.scaling import Scaler
from stockapp.models.networks import RecurrentNet
from stockapp.models.trainer import TrainConfig


def sine_set(n_train: int = 256, n_val: int = 64, window: int = 16, step: float = 0.3):
    """Windows of ``sin`` whose step targets are the next value (already on a unit scale)."""
    s = np.sin(np.arange(n_train + n_val + window + 1) * step)
    ends = np.arange(window - 1, window - 1 + n_train + n_val)
    x = windows(s[:, None], ends, window).astype(np.float32)
    y = step_targets(s, ends, window).astype(np.float32)
    scaler = Scaler(np.zeros(1), np.ones(1), 0.0, 1.0)
    return TrainingSet(
        x[:n_train], y[:n_train], x[n_train:], y[n_train:], scaler, ends[:n_train], ends[n_train:]
    )


def tiny_net(kind: str = "lstm", hidden: int = 16, layers: int = 1, dropout: float = 0.0, seed=0):
    torch.manual_seed(seed)
    return RecurrentNet(kind, 1, hidden, layers, dropout)


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(hidden=16, layers=1, epochs=5, batch_size=32, lr=1e-2, patience=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def run(gen):
    """Drive a training generator to the end; return (events, result)."""
    events: list = []
    result = drain(gen, events.append)
    return events, result


@pytest.fixture
def sine():
    return sine_set()


@pytest.fixture
def aapl(aapl_csv) -> pd.DataFrame:
    """The first 400 real AAPL bars, shaped like ``PriceSeries.prices()`` output."""
    df = pd.read_csv(aapl_csv, parse_dates=["Date"], index_col="Date")
    return df[["Open", "High", "Low", "Close", "Volume"]].iloc[:400]


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray (2 CPUs) for a module's Ray engine tests, shut down after them (a Ray left
    running would be used by later sweeps in place of the cluster they name)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'stockapp[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
