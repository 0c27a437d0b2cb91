"""Naive baselines: values by hand, AR recovery on synthetic series, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.core.baselines import (
    BASELINE_LABELS,
    ar_forecast,
    baseline_forecasts,
    drift,
    fit_ar,
    min_training_bars,
    persistence,
)
from stockapp.errors import DataError


def _prices(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    """Closes whose log return of bar ``i`` is ``returns[i-1]``."""
    return start * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


def _ar_returns(coef: list[float], n: int, seed: int, noise: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = len(coef) - 1
    r = np.zeros(n + p)
    eps = rng.normal(scale=noise, size=n + p)
    for t in range(p, n + p):
        r[t] = coef[0] + sum(coef[j] * r[t - j] for j in range(1, p + 1)) + eps[t]
    return r[p:]


def test_persistence_is_the_previous_close():
    close = np.array([10.0, 11, 12, 13])
    np.testing.assert_array_equal(persistence(close, np.array([1, 3])), [10.0, 12.0])
    with pytest.raises(IndexError):
        persistence(close, np.array([0]))


def test_drift_by_hand_uses_training_returns_only():
    close = np.array([100.0, 110.0, 121.0, 50.0, 60.0])
    # training bars 0..2: returns log(1.1) twice, so mu = log(1.1)
    fc = drift(close, train_end=3, targets=np.array([3, 4]))
    np.testing.assert_allclose(fc, [121.0 * 1.1, 50.0 * 1.1])
    with pytest.raises(ValueError, match="look-ahead"):
        drift(close, train_end=3, targets=np.array([2]))
    with pytest.raises(DataError, match="at least 2 training bars"):
        drift(close, train_end=1, targets=np.array([3]))


def test_ar_recovers_a_noiseless_ar1_exactly_and_forecasts_it_perfectly():
    # r_t = 0.01 + 0.5 r_{t-1}, r_1 = 0.1: the fit must find (0.01, 0.5)
    r = [0.1]
    for _ in range(30):
        r.append(0.01 + 0.5 * r[-1])
    close = _prices(np.array(r))
    coef = fit_ar(close, train_end=20, lags=1)
    np.testing.assert_allclose(coef, [0.01, 0.5], atol=1e-10)
    targets = np.arange(20, close.size)
    np.testing.assert_allclose(ar_forecast(close, coef, targets), close[targets], rtol=1e-12)


def test_ar_recovers_noisy_coefficients_in_the_right_order():
    r = _ar_returns([0.0005, 0.5, -0.3], n=4000, seed=3)
    coef = fit_ar(_prices(r), train_end=3000, lags=2)
    np.testing.assert_allclose(coef, [0.0005, 0.5, -0.3], atol=0.05)
    assert coef[1] > 0 > coef[2]


def test_ar_fit_ignores_rows_from_train_end_on():
    close = _prices(_ar_returns([0.0, 0.3], n=300, seed=4))
    coef = fit_ar(close, train_end=200, lags=3)
    changed = close.copy()
    changed[200:] *= np.linspace(0.5, 3.0, changed.size - 200)
    np.testing.assert_array_equal(fit_ar(changed, train_end=200, lags=3), coef)
    changed[199] *= 1.05  # the last training bar does count
    assert not np.array_equal(fit_ar(changed, train_end=200, lags=3), coef)


def test_ar_forecast_uses_only_bars_before_the_target():
    close = _prices(_ar_returns([0.0, 0.3, 0.1], n=120, seed=5))
    coef = np.array([0.001, 0.3, 0.1])
    targets = np.array([50, 80, 119])
    fc = ar_forecast(close, coef, targets)
    for t in targets:
        moved = close.copy()
        moved[t:] *= 1.5  # the bar being forecast and everything after it
        np.testing.assert_array_equal(ar_forecast(moved, coef, np.array([t])), fc[targets == t])


def test_ar_forecast_matches_a_per_bar_reference():
    close = _prices(_ar_returns([0.0, 0.2, -0.1, 0.05], n=80, seed=6))
    coef = np.array([0.0002, 0.2, -0.1, 0.05])
    targets = np.arange(4, 80)
    r = np.diff(np.log(close))  # r[i] is the return of bar i + 1
    expected = [
        close[t - 1] * np.exp(coef[0] + sum(coef[j] * r[t - 1 - j] for j in range(1, 4)))
        for t in targets
    ]
    np.testing.assert_allclose(ar_forecast(close, coef, targets), expected, rtol=1e-13)
    with pytest.raises(IndexError):
        ar_forecast(close, coef, np.array([3]))  # needs 3 returns before it


def test_fit_ar_refuses_too_few_rows_with_a_sentence():
    close = _prices(np.full(20, 0.01) + np.linspace(0, 0.01, 20))
    assert min_training_bars(2) == 7
    fit_ar(close, train_end=7, lags=2)
    with pytest.raises(DataError, match="needs at least 7 training bars, but there are only 6"):
        fit_ar(close, train_end=6, lags=2)
    with pytest.raises(DataError, match="at least 1 lag"):
        fit_ar(close, train_end=15, lags=0)


def test_baseline_forecasts_bundle():
    close = _prices(_ar_returns([0.0003, 0.2], n=200, seed=7))
    targets = np.arange(150, 201)
    out = baseline_forecasts(close, train_end=150, targets=targets, lags=5)
    assert list(out) == list(BASELINE_LABELS) == ["persistence", "drift", "ar"]
    np.testing.assert_array_equal(out["persistence"], close[targets - 1])
    np.testing.assert_array_equal(out["drift"], drift(close, 150, targets))
    np.testing.assert_array_equal(out["ar"], ar_forecast(close, fit_ar(close, 150, 5), targets))
    with pytest.raises(ValueError, match="look-ahead"):
        baseline_forecasts(close, train_end=150, targets=np.arange(149, 160), lags=5)


def test_non_positive_closes_are_refused():
    with pytest.raises(DataError, match="positive"):
        persistence(np.array([1.0, 0.0, 2.0]), np.array([1]))
