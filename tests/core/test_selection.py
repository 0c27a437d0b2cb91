"""Honest selection: Holm, SPA, the nested choice and the verdict sentence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockapp.core.selection import (
    add_holm,
    choose,
    holm,
    spa_pvalue,
    span_scores,
    summarise_series,
    verdict,
)
from stockapp.core.trading import TradingRule
from stockapp.errors import StockappError


def test_holm_hand_worked_table():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_leaves_nan_out_of_the_family():
    adj = holm([0.5, math.nan, 0.2])
    assert math.isnan(adj[1])
    # family of 2: 0.2*2 = 0.4, then max(0.4, 0.5*1) = 0.5
    assert adj[[0, 2]] == pytest.approx([0.5, 0.4])
    assert holm([0.6, 0.7, 0.9]) == pytest.approx([1.0, 1.0, 1.0])
    assert np.isnan(holm([math.nan])).all()


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 40):
        p = rng.uniform(0, 0.2, size) ** 2
        expected = multitest.multipletests(p, method="holm")[1]
        assert holm(p) == pytest.approx(expected, rel=1e-12)


def test_add_holm_adjusts_within_each_series_over_finished_runs():
    rows = [
        {"series": "A", "status": "ok", "dm_pvalue": 0.01},
        {"series": "A", "status": "ok", "dm_pvalue": 0.04},
        {"series": "A", "status": "failed", "dm_pvalue": None},
        {"series": "B", "status": "ok", "dm_pvalue": 0.01},
    ]
    add_holm(rows)
    assert rows[0]["dm_pvalue_holm"] == pytest.approx(0.02)
    assert rows[1]["dm_pvalue_holm"] == pytest.approx(0.04)
    assert "dm_pvalue_holm" not in rows[2]
    assert rows[3]["dm_pvalue_holm"] == pytest.approx(0.01)


def _losses(n=500, k=5, seed=0):
    rng = np.random.default_rng(seed)
    bench = rng.chisquare(1, n)
    return bench, rng


def test_spa_finds_an_obviously_better_model():
    pytest.importorskip("arch")
    bench, rng = _losses()
    models = np.column_stack([bench + rng.normal(0, 0.3, bench.size) for _ in range(4)])
    models = np.column_stack([models, 0.5 * bench])  # one model halves every loss
    assert spa_pvalue(bench, models, seed=1) < 0.01


def test_spa_sees_nothing_when_models_match_the_benchmark():
    pytest.importorskip("arch")
    bench, rng = _losses()
    # equal in distribution: losses drawn like the benchmark's, independently
    models = rng.chisquare(1, (bench.size, 6))
    p = spa_pvalue(bench, models, seed=1)
    assert p > 0.2
    assert spa_pvalue(bench, models, seed=1) == p  # a fixed seed reproduces it
    # models that are the benchmark on every bar cannot beat it: no bootstrap needed
    assert spa_pvalue(bench, np.column_stack([bench, bench])) == 1.0


def test_spa_agrees_with_arch_called_directly():
    arch_bootstrap = pytest.importorskip("arch.bootstrap")
    bench, rng = _losses(n=300)
    models = np.column_stack([bench * rng.uniform(0.8, 1.1, bench.size) for _ in range(3)])
    ref = arch_bootstrap.SPA(bench, models, reps=1000, seed=7)
    ref.compute()
    assert spa_pvalue(bench, models, seed=7) == pytest.approx(float(ref.pvalues["consistent"]))


def test_spa_refuses_mismatched_or_missing_losses():
    with pytest.raises(StockappError, match="one benchmark loss per bar"):
        spa_pvalue(np.ones(10), np.ones((9, 2)))
    with pytest.raises(StockappError, match="finite"):
        spa_pvalue(np.ones(3), np.array([[1.0], [np.nan], [1.0]]))


def test_span_scores_by_hand():
    realised = np.array([101.0, 99.0, 102.0, 103.0])
    previous = np.array([100.0, 101.0, 99.0, 102.0])
    forecast = np.array([100.5, 100.0, 100.0, 101.5])
    s = span_scores(realised, forecast, previous, TradingRule(cost_bps=0.0), 252.0)
    rmse = math.sqrt(np.mean((forecast - realised) ** 2))
    naive = math.sqrt(np.mean((previous - realised) ** 2))
    assert s.rmse == pytest.approx(rmse)
    assert s.naive_rmse == pytest.approx(naive)
    assert s.rmse_ratio == pytest.approx(rmse / naive)
    # moves up, down, up, up; calls up, down, up, down: 3 of 4 right
    assert s.directional_accuracy == pytest.approx(0.75)


def test_choose_averages_seeds_and_keeps_the_first_of_ties():
    ids = ["a", "a", "b", "b", "c"]
    assert choose(ids, [1.0, 1.0, 0.5, 1.5, 1.0]) == "a"  # all tie at 1.0: the first met
    assert choose(ids, [1.02, 0.98, 0.99, 0.99, math.nan]) == "b"  # a's mean is 1.00
    assert choose(ids, [1.02, 0.98, 1.01, 1.01, 0.5]) == "c"
    with pytest.raises(StockappError, match="No run finished"):
        choose(["a"], [math.nan])


def _frames(sel_good: str, test_good: str, n_sel=60, n_test=60, seed=0):
    """Forecasts of two configurations: one good on the selection span, the other on test."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_sel + n_test + 1)))
    previous, realised = close[:-1], close[1:]
    out = {}
    for cfg in ("A", "B"):
        err = np.empty(realised.size)
        err[:n_sel] = rng.normal(0, 0.2 if cfg == sel_good else 3.0, n_sel)
        err[n_sel:] = rng.normal(0, 0.2 if cfg == test_good else 3.0, n_test)
        out[cfg] = {"realised": realised, "forecast": realised + err, "naive": previous}
    return out


