"""Windows at a million bars: views of the bars, never a copy of window x features per bar
(issue 21)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from stockapp.core.dataset import input_windows, training_set
from stockapp.core.features import FeatureSpec, step_targets, windows
from stockapp.models.trainer import device_tensors


def _prices(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    index = pd.date_range("2020-01-01", periods=n, freq="min", name="Date")
    return pd.DataFrame({"Close": close, "High": close * 1.01, "Low": close * 0.99}, index=index)


def _span(a: np.ndarray) -> int:
    """Bytes of memory an array's elements lie in."""
    return sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True)) + a.itemsize


def test_consecutive_windows_are_views_of_the_features():
    features = np.arange(40.0).reshape(20, 2)
    view = windows(features, np.arange(5, 15), 4)
    assert np.shares_memory(view, features)
    assert view.strides[0] == features.strides[0]  # the next window starts one bar later
    gathered = windows(features, np.array([5, 9, 14]), 4)  # not consecutive: a copy
    assert not np.shares_memory(gathered, features)
    for out in (view, gathered):  # same values either way
        np.testing.assert_array_equal(out[0], features[2:6])
    targets = np.arange(20.0)
    assert np.shares_memory(step_targets(targets, np.arange(5, 15), 4), targets)
    np.testing.assert_array_equal(step_targets(targets, np.arange(5, 15), 4)[0], targets[3:7])


def test_training_set_of_many_bars_takes_the_memory_of_the_bars():
    n, spec = 50_000, FeatureSpec(window=60, features=("log_return", "hl_range"))
    data = training_set(_prices(n), spec, val_fraction=0.2)
    assert data.x_train.shape == (len(data.train_ends), 60, 2)
    bars = n * 2 * 4  # float32 features
    for part in (data.x_train, data.x_val):
        assert _span(part) <= bars  # a copy would take 60x that
    assert _span(data.y_train) <= n * 4
    assert np.shares_memory(data.x_train, data.x_val)  # both views of one matrix
    # the same values as windows gathered again from the bars (row e of the features is the
    # last row of the window ending at e; the first training window ends at bar 60)
    copy = windows(np.ascontiguousarray(data.x_train[:, -1, :]), np.arange(59, 100), 60)
    np.testing.assert_array_equal(copy, data.x_train[59:100])  # window ends 119..158


def test_forecast_windows_are_views_too():
    prices, spec = _prices(5_000), FeatureSpec(window=30)
    data = training_set(prices.iloc[:4_000], spec)
    x = input_windows(prices, spec, data.scaler, np.arange(4_000, 4_999))
    assert x.dtype == np.float32 and x.shape == (999, 30, 1)
    assert _span(x) < 5_000 * 4


def test_the_trainer_shares_the_windows_memory_on_the_cpu():
    data = training_set(_prices(3_000), FeatureSpec(window=40))
    x, y, x_val, y_val = device_tensors(data, torch.device("cpu"))
    assert x.data_ptr() == data.x_train.ctypes.data and x.stride()[0] == 1
    batch = x.index_select(0, torch.tensor([0, 5, 7]))
    np.testing.assert_array_equal(batch.numpy(), data.x_train[[0, 5, 7]])
    meta = device_tensors(data, torch.device("meta"))[0]  # another device: still a view
    assert meta.shape == x.shape and meta.stride() == x.stride()
