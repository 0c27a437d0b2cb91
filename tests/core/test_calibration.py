"""Online calibration: the ACI update against hand-worked values, MAPIE's ACI and a second
implementation built on the bands themselves; the scale's step against the log density's
derivative; no look-ahead; and that it restores coverage where the forecasts are wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from stockapp.core import calibration as cal
from stockapp.core import calibration_steps as steps
from stockapp.core.bands import score_bands
from stockapp.core.return_distribution import log_density
from stockapp.errors import DataError


def test_aci_update_hand_worked():
    # alpha 0.2, step 0.1: a hit adds 0.1 * 0.2, a miss (p below the current alpha) 0.1 * -0.8
    p = np.array([0.5, 0.01, 0.3, np.nan, 0.1])
    path = steps.aci_alphas(p, 0.2, 0.2, 0.1)
    np.testing.assert_allclose(path, [0.2, 0.22, 0.14, 0.16, 0.16, 0.08])


def test_aci_update_matches_mapie():
    """MAPIE's TimeSeriesRegressor (method="aci") updates alpha from the misses of its own
    intervals; fed the same misses, the rule here walks the same path."""
    from mapie.regression import TimeSeriesRegressor
    from sklearn.dummy import DummyRegressor

    rng = np.random.default_rng(3)
    n_cal, n = 100, 300
    y = rng.standard_t(5, n_cal + n) * np.r_[np.ones(n_cal + 150), np.full(150, 2.0)]
    x = np.zeros((y.size, 1))
    est = DummyRegressor(strategy="constant", constant=0.0).fit(x[:5], np.zeros(5))
    mapie = TimeSeriesRegressor(est, method="aci", cv="prefit")
    mapie.fit(x[:n_cal], y[:n_cal])
    gamma, alphas, misses = 0.01, [0.2], []
    for t in range(n_cal, n_cal + n):
        _, pis = mapie.predict(x[t : t + 1], confidence_level=0.8, allow_infinite_bounds=True)
        lo, hi = pis[0, 0, 0], pis[0, 1, 0]
        misses.append(not lo < y[t] < hi)
        mapie.adapt_conformal_inference(x[t : t + 1], y[t : t + 1], gamma, confidence_level=0.8)
        alphas.append(float(next(iter(mapie.current_alpha.values()))))
    assert 0 < min(alphas) and max(alphas) < 1  # MAPIE clips to [0, 1]; the rule here does not
    assert any(misses) and not all(misses)
    p = np.where(misses, 0.0, 1.0)  # a miss: p below any alpha in (0, 1]; a hit: above it
    np.testing.assert_allclose(steps.aci_alphas(p, 0.2, 0.2, gamma), alphas, atol=1e-12)


def test_aci_on_p_values_is_aci_on_the_bands():
    """A second implementation: build each bar's band from its alpha, check the outcome
    against it, update. The p-value rule used here gives the same alphas and bands."""
    rng = np.random.default_rng(0)
    n, nu = 400, 5.0
    z = rng.standard_t(nu, n) * np.sqrt((nu - 2) / nu) * np.linspace(0.7, 1.6, n)
    a, path, gamma = 0.05, [0.05], 0.02
    for t in range(n):
        half = stats.t.isf(max(a, steps.ALPHA_FLOOR) / 2, nu) * math.sqrt((nu - 2) / nu)
        a += gamma * (0.05 - float(abs(z[t]) > half))
        path.append(a)
    mine = steps.aci_alphas(steps.tail_pvalue(z, np.full(n, nu)), 0.05, 0.05, gamma)
    np.testing.assert_allclose(mine, path, atol=1e-12)


def test_aci_long_run_coverage_holds_for_any_sequence():
    """Gibbs and Candes' Proposition 4.1: the share of misses over T bars is within
    (max(a1, 1 - a1) + step) / (step T) of alpha, whatever the p-values."""
    rng = np.random.default_rng(1)
    for p in (rng.uniform(size=2000) ** 3, np.r_[np.zeros(500), np.ones(1500)]):
        path = steps.aci_alphas(p, 0.2, 0.2, 0.01)
        miss = (p < path[:-1]).mean()
        assert abs(miss - 0.2) <= (0.8 + 0.01) / (0.01 * p.size)


@pytest.mark.parametrize("nu", [None, 4.0, 30.0])
def test_scale_gradient_is_the_log_density_derivative(nu):
    z, s = 1.7, 1.3
    h = 1e-6

    def f(log_s):
        return float(log_density(z, 0.0, math.exp(log_s), nu))

    numeric = (f(math.log(s) + h) - f(math.log(s) - h)) / (2 * h)
    assert steps.scale_gradient(z * z / (s * s), nu) == pytest.approx(numeric, rel=1e-6)
    if nu is None:  # a Gaussian counts at most a 3-sigma move
        assert steps.scale_gradient(100.0) == pytest.approx(steps.GAUSS_CLIP - 1.0)
    else:  # a Student-t's step is bounded by its dof
        assert steps.scale_gradient(1e12, nu) == pytest.approx(nu, rel=1e-6)


def test_track_scale_hand_worked():
    z = np.array([2.0, 0.0, np.nan, 1.0])
    s, b = steps.track_scale(z, None, 1.0, 0.1)
    # log s: 0; + 0.1 (4 - 1) = 0.3; + 0.1 (0 - 1) = 0.2; NaN: 0.2; + 0.1 (e^-0.4 - 1)
    last = 0.2 + 0.1 * (math.exp(-0.4) - 1.0)
    np.testing.assert_allclose(np.log(s), [0.0, 0.3, 0.2, 0.2, last])
    np.testing.assert_array_equal(b, 0.0)
    # with a slope on u: log s_t = a + b u_t, both moved by the step times the gradient
    u = np.array([1.0, -1.0])
    s, b = steps.track_scale(np.array([2.0, 1.0]), 5.0, 1.0, 0.1, u=u, b0=0.5)
    x0 = 4.0 * math.exp(-2 * 0.5)
    g0 = 6.0 * x0 / (3.0 + x0) - 1.0
    a1, b1 = 0.1 * g0, 0.5 + 0.1 * g0
    x1 = math.exp(-2 * (a1 - b1))
    g1 = 6.0 * x1 / (3.0 + x1) - 1.0
    np.testing.assert_allclose(np.log(s), [0.5, a1 - b1, a1 + 0.1 * g1])
    np.testing.assert_allclose(b, [0.5, b1, b1 - 0.1 * g1])


@pytest.mark.parametrize("nu", [None, 5.0])
def test_start_scale_maximises_the_slice_log_score(nu):
    rng = np.random.default_rng(2)
    u = rng.uniform(-1.5, 1.5, 400)
    z = rng.standard_normal(400) * 0.8 * np.exp(-0.3 * u)
    if nu is None:  # below the clip the Gaussian's start is the plain maximum likelihood
        z = np.clip(z, -1.2, 1.2)
    s, b = steps.start_scale(z, nu, u)

    def minus(p):
        return -float(np.mean(log_density(z, 0.0, np.exp(p[0] + p[1] * u), nu)))

    ref = optimize.minimize(minus, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9,
                            "fatol": 1e-12, "maxiter": 4000}).x  # fmt: skip
    assert math.log(s) == pytest.approx(ref[0], abs=1e-4)
    assert b == pytest.approx(ref[1], abs=1e-4)
    assert b < -0.15  # it found the slope
    s0, b0 = steps.start_scale(z, nu)
    assert b0 == 0.0
    assert steps.start_scale(z[:5], nu) == (1.0, 0.0)  # too few bars: start from 1


def test_start_alpha_is_split_conformal():
    p = np.linspace(0.0, 1.0, 101)
    assert steps.start_alpha(p, 0.2) == pytest.approx(0.2)
    assert steps.start_alpha(p**2, 0.25) == pytest.approx(0.0625)
    assert steps.start_alpha(p[:5], 0.2) == 0.2  # too few: nominal


def test_running_groups_rank_each_sigma_among_those_known_before_its_outcome():
    groups, edges = steps.running_groups(np.array([1.0, 2.0, 3.0]), np.array([0.5, 10, 2.5]), 3)
    # 0.5 is lowest of 4; 10 highest of 5 (rank 4 -> 4 * 3 // 5 = 2); 2.5 ranks 3 of 6 -> 1
    np.testing.assert_array_equal(groups, [0, 2, 1])
    np.testing.assert_array_equal(edges, [2.0, 3.0])
    np.testing.assert_array_equal(
        steps.group_of([0.1, 2.0, 2.9, 3.0, 99.0], edges), [0, 1, 1, 2, 2]
    )
    assert steps.running_groups(np.empty(0), np.array([np.nan, 1.0]), 3)[0].tolist() == [-1, 0]


def _misspecified(n=900, seed=4, later=0.75):
    """Forecasts whose sigma is right in shape but 0.75x what it should be, and too dispersed
    (true log vol = 0.6 x forecast log vol), with a slice before; from the middle of the test
    span on, ``later`` x what it should be."""
    rng = np.random.default_rng(seed)
    m = 250
    log_sig = np.log(0.01) + 0.5 * np.sin(np.arange(m + n) / 40.0) + rng.normal(0, 0.2, m + n)
    true = np.exp(np.log(0.01) + 0.6 * (log_sig - np.log(0.01)))
    true *= np.r_[np.full(m + n // 2, 1 / 0.75), np.full(n - n // 2, 1 / later)]
    y = rng.standard_t(6, m + n) * np.sqrt(4 / 6) * true
    sigma, mu, nu = np.exp(log_sig), np.zeros(m + n), np.full(m + n, 6.0)
    past = (y[:m], mu[:m], sigma[:m], nu[:m])
    return y[m:], mu[m:], sigma[m:], nu[m:], past


def test_calibration_restores_coverage_overall_and_in_each_sigma_third():
    y, mu, sigma, nu, past = _misspecified()
    raw, _ = score_bands(y, mu, sigma, nu)
    done = cal.calibrate(y, mu, sigma, nu, past)
    s, _ = score_bands(y, done.mu, done.sigma, done.nu, bounds=done.bounds)
    assert raw.coverage_80 < 0.72 and raw.coverage_95 < 0.9
    assert max(abs(c - 0.8) for c in raw.coverage_80_by_tercile) > 0.1
    assert abs(s.coverage_80 - 0.8) < 0.02 and abs(s.coverage_95 - 0.95) < 0.015
    assert abs(s.coverage_50 - 0.5) < 0.03
    assert max(abs(c - 0.8) for c in s.coverage_80_by_tercile) < 0.05
    assert s.log_score > raw.log_score  # the scale improves the distribution, not only bands
    # the bands nest and the calibrated sigma is the raw one times the scale
    lo50, hi50 = done.bounds[0.5]
    lo95, hi95 = done.bounds[0.95]
    assert np.all(lo95 < lo50) and np.all(hi50 < hi95)
    np.testing.assert_allclose(done.sigma, sigma * done.state.scale[:-1])


def test_calibration_follows_a_change_of_bias():
    """Too narrow, then too wide from the middle: by the last third the calibrated 80% band
    holds close to 80% while the raw one holds far more."""
    y, mu, sigma, nu, past = _misspecified(1200, later=1.25)
    done = cal.calibrate(y, mu, sigma, nu, past)
    end = slice(800, None)
    q = stats.t.ppf(0.9, 6.0) * math.sqrt(4 / 6)
    raw = np.mean(np.abs(y[end] - mu[end]) <= q * sigma[end])
    lo, hi = done.bounds[0.8]
    held = np.mean((y[end] >= lo[end]) & (y[end] <= hi[end]))
    assert raw > 0.86 and abs(held - 0.8) < 0.04


def test_calibration_reads_each_outcome_only_after_its_bar():
    """Changing the outcomes from bar k on moves nothing of bars up to k (bar k's calibration
    was made before its outcome) and changes bar k+1's."""
    y, mu, sigma, nu, past = _misspecified(400)
    base = cal.calibrate(y, mu, sigma, nu, past)
    for k in (0, 150, 399):
        moved = y.copy()
        moved[k:] = moved[k:] * 3.0 + 0.01
        again = cal.calibrate(moved, mu, sigma, nu, past)
        keep = slice(0, k + 1)
        np.testing.assert_array_equal(again.sigma[keep], base.sigma[keep])
        np.testing.assert_array_equal(again.state.scale[keep], base.state.scale[keep])
        np.testing.assert_array_equal(again.state.group[keep], base.state.group[keep])
        for level in cal.LEVELS:
            np.testing.assert_array_equal(again.state.alpha[level][keep],
                                          base.state.alpha[level][keep])  # fmt: skip
            np.testing.assert_array_equal(again.bounds[level][0][keep],
                                          base.bounds[level][0][keep])  # fmt: skip
        if k < 399:
            assert again.state.scale[k + 1] != base.state.scale[k + 1]