def _summary(frames, n_sel=60):
    runs = []
    forecasts = {}
    for cfg, f in frames.items():
        key = f"key-{cfg}"
        forecasts[key] = f
        sel = slice(0, n_sel)
        ratio = math.sqrt(np.mean((f["forecast"][sel] - f["realised"][sel]) ** 2)) / math.sqrt(
            np.mean((f["naive"][sel] - f["realised"][sel]) ** 2)
        )
        test = slice(n_sel, None)
        test_ratio = math.sqrt(np.mean((f["forecast"][test] - f["realised"][test]) ** 2))
        test_ratio /= math.sqrt(np.mean((f["naive"][test] - f["realised"][test]) ** 2))
        runs.append(
            {
                "config_id": cfg,
                "config": {"model": cfg},
                "key": key,
                "seed": 0,
                "selection_rmse_ratio": ratio,
                "rmse_ratio": test_ratio,
            }
        )
    return summarise_series(
        "X",
        runs,
        forecasts,
        n_sel,
        "chosen on s, scored on t",
        TradingRule(),
        252.0,
        {"A": "A", "B": "B"},
    )


def test_the_choice_is_made_on_the_selection_span_only():
    pytest.importorskip("arch")
    # A is good on the selection span, B on the test span: a choice that peeked picks B
    s = _summary(_frames(sel_good="A", test_good="B"))
    assert s["chosen"]["configuration"] == "A"
    # the same selection span with a different test span: the same choice
    assert _summary(_frames(sel_good="A", test_good="A"))["chosen"]["configuration"] == "A"
    assert s["configurations_tried"] == 2
    # B's test-span ensemble clearly beats persistence, and SPA says so
    assert s["spa_pvalue"] < 0.05
    assert s["verdict"].startswith("Best of 2 configurations on X: A: RMSE ")
    assert s["verdict"].endswith("at least one configuration beats persistence.")


def test_verdict_sentence():
    text = verdict(
        "AAPL",
        24,
        "GRU, window 20, 32 units",
        0.99612,
        0.41,
        "chosen on a .. b, scored on c .. d",
        3,
    )
    assert text == (
        "Best of 24 configurations on AAPL: GRU, window 20, 32 units: RMSE 0.9961x persistence "
        "(mean of 3 seeds); chosen on a .. b, scored on c .. d. Accounting for the 24 tried "
        "(SPA), p = 0.41: no evidence that any beats persistence."
    )
