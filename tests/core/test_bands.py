"""Band scores against hand-worked values, scipy.stats and numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from stockapp.core import bands
from stockapp.core import coverage_tests as cov
from stockapp.core import return_distribution as dist
from stockapp.core.significance import diebold_mariano


def _chi2_1_sf(x: float) -> float:
    return math.erfc(math.sqrt(x / 2.0))  # chi-squared(1) survival, independent of scipy


def test_kupiec_hand_worked():
    hits = np.array([True] * 9 + [False])  # 1 miss in 10 against a 20% miss rate
    null = math.log(0.2) + 9 * math.log(0.8)
    alt = math.log(0.1) + 9 * math.log(0.9)
    lr = -2 * (null - alt)
    assert lr == pytest.approx(0.733800, abs=1e-6)
    assert cov.kupiec_pvalue(hits, 0.8) == pytest.approx(_chi2_1_sf(lr), rel=1e-12)
    # exactly nominal: LR 0, p = 1; no misses at all still has a finite p-value
    assert cov.kupiec_pvalue(np.array([True] * 8 + [False] * 2), 0.8) == pytest.approx(1.0)
    p0 = cov.kupiec_pvalue(np.ones(50, bool), 0.8)
    assert p0 == pytest.approx(_chi2_1_sf(-2 * 50 * math.log(0.8)))


def test_christoffersen_hand_worked():
    miss = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], bool)
    n00, n01, n10, n11 = 4, 2, 2, 1
    pi = 3 / 9
    p01, p11 = 2 / 6, 1 / 3
    null = (n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
    alt = (
        n00 * math.log(1 - p01) + n01 * math.log(p01) + n10 * math.log(1 - p11)
        + n11 * math.log(p11)
    )  # fmt: skip
    lr = -2 * (null - alt)
    assert cov.christoffersen_pvalue(~miss) == pytest.approx(_chi2_1_sf(max(lr, 0.0)))
    clustered = np.array([0] * 20 + [1] * 5 + [0] * 20, bool)
    assert cov.christoffersen_pvalue(~clustered) < 0.01


def _lr_uc(misses: int, n: int, level: float) -> float:
    rate = misses / n
    null = misses * math.log(1 - level) + (n - misses) * math.log(level)
    alt = (misses * math.log(rate) if misses else 0.0) + (n - misses) * math.log(1 - rate)
    return -2 * (null - alt)


def _lr_ind(n00: int, n01: int, n10: int, n11: int) -> float:
    def ll(k: int, p: float) -> float:
        return k * math.log(p) if k else 0.0

    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    p01, p11 = n01 / (n00 + n01), n11 / (n10 + n11)
    null = ll(n00 + n10, 1 - pi) + ll(n01 + n11, pi)
    alt = ll(n00, 1 - p01) + ll(n01, p01) + ll(n10, 1 - p11) + ll(n11, p11)
    return -2 * (null - alt)


def test_conditional_coverage_hand_worked():
    # 3 misses in 10 at the 80% level; transitions n00 4, n01 2, n10 2, n11 1: after a miss
    # another came 1 time in 3, after a hit 2 in 6, so the independence LR is exactly 0
    miss = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], bool)
    lr_uc = -2 * ((3 * math.log(0.2) + 7 * math.log(0.8)) - (3 * math.log(0.3) + 7 * math.log(0.7)))
    assert lr_uc == pytest.approx(0.563351, abs=1e-6)
    assert _lr_ind(4, 2, 2, 1) == pytest.approx(0.0, abs=1e-12)
    # chi-squared(2) survival is exp(-x / 2): no scipy on this side
    assert cov.conditional_coverage_pvalue(~miss, 0.8) == pytest.approx(math.exp(-lr_uc / 2))
    assert cov.conditional_coverage_pvalue(~miss, 0.8) == pytest.approx(0.754518, abs=1e-6)
    # misses that cluster: 5 in a row among 45 bars at the 95% level
    clustered = np.array([0] * 20 + [1] * 5 + [0] * 20, bool)
    lr = _lr_uc(5, 45, 0.95) + _lr_ind(38, 1, 1, 4)  # 19 + 19 hit-to-hit steps
    assert cov.conditional_coverage_pvalue(~clustered, 0.95) == pytest.approx(math.exp(-lr / 2))
    assert cov.conditional_coverage_pvalue(~clustered, 0.95) < 0.001
    assert math.isnan(cov.conditional_coverage_pvalue(np.ones(1, bool), 0.8))


def test_every_level_is_tested_three_ways():
    y, mu, sigma = _sample()
    s, _ = bands.score_bands(y, mu, sigma)
    d = s.to_dict()
    for suffix, level in (("50", 0.5), ("80", 0.8), ("95", 0.95)):
        lo, hi = dist.interval(level, mu, sigma)
        hit = (y >= lo) & (y <= hi)
        assert d[f"coverage_{suffix}"] == hit.mean()
        assert d[f"kupiec_pvalue_{suffix}"] == cov.kupiec_pvalue(hit, level)
        assert d[f"independence_pvalue_{suffix}"] == cov.christoffersen_pvalue(hit)
        assert d[f"cc_pvalue_{suffix}"] == cov.conditional_coverage_pvalue(hit, level)
    assert d["christoffersen_pvalue_80"] == d["independence_pvalue_80"]  # the first name kept
    assert d["verdict_log_score_vs_garch"] is None  # no benchmark given
    empty = bands.BandScores.empty()
    assert empty.n == 0 and math.isnan(empty.cc_pvalue_95)


def test_gaussian_scores_against_scipy():
    rng = np.random.default_rng(3)
    n = 20_000
    mu = rng.normal(0, 0.001, n)
    sigma = rng.uniform(0.005, 0.03, n)
    y = mu + sigma * rng.standard_normal(n)
    s, ld = bands.score_bands(y, mu, sigma)
    for level, got in ((0.5, s.coverage_50), (0.8, s.coverage_80), (0.95, s.coverage_95)):
        lo, hi = stats.norm.interval(level, loc=mu, scale=sigma)
        assert got == np.mean((y >= lo) & (y <= hi))
        assert abs(got - level) < 0.01
    np.testing.assert_allclose(ld, stats.norm.logpdf(y, mu, sigma), rtol=1e-12)
    assert s.log_score == pytest.approx(stats.norm.logpdf(y, mu, sigma).mean())
    assert s.kupiec_pvalue_80 > 0.01
    # CRPS of a Gaussian at its own mean: sigma (2 phi(0) - 1/sqrt(pi))
    c0 = dist.crps(0.0, 0.0, 2.0)
    assert c0 == pytest.approx(2.0 * (2 / math.sqrt(2 * math.pi) - 1 / math.sqrt(math.pi)))


def _crps_numeric(y, cdf):
    f = lambda x: (cdf(x) - (x >= y)) ** 2  # noqa: E731
    return integrate.quad(f, -np.inf, y, limit=200)[0] + integrate.quad(f, y, np.inf, limit=200)[0]


@pytest.mark.parametrize("nu", [None, 3.5, 8.0])
@pytest.mark.parametrize("y", [-0.04, 0.0, 0.013])
def test_crps_closed_form_matches_integration(nu, y):
    mu, sd = 0.002, 0.015
    if nu is None:
        cdf = stats.norm(mu, sd).cdf
    else:
        cdf = stats.t(nu, loc=mu, scale=sd * math.sqrt((nu - 2) / nu)).cdf
    assert dist.crps(y, mu, sd, nu) == pytest.approx(_crps_numeric(y, cdf), rel=1e-6)


def test_student_t_has_unit_variance_scaling_and_logpdf():
    nu = 5.0
    lo, hi = dist.interval(0.95, 0.0, 1.0, nu)
    scale = math.sqrt(3 / 5)
    assert hi == pytest.approx(stats.t.ppf(0.975, nu) * scale)
    assert stats.t(nu, scale=scale).std() == pytest.approx(1.0)
    y = np.array([-2.0, 0.1, 3.0])
    np.testing.assert_allclose(
        dist.log_density(y, 0.0, 1.0, nu), stats.t.logpdf(y, nu, scale=scale), rtol=1e-12
    )
    np.testing.assert_allclose(dist.pit(y, 0.0, 1.0, nu), stats.t.cdf(y, nu, scale=scale))


def test_interval_score_hand_worked():
    # width 2; one miss 0.5 below at alpha 0.2: 2 + 2/0.2 * 0.5 = 7
    got = dist.interval_score([-1.5, 0.0, 1.2], [-1.0] * 3, [1.0] * 3, 0.8)
    np.testing.assert_allclose(got, [7.0, 2.0, 4.0])


def test_dm_on_log_score_matches_squared_error_dm():
    rng = np.random.default_rng(1)
    la, lb = rng.uniform(1, 3, 300), rng.uniform(1, 3, 300) + 0.1
    # diebold_mariano's differential is e_a^2 - e_b^2: feed it square roots of the losses
    _, p_ref = diebold_mariano(np.sqrt(la), np.sqrt(lb))
    assert bands.dm_pvalue(la, lb) == pytest.approx(p_ref, rel=1e-9)
    assert math.isnan(bands.dm_pvalue(la, la))


def test_pit_histogram_and_bad_values():
    edges, dens = bands.pit_histogram(np.array([0.05, 0.15, 0.95, 0.99, np.nan]), bins=10)
    assert edges[0] == 0 and edges[-1] == 1
    np.testing.assert_allclose(dens, [2.5, 2.5, 0, 0, 0, 0, 0, 0, 0, 5.0])
    s, _ = bands.score_bands([np.nan, 0.01], [0.0, 0.0], [0.01, np.nan])
    assert s.n == 0 and math.isnan(s.coverage_80)
    with pytest.raises(bands.DataError, match="degrees of freedom"):
        dist.quantile(0.9, 0.0, 1.0, 2.0)


def test_sentence():
    s, ld = bands.score_bands(*_sample())
    g, _ = bands.score_bands(*_sample(), bench_log_density=ld)
    text = bands.describe_bands("LSTM", g, s)
    assert text.startswith("LSTM's 80% bands held ") and "GARCH" not in text  # DM undefined
    assert "Kupiec p" in text


def test_sentence_is_signed_against_garch():
    """Issue 18: "beats" only where the model's log score is significantly higher."""
    y, mu, sigma = _sample()
    garch, garch_ld = bands.score_bands(y, mu, sigma)
    for scale, word, verdict in ((1.6, "loses to GARCH's", "worse"), (1.0, "ties", "tie")):
        rng = np.random.default_rng(5)
        wobble = sigma * np.exp(rng.normal(0, 0.05, y.size))  # not GARCH exactly
        model, _ = bands.score_bands(y, mu, scale * wobble, bench_log_density=garch_ld)
        assert model.verdict_vs_garch == verdict
        assert word in bands.describe_bands("LSTM", model, garch)
        assert "beats" not in bands.describe_bands("LSTM", model, garch)
    # GARCH too wide against a model that is right: the model's log score beats it
    wide, wide_ld = bands.score_bands(y, mu, 1.6 * sigma)
    model, _ = bands.score_bands(y, mu, sigma, bench_log_density=wide_ld)
    assert model.verdict_vs_garch == "better"
    assert "its log score beats GARCH's (one-sided p < 0.001)" in bands.describe_bands(
        "LSTM", model, wide
    )
    # too-wide bands fail conditional coverage at every level, and the sentence says so
    text = bands.describe_bands("GARCH", wide)
    assert "conditional coverage (Christoffersen) rejects the 50% (p < 0.001), 80% " in text