def test_final_state_calibrates_the_next_forecast():
    y, mu, sigma, nu, past = _misspecified(301)
    settings = cal.CalibrationSettings(groups=1)
    whole = cal.calibrate(y, mu, sigma, nu, past, settings)
    first = cal.calibrate(y[:-1], mu[:-1], sigma[:-1], nu[:-1], past, settings)
    sd, bounds = cal.apply_state(mu[-1:], sigma[-1:], nu[-1:], first.state.final_state)
    assert sd[0] == pytest.approx(whole.sigma[-1], rel=1e-12)
    for level in cal.LEVELS:
        assert bounds[level][1][0] == pytest.approx(whole.bounds[level][1][-1], rel=1e-12)
    # with sigma groups, the next bar takes its group's alpha
    three = cal.calibrate(y[:-1], mu[:-1], sigma[:-1], nu[:-1], past)
    state = three.state.final_state
    assert len(state["alpha_80"]) == 3 and len(state["sigma_edges"]) == 2
    sd, bounds = cal.apply_state(mu[-1:], sigma[-1:], nu[-1:], state)
    g = int(steps.group_of(sd, state["sigma_edges"])[0])
    half = bounds[0.8][1][0] - mu[-1]
    assert half == pytest.approx(sd[0] * steps.half_width(state["alpha_80"][g], 6.0), rel=1e-12)


