"""Ridge on the model's own inputs (issue 24): the closed form against scikit-learn, the penalty
chosen by exact leave-one-out error checked by refitting without each row, and forecasts that
read nothing after the bar before them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from stockapp.core.features import FeatureSpec
from stockapp.core.ridge import ALPHAS, fit_ridge, ridge_forecasts


def _xy(n=120, p=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) + 3.0
    y = x @ rng.normal(size=p) * 0.3 + rng.normal(size=n) + 1.5
    return x, y


def test_the_closed_form_is_scikit_learns_ridge():
    x, y = _xy()
    coef, intercept, alpha = fit_ridge(x, y)
    ref = Ridge(alpha=alpha).fit(x, y)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-8, atol=1e-10)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-8)


def test_the_penalty_is_the_one_with_the_smallest_leave_one_out_error():
    x, y = _xy(n=60, p=10, seed=1)

    def loo(alpha):  # a second implementation: refit without each row
        errs = []
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            m = Ridge(alpha=alpha).fit(x[keep], y[keep])
            errs.append((m.predict(x[i : i + 1])[0] - y[i]) ** 2)
        return np.mean(errs)

    assert fit_ridge(x, y)[2] == min(ALPHAS, key=loo)


def test_forecasts_read_nothing_after_the_bar_before_them():
    rng = np.random.default_rng(2)
    dates = pd.bdate_range("2015-01-01", periods=400)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    prices = pd.DataFrame({"Close": close}, index=dates)
    spec = FeatureSpec(window=5)
    ends = np.arange(299, 349)
    base = ridge_forecasts(prices, spec, 0, 300, ends)
    moved = prices.copy()
    moved.iloc[350:, 0] *= 1.5  # after the last input row of any window
    np.testing.assert_array_equal(ridge_forecasts(moved, spec, 0, 300, ends), base)
    moved = prices.copy()
    moved.iloc[330:, 0] *= 1.5  # inside later windows: the fit, and earlier forecasts, stay
    again = ridge_forecasts(moved, spec, 0, 300, ends)
    np.testing.assert_array_equal(again[: 330 - 299], base[: 330 - 299])
    assert not np.array_equal(again, base)