def _sample():
    rng = np.random.default_rng(0)
    return rng.normal(0, 0.01, 500), np.zeros(500), np.full(500, 0.01)


def test_per_bar_dof_matches_scalar_dof_bar_by_bar():
    y = np.array([-0.02, 0.001, 0.03])
    nu = np.array([3.0, 6.0, 30.0])
    got = dist.crps(y, 0.0, 0.01, nu)
    want = [dist.crps(y[i], 0.0, 0.01, nu[i]) for i in range(3)]
    np.testing.assert_allclose(got, want)
    s, ld = bands.score_bands(y, np.zeros(3), np.full(3, 0.01), nu)
    np.testing.assert_allclose(ld, [dist.log_density(y[i], 0.0, 0.01, nu[i]) for i in range(3)])


def test_vol_jump_finds_where_volatility_rose_most():
    y = np.r_[np.full(30, 0.01) * (-1) ** np.arange(30), np.full(40, 0.05), np.full(30, 0.02)]
    assert bands.vol_jump(y) == 30  # the RMS rises 5x there, less anywhere else
    assert bands.vol_jump(y[:39]) is None  # shorter than two windows
    assert bands.vol_jump(np.zeros(100)) is None  # no volatility before any bar


def test_coverage_by_sigma_tercile_and_after_the_jump_hand_worked():
    # 9 bars, sigma rising: thirds are bars 0-2, 3-5, 6-8; explicit bands hold bars 0, 1, 3, 6,
    # 7, 8 at every level
    y = np.zeros(9)
    held = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    lo = np.where(held, -1.0, 0.5)
    bounds = {level: (lo, np.ones(9)) for level in bands.LEVELS}
    sigma = np.arange(1.0, 10.0)
    s, _ = bands.score_bands(y, np.zeros(9), sigma, bounds=bounds)
    assert s.coverage_80 == pytest.approx(6 / 9)
    assert s.coverage_80_by_tercile == pytest.approx((2 / 3, 1 / 3, 1.0))
    assert s.coverage_50_by_tercile == s.coverage_95_by_tercile == s.coverage_80_by_tercile
    assert math.isnan(s.coverage_80_after_jump)  # 9 bars: too short for a jump
    # thirds follow the sigma, not the order of the bars
    flipped = {lv: (lo[::-1], np.ones(9)) for lv in bands.LEVELS}
    s2, _ = bands.score_bands(y[::-1], np.zeros(9), sigma[::-1], bounds=flipped)
    assert s2.coverage_80_by_tercile == s.coverage_80_by_tercile
    # after a jump: the 60 bars from it
    rng = np.random.default_rng(0)
    y = np.r_[rng.normal(0, 0.01, 100), rng.normal(0, 0.04, 100)]
    inside = np.abs(y) < 0.03
    lo = np.where(inside, -0.03, 0.5)
    bounds = {level: (lo, np.full(200, 0.03)) for level in bands.LEVELS}
    s, _ = bands.score_bands(y, np.zeros(200), np.full(200, 0.02), bounds=bounds)
    at = bands.vol_jump(y)
    assert 95 <= at <= 105
    assert s.coverage_80_after_jump == pytest.approx(inside[at : at + 60].mean())
    d = s.to_dict()
    assert isinstance(d["coverage_80_by_tercile"], list) and len(d["coverage_80_by_tercile"]) == 3
    assert bands.BandScores.from_dict(d) == s


def test_explicit_bounds_are_scored_instead_of_the_central_intervals():
    rng = np.random.default_rng(1)
    y, mu, sd = rng.normal(0, 1, 500), np.zeros(500), np.ones(500)
    central = {lv: dist.interval(lv, mu, sd) for lv in bands.LEVELS}
    a, _ = bands.score_bands(y, mu, sd)
    b, _ = bands.score_bands(y, mu, sd, bounds=central)
    assert a == b
    wide = {lv: (lo * 2, hi * 2) for lv, (lo, hi) in central.items()}
    c, _ = bands.score_bands(y, mu, sd, bounds=wide)
    assert c.coverage_80 > a.coverage_80 and c.width_80 == pytest.approx(2 * a.width_80)
    assert c.log_score == a.log_score  # the distribution is the same; only its bands moved
