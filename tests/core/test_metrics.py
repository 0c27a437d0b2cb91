"""Forecast metrics and their significance tests, checked against numbers worked by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from stockapp.core.metrics import (
    ForecastMetrics,
    describe_direction,
    describe_significance,
    diebold_mariano,
    forecast_metrics,
    format_pvalue,
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
    # d = e^2 - e_pers^2 = [.25, -.75, -.75, -.75, -3], mean -1, gamma0 = 5.75/5 = 1.15
    # DM = -1/sqrt(1.15/5); HLN (h=1) multiplies by sqrt(4/5) -> -sqrt(0.8/0.23)
    assert m.dm_stat == pytest.approx(-math.sqrt(0.8 / 0.23))
    assert m.dm_pvalue == pytest.approx(2 * stats.t.sf(math.sqrt(0.8 / 0.23), df=4))
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


def test_dm_by_hand_h1_and_h2():
    e_model = np.array([0.0, 1, 2, 1, 2])
    e_bench = np.zeros(5)
    # d = [0, 1, 4, 1, 4], mean 2, centred [-2, -1, 2, -1, 2]
    # gamma0 = 14/5 = 2.8, gamma1 = (2 - 2 - 2 - 2)/5 = -0.8
    stat1, p1 = diebold_mariano(e_model, e_bench, h=1)
    # DM = 2/sqrt(2.8/5); HLN factor sqrt((5 + 1 - 2)/5) = sqrt(0.8)
    assert stat1 == pytest.approx(2 * math.sqrt(0.8 / 0.56))
    assert p1 == pytest.approx(2 * stats.t.sf(stat1, df=4))
    stat2, p2 = diebold_mariano(e_model, e_bench, h=2)
    # V = 2.8 + 2*(-0.8) = 1.2; DM = 2/sqrt(0.24); HLN sqrt((5 + 1 - 4 + 2/5)/5) = sqrt(0.48)
    assert stat2 == pytest.approx(2 * math.sqrt(2))
    assert p2 == pytest.approx(2 * stats.t.sf(2 * math.sqrt(2), df=4))


def test_dm_matches_the_textbook_formula_on_random_errors():
    rng = np.random.default_rng(0)
    e1, e2 = rng.normal(size=40), rng.normal(scale=1.3, size=40)
    d = e1**2 - e2**2
    n = d.size
    dm = d.mean() / math.sqrt(np.var(d) / n) * math.sqrt((n - 1) / n)
    stat, p = diebold_mariano(e1, e2)
    assert stat == pytest.approx(dm)
    assert p == pytest.approx(2 * stats.t.sf(abs(dm), df=n - 1))


def test_dm_sign_convention_and_symmetry():
    rng = np.random.default_rng(1)
    small, large = rng.normal(size=200), rng.normal(scale=2.0, size=200)
    stat, p = diebold_mariano(large, small)
    assert stat > 0 and p < 0.05  # the model (first argument) has the larger errors
    back, p_back = diebold_mariano(small, large)
    assert back == pytest.approx(-stat) and p_back == pytest.approx(p)


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
    )
    base.update(kw)
    return ForecastMetrics(**base)


def test_describe_significance_sentences():
    assert describe_significance("LSTM", _metrics()) == (
        "LSTM is not distinguishable from persistence (Diebold-Mariano p = 0.41)."
    )
    worse = describe_significance("LSTM", _metrics(skill=-0.041, dm_stat=3.1, dm_pvalue=0.003))
    assert worse == (
        "LSTM is significantly worse than persistence (Diebold-Mariano p = 0.003): "
        "its squared errors are 4.1% larger."
    )
    better = describe_significance(
        "GRU", _metrics(skill=0.12, dm_stat=-4.0, dm_pvalue=1e-5), bench="drift"
    )
    assert better.startswith("GRU is significantly better than drift (Diebold-Mariano p < 0.001)")
    assert better.endswith("its squared errors are 12.0% smaller.")
    same = describe_significance("Persistence", _metrics(dm_stat=math.nan, dm_pvalue=math.nan))
    assert "nothing to test" in same


def test_describe_direction_sentences():
    assert describe_direction("LSTM", _metrics()) == (
        "LSTM calls the direction right 51.2% of the time (250 calls), "
        "which is not distinguishable from a coin flip (p = 0.62)."
    )
    good = describe_direction("LSTM", _metrics(directional_accuracy=0.58, direction_pvalue=0.011))
    assert "better than a coin flip (p = 0.011)" in good
    bad = describe_direction("LSTM", _metrics(directional_accuracy=0.42, direction_pvalue=0.012))
    assert "worse than a coin flip" in bad
    none = describe_direction("Persistence", _metrics(directional_accuracy=math.nan, direction_n=0))
    assert "cannot be scored" in none


def test_format_pvalue_never_rounds_across_five_percent():
    assert format_pvalue(0.0499) == "p = 0.0499"
    assert format_pvalue(0.41) == "p = 0.41"
    assert format_pvalue(0.0004) == "p < 0.001"
