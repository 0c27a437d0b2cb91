"""Windows, targets, splits and the scaler against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockapp.core.dataset import input_windows, training_set
from stockapp.core.features import (
    FeatureSpec,
    feature_matrix,
    price_from_target,
    step_targets,
    target_vector,
    windows,
)
from stockapp.errors import DataError


def _prices(closes, volume=None) -> pd.DataFrame:
    idx = pd.date_range("2020-01-01", periods=len(closes), freq="B", name="Date")
    df = pd.DataFrame({"Close": np.asarray(closes, dtype=float)}, index=idx)
    df["Open"] = df["Close"] * 0.99
    df["High"] = df["Close"] * 1.02
    df["Low"] = df["Close"] * 0.97
    if volume is not None:
        df["Volume"] = np.asarray(volume, dtype=float)
    return df


def test_features_and_targets_by_hand():
    df = _prices([100.0, 110.0, 99.0], volume=[9.0, 99.0, 9.0])
    spec = FeatureSpec(
        window=2, features=("log_return", "close", "log_volume_change", "hl_range", "oc_return")
    )
    f = feature_matrix(df, spec)
    assert np.isnan(f[0, 0]) and np.isnan(f[0, 2])
    assert f[1, 0] == pytest.approx(np.log(1.1))
    assert f[2, 0] == pytest.approx(np.log(0.9))
    assert f[2, 1] == 99.0
    assert f[1, 2] == pytest.approx(np.log(100.0) - np.log(10.0))
    assert f[1, 3] == pytest.approx(0.05)
    assert f[1, 4] == pytest.approx(-np.log(0.99))
    t = target_vector(df, spec)
    assert np.isnan(t[0]) and t[1] == pytest.approx(np.log(1.1))
    assert list(target_vector(df, FeatureSpec(window=2, target="price"))) == [100.0, 110.0, 99.0]


def test_windows_end_where_asked_and_step_targets_are_the_next_bars():
    feats = np.arange(10, dtype=float).reshape(10, 1)
    w = windows(feats, np.array([2, 5]), 3)
    assert w.shape == (2, 3, 1)
    assert w[:, :, 0].tolist() == [[0, 1, 2], [3, 4, 5]]
    target = np.arange(100, 110, dtype=float)
    st = step_targets(target, np.array([2, 5]), 3)
    assert st.tolist() == [[101, 102, 103], [104, 105, 106]]
    with pytest.raises(IndexError):
        windows(feats, np.array([1]), 3)


def test_price_reconstruction():
    spec = FeatureSpec(window=2)
    assert price_from_target(np.array([np.log(1.1)]), np.array([100.0]), spec)[0] == pytest.approx(
        110.0
    )
    assert (
        price_from_target(np.array([5.0]), np.array([100.0]), FeatureSpec(target="price"))[0] == 5
    )


def test_training_and_validation_split_chronologically_and_never_overlap():
    rng = np.random.default_rng(0)
    df = _prices(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))))
    spec = FeatureSpec(window=10)
    ts = training_set(df, spec, val_fraction=0.2)
    assert ts.train_ends[0] == 10 and ts.val_ends[-1] == len(df) - 2
    assert ts.train_ends.max() < ts.val_ends.min()
    assert not set(ts.train_ends) & set(ts.val_ends)
    assert len(ts.train_ends) + len(ts.val_ends) == len(df) - 11
    assert len(ts.val_ends) == round((len(df) - 11) * 0.2)
    assert ts.x_train.dtype == np.float32 and ts.x_train.shape == (len(ts.train_ends), 10, 1)


def test_scaler_sees_only_training_rows():
    rng = np.random.default_rng(1)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    df = _prices(closes)
    spec = FeatureSpec(window=10)
    base = training_set(df, spec, val_fraction=0.2)
    last_train_target = int(base.train_ends[-1]) + 1
    # Wildly change everything after the last training target: the scaler must not move.
    changed = closes.copy()
    changed[last_train_target + 1 :] *= np.linspace(1, 50, len(changed) - last_train_target - 1)
    other = training_set(_prices(changed), spec, val_fraction=0.2)
    assert other.scaler.feature_mean == pytest.approx(base.scaler.feature_mean)
    assert other.scaler.target_std == pytest.approx(base.scaler.target_std)
    np.testing.assert_array_equal(other.x_train, base.x_train)
    np.testing.assert_array_equal(other.y_train, base.y_train)
    # ...and it was fitted on exactly the training rows.
    r = np.diff(np.log(closes))[:last_train_target]
    assert base.scaler.target_mean == pytest.approx(r.mean())


def test_inputs_for_forecasts_use_rows_up_to_the_end_only():
    rng = np.random.default_rng(2)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))
    spec = FeatureSpec(window=10)
    ts = training_set(_prices(closes), spec, val_fraction=0.0)
    a = input_windows(_prices(closes), spec, ts.scaler, np.array([150]))
    closes2 = closes.copy()
    closes2[151:] *= 3
    b = input_windows(_prices(closes2), spec, ts.scaler, np.array([150]))
    np.testing.assert_array_equal(a, b)


def test_bad_specs_and_short_data_give_sentences():
    with pytest.raises(DataError, match="Unknown feature 'rsi'"):
        FeatureSpec(features=("rsi",))
    with pytest.raises(DataError, match="window must be at least 2"):
        FeatureSpec(window=1)
    with pytest.raises(DataError, match="needs a Volume column"):
        feature_matrix(_prices([1.0, 2.0, 3.0]), FeatureSpec(features=("log_volume_change",)))
    with pytest.raises(DataError, match="Too little data to train: 50 bars"):
        training_set(_prices(np.linspace(10, 20, 50)), FeatureSpec(window=30))


def test_spec_round_trips():
    spec = FeatureSpec(
        window=7, features=("log_return", "hl_range", "abs_return"), target="price", adjusted=False
    )
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_volatility_features_by_hand_and_without_look_ahead():
    closes = np.array([100.0, 110.0, 99.0, 99.0, 108.9, 100.0])
    r = np.r_[np.nan, np.diff(np.log(closes))]
    spec = FeatureSpec(window=2, features=("abs_return", "rv_5", "rv_20"))
    m = feature_matrix(_prices(closes), spec)
    np.testing.assert_allclose(m[1:, 0], np.abs(r[1:]))
    assert np.isnan(m[0]).all()
    # rv_k: log root mean square of the returns up to and including the bar (fewer at first)
    for i in range(1, 6):
        np.testing.assert_allclose(m[i, 1], 0.5 * np.log(np.mean(r[max(1, i - 4) : i + 1] ** 2)))
        np.testing.assert_allclose(m[i, 2], 0.5 * np.log(np.mean(r[1 : i + 1] ** 2)))
    rng = np.random.default_rng(0)
    long = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    spec = FeatureSpec(window=5, features=("abs_return", "rv_5", "rv_20", "rv_60", "hl_range"))
    base = feature_matrix(_prices(long), spec)
    moved = long.copy()
    moved[200:] *= 1.5
    np.testing.assert_array_equal(feature_matrix(_prices(moved), spec)[:200], base[:200])


def test_garch_sigma_feature_needs_a_fit_and_reads_the_past_only():
    from stockapp.core.volatility import fit_garch, garch_sigma_path

    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.standard_t(5, 400) * 0.01))
    spec = FeatureSpec(window=5, features=("log_return", "garch_sigma"))
    with pytest.raises(DataError, match="'garch_sigma' needs GARCH fitted on the past"):
        feature_matrix(_prices(close), spec)
    fit = fit_garch(close[:300])
    m = feature_matrix(_prices(close), spec, fit)
    np.testing.assert_allclose(m[1:, 1], np.log(garch_sigma_path(close, fit))[1:])
    moved = close.copy()
    moved[350:] *= 0.7
    np.testing.assert_array_equal(feature_matrix(_prices(moved), spec, fit)[:350], m[:350])
    # the dataset passes the fit on; a target base divides each bar's target
    data = training_set(_prices(close), spec, 0.0, garch=fit)
    assert np.isfinite(data.x_train).all()
    base = np.full(400, 2.0)
    halved = training_set(_prices(close), FeatureSpec(window=5), 0.0, target_base=base)
    plain = training_set(_prices(close), FeatureSpec(window=5), 0.0)
    assert halved.scaler.target_std == pytest.approx(plain.scaler.target_std / 2)


def test_default_features_of_a_distribution_head_carry_volatility():
    from stockapp.core.features import default_features

    ohlc = ["Open", "High", "Low", "Close"]
    assert default_features("student-t", ohlc) == ("log_return", "hl_range", "abs_return")
    assert default_features("gaussian", ["Close"]) == ("log_return", "abs_return")  # no High/Low
    assert default_features("point", ohlc) == FeatureSpec().features
