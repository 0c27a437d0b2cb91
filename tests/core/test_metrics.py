"""Forecast metrics and their significance tests, checked against numbers worked by hand."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from stockapp.core.direction import pesaran_timmermann
from stockapp.core.metrics import (
    ForecastMetrics,
    describe_direction,
    describe_significance,
    forecast_metrics,
)
from stockapp.core.significance import (
    diebold_mariano,
    diebold_mariano_signed,
    dm_variance,
    format_pvalue,
    hac_lags,
    long_run_variance,
    signed_verdict,
)
from stockapp.errors import DataError

# Closes 10, 10, 11, 12, 11, 13; the test bars are the last five.
REALISED = np.array([10.0, 11.0, 12.0, 11.0, 13.0])
PREVIOUS = np.array([10.0, 10.0, 11.0, 12.0, 11.0])
FORECAST = np.array([10.5, 10.5, 12.5, 11.5, 12.0])


def test_errors_direction_and_skill_by_hand():
    m = forecast_metrics(REALISED, FORECAST, PREVIOUS, PREVIOUS)
    # errors e = f - r = [.5, -.5, .5, .5, -1]: MSE = (4*.25 + 1)/5 = 0.4, MAE = 3/5
    assert m.n == 5
    assert m.rmse == pytest.approx(math.sqrt(0.4))
    assert m.mae == pytest.approx(0.6)
    assert m.mape == pytest.approx(100 * (0.5 / 10 + 0.5 / 11 + 0.5 / 12 + 0.5 / 11 + 1 / 13) / 5)
    # forecast moves  +, +, +, -, +; realised moves 0, +, +, -, +: 4 calls, all right.
    assert m.direction_n == 4
    assert m.directional_accuracy == 1.0
    assert m.direction_pvalue == pytest.approx(2 / 16)  # two-sided binomial, 4 of 4
    # persistence errors [0, -1, -1, 1, -2]: MSE 7/5, skill = 1 - 0.4/1.4 = 5/7
    assert m.skill == pytest.approx(5 / 7)
    # d = e^2 - e_pers^2 = [.25, -.75, -.75, -.75, -3], mean -1; its long-run variance is
    # worked by hand in test_long_run_variance_by_hand: 47831/53824
    stat = -1 / math.sqrt(47831 / 53824 / 5)
    assert m.dm_stat == pytest.approx(stat)
    assert m.dm_pvalue == pytest.approx(2 * stats.t.sf(-stat, df=4))
    assert m.dm_better_pvalue == pytest.approx(stats.t.cdf(stat, df=4))
    assert m.dm_stat < 0  # the model has the smaller errors


def test_binomial_pvalue_eight_of_ten():
    previous = np.full(10, 100.0)
    realised = previous + np.array([1, 1, 1, 1, 1, 1, 1, 1, -1, -1.0])
    forecast = previous + 0.5  # always calls "up": right 8 times of 10
    m = forecast_metrics(realised, forecast, previous, previous)
    assert m.direction_n == 10
    assert m.directional_accuracy == pytest.approx(0.8)
    # P(X >= 8) = (45 + 10 + 1)/1024, doubled by symmetry
    assert m.direction_pvalue == pytest.approx(0.109375)


def test_persistence_scores_itself_as_zero_skill_and_no_test():
    m = forecast_metrics(REALISED, PREVIOUS, PREVIOUS, PREVIOUS)
    assert m.skill == 0.0
    assert math.isnan(m.dm_stat) and math.isnan(m.dm_pvalue)
    assert m.direction_n == 0
    assert math.isnan(m.directional_accuracy) and math.isnan(m.direction_pvalue)
    assert m.rmse == pytest.approx(math.sqrt(7 / 5))


def test_to_dict_is_valid_json_and_round_trips():
    m = forecast_metrics(REALISED, PREVIOUS, PREVIOUS, PREVIOUS)
    d = m.to_dict()
    assert d["dm_stat"] is None and d["directional_accuracy"] is None
    assert isinstance(d["n"], int) and isinstance(d["rmse"], float)
    json.dumps(d, allow_nan=False)
    back = ForecastMetrics.from_dict(json.loads(json.dumps(d)))
    assert back.rmse == m.rmse and back.n == m.n and math.isnan(back.dm_pvalue)
    assert {"up_share", "forecast_up_share", "pt_stat", "pt_pvalue"} <= set(d)
    # metrics written before the Pesaran-Timmermann keys existed still read back
    old = {k: v for k, v in d.items() if not k.startswith(("pt_", "up_", "forecast_up"))}
    assert math.isnan(ForecastMetrics.from_dict(old).pt_pvalue)
    # written before the signed verdict: half the two-sided p on the side of dm_stat
    m = forecast_metrics(REALISED, FORECAST, PREVIOUS, PREVIOUS)
    d = {k: v for k, v in m.to_dict().items() if k != "dm_better_pvalue"}
    back = ForecastMetrics.from_dict(json.loads(json.dumps(d)))
    assert back.dm_better_pvalue == pytest.approx(m.dm_pvalue / 2)


def test_long_run_variance_by_hand():
    d = np.array([0.25, -0.75, -0.75, -0.75, -3.0])
    f = [Fraction(x) for x in (5, 1, 1, 1, -8)]  # centred d (mean -1), times 4
    f = [x / 4 for x in f]
    # AR(1) on the centred values: rho = sum c_t c_{t-1} / sum c_{t-1}^2 = -1/16 / 7/4 = -1/28
    rho = sum(a * b for a, b in zip(f[1:], f[:-1], strict=True)) / sum(a * a for a in f[:-1])
    assert rho == Fraction(-1, 28)
    u = [a - rho * b for a, b in zip(f[1:], f[:-1], strict=True)]
    assert hac_lags(5) == 1  # floor(4 (4/100)^(2/9)) = floor(1.96); lag 1 weighs 1/2
    assert u == [Fraction(33, 112), Fraction(29, 112), Fraction(29, 112), Fraction(-223, 112)]
    # sum u^2 = 52500/112^2; sum u_t u_{t-1} = (957 + 841 - 6467)/112^2 = -4669/112^2
    s = sum(x * x for x in u) + 2 * Fraction(1, 2) * sum(
        a * b for a, b in zip(u[1:], u[:-1], strict=True)
    )
    assert s == Fraction(52500 - 4669, 112**2)
    # divided by the 4 residuals and recoloured by 1/(1 - rho)^2 = (28/29)^2
    lrv = s / len(u) / (1 - rho) ** 2
    assert lrv == Fraction(47831, 53824)
    assert long_run_variance(d) == pytest.approx(float(lrv), rel=1e-13)


def test_long_run_variance_matches_statsmodels_hac():
    sandwich = pytest.importorskip("statsmodels.stats.sandwich_covariance")
    rng = np.random.default_rng(4)
    e = rng.standard_normal((701, 3))
    d = np.column_stack([e[1:, 0] + 0.4 * e[:-1, 0], e[1:, 1], e[1:, 2] - 0.4 * e[:-1, 2]])
    d = d + np.array([0.1, 5.0, -2.0])
    got = long_run_variance(d)
    for j in range(3):
        c = d[:, j] - d[:, j].mean()
        rho = (c[1:] @ c[:-1]) / (c[:-1] @ c[:-1])
        u = c[1:] - rho * c[:-1]
        # statsmodels' Newey-West sum with its own default lags, floor(4 (T/100)^(2/9))
        s = sandwich.S_hac_simple(u)[0, 0]
        assert got[j] == pytest.approx(s / u.size / (1 - rho) ** 2, rel=1e-12)
        assert long_run_variance(d[:, j]) == pytest.approx(got[j], rel=1e-12)
    assert hac_lags(701) == 6 and "6 = floor(4 (n/100)^(2/9)) lags" in dm_variance(701)
    # with no autocorrelation the long-run variance is close to the plain variance
    iid = rng.standard_normal(20000)
    assert long_run_variance(iid) == pytest.approx(iid.var(), rel=0.03)
    assert math.isnan(long_run_variance(np.full(9, 2.0)))
    assert math.isnan(long_run_variance(np.array([1.0])))


def test_dm_is_the_mean_over_its_long_run_standard_error():
    rng = np.random.default_rng(0)
    e1, e2 = rng.normal(size=400), rng.normal(scale=1.3, size=400)
    d = e1**2 - e2**2
    n = d.size
    dm = d.mean() / math.sqrt(long_run_variance(d) / n)
    stat, p, better = diebold_mariano_signed(e1, e2)
    assert stat == pytest.approx(dm)
    assert p == pytest.approx(2 * stats.t.sf(abs(dm), df=n - 1))
    assert better == pytest.approx(stats.t.cdf(dm, df=n - 1))
    assert diebold_mariano(e1, e2) == (stat, p)


def test_signed_verdict_has_three_words_and_needs_a_test():
    assert signed_verdict(0.01) == "better"
    assert signed_verdict(0.99) == "worse"
    assert signed_verdict(0.96) == "worse"  # the other side's p is 0.04
    assert signed_verdict(0.5) == signed_verdict(0.94) == signed_verdict(0.06) == "tie"
    assert signed_verdict(math.nan) is None and signed_verdict(None) is None


def test_dm_sign_convention_and_symmetry():
    rng = np.random.default_rng(1)
    small, large = rng.normal(size=200), rng.normal(scale=2.0, size=200)
    stat, p, better = diebold_mariano_signed(large, small)
    assert stat > 0 and p < 0.05  # the model (first argument) has the larger errors
    assert better > 0.95 and signed_verdict(better) == "worse"
    back, p_back, better_back = diebold_mariano_signed(small, large)
    assert back == pytest.approx(-stat) and p_back == pytest.approx(p)
    assert better_back == pytest.approx(1 - better) and signed_verdict(better_back) == "better"


@pytest.mark.parametrize(
    ("e_model", "e_bench"),
    [
        (np.array([1.0, -2, 3]), np.array([1.0, -2, 3])),  # identical
        (np.array([1.0, -2, 3]), np.array([-1.0, 2, -3])),  # same squares
        (np.full(6, 2.0), np.full(6, 1.0)),  # constant differential
        (np.array([1.0]), np.array([0.0])),  # a single bar
    ],
)
def test_dm_degenerate_cases_are_nan_without_warnings(e_model, e_bench):
    stat, p = diebold_mariano(e_model, e_bench)  # warnings are errors in this suite
    assert math.isnan(stat) and math.isnan(p)


def test_dm_rejects_mismatched_lengths():
    with pytest.raises(DataError, match="same bars"):
        diebold_mariano(np.zeros(3), np.zeros(4))


def test_metrics_reject_bad_inputs_with_a_sentence():
    with pytest.raises(DataError, match="same bars"):
        forecast_metrics(REALISED, FORECAST[:4], PREVIOUS, PREVIOUS)
    bad = FORECAST.copy()
    bad[2] = np.nan
    with pytest.raises(DataError, match="test bar 2"):
        forecast_metrics(REALISED, bad, PREVIOUS, PREVIOUS)
    with pytest.raises(DataError, match="no test bars"):
        forecast_metrics(np.array([]), np.array([]), np.array([]), np.array([]))


def _metrics(**kw) -> ForecastMetrics:
    base = dict(
        rmse=1.0,
        mae=1.0,
        mape=1.0,
        directional_accuracy=0.512,
        direction_n=250,
        direction_pvalue=0.62,
        skill=0.0,
        dm_stat=0.5,
        dm_pvalue=0.41,
        n=251,
        up_share=0.52,
        forecast_up_share=0.6,
        pt_stat=-0.3,
        pt_pvalue=0.62,
    )
    base.update(kw)
    return ForecastMetrics(**base)


def test_describe_significance_sentences():
    assert describe_significance("LSTM", _metrics(skill=-0.002, dm_better_pvalue=0.79)) == (
        "LSTM is not distinguishable from persistence: its squared errors are 0.2% larger, "
        "within what luck explains (Diebold-Mariano p = 0.41, two-sided)."
    )
    worse = describe_significance(
        "LSTM", _metrics(skill=-0.041, dm_stat=3.1, dm_pvalue=0.003, dm_better_pvalue=0.9985)
    )
    assert worse == (
        "LSTM is significantly worse than persistence: its squared errors are 4.1% larger "
        "(Diebold-Mariano, one-sided p = 0.0015)."
    )
    better = describe_significance(
        "GRU",
        _metrics(skill=0.12, dm_stat=-4.0, dm_pvalue=1e-5, dm_better_pvalue=5e-6),
        bench="drift",
    )
    assert better == (
        "GRU is significantly better than drift: its squared errors are 12.0% smaller "
        "(Diebold-Mariano, one-sided p < 0.001)."
    )
    same = describe_significance("Persistence", _metrics(dm_stat=math.nan, dm_pvalue=math.nan))
    assert "nothing to test" in same


def test_a_model_worse_than_persistence_is_never_called_better():
    """Issue 18: a significant two-sided p on the wrong side must read "worse", not success."""
    rng = np.random.default_rng(18)
    previous = 100 + np.cumsum(rng.normal(0, 1, 600))
    realised = previous + rng.normal(0, 1, 600)
    forecast = previous + rng.normal(0, 0.5, 600)  # persistence plus noise: larger errors
    m = forecast_metrics(realised, forecast, previous, previous)
    assert m.skill < 0 and m.dm_pvalue < 0.05
    assert m.dm_better_pvalue > 0.95 and m.verdict == "worse"
    text = describe_significance("LSTM", m)
    assert "significantly worse" in text and "better" not in text


def test_describe_direction_sentences():
    assert describe_direction("LSTM", _metrics()) == (
        "LSTM calls the direction right 51.2% of the time (250 calls) where always up would "
        "score 52.0%, which is no better than chance given how often the market rose "
        "(Pesaran-Timmermann p = 0.62)."
    )
    good = describe_direction(
        "LSTM", _metrics(directional_accuracy=0.58, pt_stat=2.3, pt_pvalue=0.011)
    )
    assert (
        "better than chance given how often the market rose (Pesaran-Timmermann p = 0.011)" in good
    )
    assert "no better" not in good
    bad = describe_direction(
        "LSTM", _metrics(directional_accuracy=0.42, pt_stat=-2.6, pt_pvalue=0.995)
    )
    assert "worse than chance" in bad and "against the market's moves" in bad
    always = describe_direction(
        "Drift", _metrics(forecast_up_share=1.0, pt_stat=math.nan, pt_pvalue=math.nan)
    )
    assert always == (
        "Drift forecast a rise on every bar it called, so its hit rate of 51.2% is just the "
        "share of up moves (52.0%) and says nothing about skill at calling direction."
    )
    one_way = describe_direction(
        "LSTM", _metrics(up_share=1.0, pt_stat=math.nan, pt_pvalue=math.nan)
    )
    assert "the market rose on every scored bar" in one_way
    none = describe_direction("Persistence", _metrics(directional_accuracy=math.nan, direction_n=0))
    assert "cannot be scored" in none
    # the coin-flip test is not the verdict any more
    assert all("coin flip" not in t for t in (good, bad, always, one_way))


def test_describe_significance_names_the_real_reason_it_cannot_test():
    one = describe_significance(
        "LSTM", _metrics(n=1, skill=0.1, dm_stat=math.nan, dm_pvalue=math.nan)
    )
    assert one == "LSTM cannot be tested against persistence: there is only 1 test bar."
    const = describe_significance("LSTM", _metrics(skill=0.1, dm_stat=math.nan, dm_pvalue=math.nan))
    assert const == (
        "LSTM cannot be tested against persistence: its squared errors differ from persistence's "
        "by the same amount on every one of the 251 test bars."
    )
    assert "too few" not in const


# --- Pesaran-Timmermann (1992) test of directional predictability -----------------------------


def _counts_to_moves(both_up: int, fc_up_real_down: int, fc_down_real_up: int, both_down: int):
    """Forecast and realised closes (from a previous close of 100) with these 2x2 counts."""
    fc = [1] * both_up + [1] * fc_up_real_down + [-1] * fc_down_real_up + [-1] * both_down
    real = [1] * both_up + [-1] * fc_up_real_down + [1] * fc_down_real_up + [-1] * both_down
    previous = np.full(len(fc), 100.0)
    return previous + np.array(real, dtype=float), previous + 0.5 * np.array(fc), previous


def test_pesaran_timmermann_by_hand():
    # 10 bars: 5 up/up, 1 forecast up/realised down, 1 down/up, 3 down/down.
    # Px = Py = 0.6, P = 0.8, P* = 0.36 + 0.16 = 0.52, V(P) = 0.52*0.48/10 = 0.02496,
    # V(P*) = 0.2^2*0.24/10 * 2 + 4*0.36*0.16/100 = 0.004224, so the denominator is
    # sqrt(0.020736) = 0.144 and PT = 0.28 / 0.144 = 35/18.
    realised, forecast, previous = _counts_to_moves(5, 1, 1, 3)
    stat, p = pesaran_timmermann(forecast > previous, realised > previous)
    assert stat == pytest.approx(35 / 18, rel=1e-12)
    assert p == pytest.approx(stats.norm.sf(35 / 18), rel=1e-12)  # one-sided: 0.0259
    m = forecast_metrics(realised, forecast, previous, previous)
    assert m.up_share == pytest.approx(0.6) and m.forecast_up_share == pytest.approx(0.6)
    assert m.pt_stat == pytest.approx(35 / 18) and m.pt_pvalue == pytest.approx(p)


def _pt_by_fractions(a: int, b: int, c: int, d: int) -> float:
    """Pesaran & Timmermann (1992), eq. 3-6, transcribed from the 2x2 counts in exact arithmetic:
    a = both up, b = forecast up / realised down, c = forecast down / realised up, d = both down."""
    n = Fraction(a + b + c + d)
    py, px = (a + c) / n, (a + b) / n
    hit = (a + d) / n
    p_star = py * px + (1 - py) * (1 - px)
    var_p = p_star * (1 - p_star) / n
    var_p_star = (
        (2 * py - 1) ** 2 * px * (1 - px) / n
        + (2 * px - 1) ** 2 * py * (1 - py) / n
        + 4 * py * px * (1 - py) * (1 - px) / n**2
    )
    return float(hit - p_star) / math.sqrt(float(var_p - var_p_star))


@pytest.mark.parametrize("seed", range(5))
def test_pesaran_timmermann_against_two_independent_forms(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 400))
    realised_up = rng.random(n) < rng.uniform(0.3, 0.7)
    informed = rng.random(n) < rng.uniform(0.0, 0.3)
    forecast_up = np.where(informed, realised_up, rng.random(n) < rng.uniform(0.2, 0.9))
    stat, p = pesaran_timmermann(forecast_up, realised_up)
    a = int(np.sum(forecast_up & realised_up))
    b = int(np.sum(forecast_up & ~realised_up))
    c = int(np.sum(~forecast_up & realised_up))
    d = int(np.sum(~forecast_up & ~realised_up))
    assert stat == pytest.approx(_pt_by_fractions(a, b, c, d), rel=1e-10)
    # PT^2 is Pearson's chi-square of independence of the 2x2 table times n / (n - 1),
    # with the sign of a*d - b*c (scipy as the reference).
    chi2 = stats.chi2_contingency([[a, b], [c, d]], correction=False)[0]
    assert stat**2 == pytest.approx(chi2 * n / (n - 1), rel=1e-10)
    assert math.copysign(1.0, stat) == math.copysign(1.0, a * d - b * c)
    assert p == pytest.approx(stats.norm.sf(stat), rel=1e-12)


@pytest.mark.parametrize(
    ("forecast_up", "realised_up"),
    [
        ([True] * 8, [True, False] * 4),  # always up: P = P* and no variance left
        ([False] * 8, [True, False] * 4),  # always down
        ([True, False] * 4, [True] * 8),  # the market only rose
        ([True], [True]),  # a single bar
        ([], []),
    ],
)
def test_pesaran_timmermann_undefined_is_nan_without_warnings(forecast_up, realised_up):
    stat, p = pesaran_timmermann(np.array(forecast_up, bool), np.array(realised_up, bool))
    assert math.isnan(stat) and math.isnan(p)


def test_always_up_in_a_rising_market_is_not_called_skill():
    """Issue 8.3: "up" on 98% of bars, hit rate 55.2% where always up scores 55.0%."""
    # a = 541 up/up, b = 439 forecast up/realised down, c = 9 down/up, d = 11 down/down:
    # 980 "up" calls of 1000, 550 realised up moves, 552 hits.
    realised, forecast, previous = _counts_to_moves(541, 439, 9, 11)
    m = forecast_metrics(realised, forecast, previous, previous)
    assert m.directional_accuracy == pytest.approx(0.552)
    assert m.up_share == pytest.approx(0.55) and m.forecast_up_share == pytest.approx(0.98)
    assert m.direction_pvalue < 0.002  # the binomial test against 50% "finds" skill
    # P* = 0.98*0.55 + 0.02*0.45 = 0.548; PT = 0.004 / sqrt(1.93846e-5) = 0.9085, p = 0.18
    assert m.pt_stat == pytest.approx(_pt_by_fractions(541, 439, 9, 11))
    assert m.pt_pvalue == pytest.approx(0.1818, abs=1e-3)
    sentence = describe_direction("LSTM", m)
    assert "no better than chance" in sentence and "always up would score 55.0%" in sentence
    assert "better than a coin flip" not in sentence


def test_metrics_survive_absurd_prices_without_overflow():
    """A close of 1e300 on one bar: errors too large to square in float64 (issue 7.5)."""
    previous = np.array([100.0, 101.0, 1e300, 102.0, 103.0])
    realised = np.array([101.0, 1e300, 102.0, 103.0, 101.0])
    forecast = previous * 1.001
    m = forecast_metrics(realised, forecast, previous, previous)  # warnings are errors here
    err = forecast - realised
    scale = 1e300
    assert m.rmse == pytest.approx(scale * math.sqrt(np.mean((err / scale) ** 2)), rel=1e-12)
    assert math.isfinite(m.rmse) and math.isfinite(m.mae) and math.isfinite(m.skill)
    # the DM statistic does not depend on the unit of the prices
    stat, p = diebold_mariano(err / scale, (previous - realised) / scale)
    assert m.dm_stat == pytest.approx(stat) and m.dm_pvalue == pytest.approx(p)
    assert "too few" not in describe_significance("LSTM", m)
    # and called directly, the test is the same in any unit
    big = diebold_mariano(err, previous - realised)
    assert big == pytest.approx((stat, p))


def test_format_pvalue_never_rounds_across_five_percent():
    assert format_pvalue(0.0499) == "p = 0.0499"
    assert format_pvalue(0.41) == "p = 0.41"
    assert format_pvalue(0.0004) == "p < 0.001"


def test_a_significant_pt_on_a_handful_of_calls_is_flagged():
    """^GSPC in the README's table: 503 "up" calls and 8 "down" calls (6 right) of 511 bars.
    PT's normal approximation gives p = 0.038, Fisher's exact test of the same table 0.078: with
    an expected count under 5 in a cell, the sentence must not present it as skill."""
    realised, forecast, previous = _counts_to_moves(284, 219, 2, 6)
    m = forecast_metrics(realised, forecast, previous, previous)
    assert m.pt_pvalue == pytest.approx(0.0375, abs=1e-4)
    fisher = stats.fisher_exact([[284, 219], [2, 6]], alternative="greater").pvalue
    assert fisher > 0.05
    sentence = describe_direction("LSTM", m)
    assert "rests on only 8 calls of a fall, too few to trust the test" in sentence
    assert "which is better than chance" not in sentence
