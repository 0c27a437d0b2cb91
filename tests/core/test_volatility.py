"""Volatility baselines: independent recursions, and nothing reads a bar at or after its target."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model

from stockapp.core import volatility as vol


def _garch_closes(n=900, seed=0):
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    v = 1e-4
    for i in range(n):
        v = 2e-6 + 0.08 * (r[i - 1] ** 2 if i else v) + 0.9 * v
        r[i] = np.sqrt(v) * rng.standard_t(6) / np.sqrt(1.5)
    return 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))


def test_ewma_matches_a_plain_loop():
    close = _garch_closes(300)
    r = vol.log_returns(close)
    train_end, targets = 200, np.arange(200, 300)
    v = np.mean(r[1:train_end] ** 2)
    want = {}
    for i in range(1, 300):  # v holds the forecast for bar i+1 after seeing r[i]
        v = 0.94 * v + 0.06 * r[i] ** 2
        want[i + 1] = np.sqrt(v)
    got = vol.ewma_sigma(r, train_end, targets)
    np.testing.assert_allclose(got, [want[t] for t in targets], rtol=1e-12)


def test_rolling_matches_a_plain_loop_and_window_from_training_past():
    close = _garch_closes(400)
    r = vol.log_returns(close)
    t = np.arange(300, 400)
    got = vol.rolling_sigma(r, t, 20)
    np.testing.assert_allclose(got, [np.sqrt(np.mean(r[k - 20 : k] ** 2)) for k in t])
    w = vol.choose_window(r[1:300])
    assert w in vol.ROLLING_WINDOWS


def test_garch_follows_its_recursion_with_fitted_parameters():
    close = _garch_closes()
    r = vol.log_returns(close)
    train_end, t = 700, np.arange(700, 900)
    mu, sigma, nu = vol.garch_t(r, train_end, t)
    res = arch_model(100 * r[1:train_end], mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(
        disp="off", show_warning=False
    )
    p = res.params
    assert mu[0] == pytest.approx(p["mu"] / 100) and nu[0] == pytest.approx(p["nu"])
    var = (100 * sigma) ** 2
    eps = 100 * r[t[:-1]] - p["mu"]  # bar t's return updates the forecast for bar t+1
    np.testing.assert_allclose(
        var[1:], p["omega"] + p["alpha[1]"] * eps**2 + p["beta[1]"] * var[:-1], rtol=1e-8
    )


def test_no_look_ahead_in_any_baseline():
    close = _garch_closes()
    train_end, t = 700, np.arange(700, 900)
    before = vol.vol_forecasts(close, train_end, t)
    cut = 780  # perturb the closes of bar 780 onwards: forecasts for bars <= 780 must not move
    moved = close.copy()
    moved[cut:] *= np.exp(np.random.default_rng(5).normal(0, 0.05, moved.size - cut))
    after = vol.vol_forecasts(moved, train_end, t)
    keep = t <= cut
    for name in vol.VOL_LABELS:
        for a, b in zip(before[name], after[name], strict=True):
            if a is not None:
                np.testing.assert_array_equal(a[keep], b[keep])
        assert not np.allclose(before[name][1][~keep], after[name][1][~keep])


def test_refuses_targets_inside_training():
    with pytest.raises(vol.DataError, match="after the training past"):
        vol.vol_forecasts(_garch_closes(300), 200, np.arange(150, 250))


def test_garch_fit_and_sigma_path_follow_arch_and_its_recursion():
    """The GARCH a model reads: arch's parameters on the past given, and a one-step sigma per
    bar that follows the recursion, matches the baseline's and reads no later close."""
    close = _garch_closes()
    fit = vol.fit_garch(close[:700])
    r = vol.log_returns(close)
    res = arch_model(100 * r[1:700], mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(
        disp="off", show_warning=False
    )
    p = res.params
    assert (fit.mu, fit.omega, fit.alpha, fit.beta, fit.nu) == pytest.approx(
        (p["mu"], p["omega"], p["alpha[1]"], p["beta[1]"], p["nu"]), rel=1e-6
    )
    assert fit.bars == 699
    assert fit.start_variance == pytest.approx(np.mean((100 * r[1:700] - p["mu"]) ** 2))
    s = vol.garch_sigma_path(close, fit)
    var = (100 * s) ** 2
    eps = 100 * r - fit.mu
    np.testing.assert_allclose(
        var[1:], fit.omega + fit.alpha * eps[1:] ** 2 + fit.beta * var[:-1], rtol=1e-10
    )
    assert var[0] == pytest.approx(fit.omega + (fit.alpha + fit.beta) * fit.start_variance)
    # s[i] is the forecast for bar i+1: the baseline's sigma for the same bars, once its filter
    # has forgotten where it started
    _, base, _ = vol.garch_t(r, 700, np.arange(700, 900))
    np.testing.assert_allclose(s[699:899][100:], base[100:], rtol=1e-6)
    moved = close.copy()
    moved[801:] *= 1.3
    np.testing.assert_array_equal(vol.garch_sigma_path(moved, fit)[:801], s[:801])
    assert vol.GarchFit.from_dict(fit.to_dict()) == fit
    with pytest.raises(vol.DataError, match="at least 30 returns"):
        vol.fit_garch(close[:20])


def test_in_sample_forecasts_for_a_calibration_slice():
    close = _garch_closes(400)
    inside = vol.vol_forecasts(close[:300], 300, np.arange(50, 300), in_sample=True)
    after = vol.vol_forecasts(close, 300, np.arange(300, 400))
    for name in vol.VOL_LABELS:
        assert np.isfinite(inside[name][1]).all()
    # GARCH's in-sample filter is the same recursion as the one after the training past
    assert inside["garch"][2][0] == after["garch"][2][0]
    with pytest.raises(vol.DataError, match="bars 3 to the last"):
        vol.vol_forecasts(close, 300, np.arange(1, 10), in_sample=True)