def test_none_keeps_the_forecasts_and_their_central_bands():
    y, mu, sigma, nu, past = _misspecified(100)
    done = cal.calibrate(y, mu, sigma, nu, past, cal.CalibrationSettings("none"))
    np.testing.assert_array_equal(done.sigma, sigma)
    lo, hi = done.bounds[0.8]
    q = stats.t.ppf(0.9, 6.0) * math.sqrt(4 / 6)
    np.testing.assert_allclose(hi, mu + q * sigma)
    np.testing.assert_allclose(lo, mu - q * sigma)


def test_a_gaussian_without_slice_starts_at_one_and_nominal():
    rng = np.random.default_rng(5)
    y = rng.normal(0, 0.02, 50)
    done = cal.calibrate(y, np.zeros(50), np.full(50, 0.02), None, None)
    assert done.state.scale[0] == 1.0
    assert done.state.alpha[0.8][0] == pytest.approx(0.2)
    assert done.state.slope is None


def test_bad_settings_are_one_sentence():
    with pytest.raises(DataError, match="Unknown calibration 'conformal'; choose aci or none"):
        cal.CalibrationSettings("conformal")
    with pytest.raises(DataError, match="level step must be in"):
        cal.CalibrationSettings(level_step=1.5)
    with pytest.raises(DataError, match="same length"):
        cal.calibrate(np.zeros(3), np.zeros(2), np.ones(3), None, None)
