"""Honest selection: Holm, SPA, the nested choice and the verdict sentence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stockapp.core.multiple_testing import holm, holm_verdicts, spa_pvalue, spa_test
from stockapp.core.selection import add_holm, choose, span_scores, summarise_series
from stockapp.core.selection_verdict import verdict
from stockapp.core.significance import diebold_mariano_signed, long_run_variance
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
        {"series": "A", "status": "ok", "dm_pvalue": 0.01, "dm_better_pvalue": 0.005},
        {"series": "A", "status": "ok", "dm_pvalue": 0.04, "dm_better_pvalue": 0.98},
        {"series": "A", "status": "failed", "dm_pvalue": None},
        {"series": "B", "status": "ok", "dm_pvalue": 0.01, "dm_better_pvalue": 0.995},
        {"series": "B", "status": "ok", "dm_pvalue": None, "dm_better_pvalue": None},
    ]
    add_holm(rows)
    assert rows[0]["dm_pvalue_holm"] == pytest.approx(0.02)
    assert rows[1]["dm_pvalue_holm"] == pytest.approx(0.04)
    assert "dm_pvalue_holm" not in rows[2] and "verdict" not in rows[2]
    assert rows[3]["dm_pvalue_holm"] == pytest.approx(0.01)
    # one-sided, Holm over A's two runs: better 0.005*2 = 0.01; the other's worse side 0.02*2
    assert rows[0]["dm_better_pvalue_holm"] == pytest.approx(0.01)
    assert rows[1]["dm_better_pvalue_holm"] == pytest.approx(0.98)
    assert [r.get("verdict") for r in rows] == ["better", "worse", None, "worse", None]


def test_a_significantly_worse_run_is_never_better():
    """Issue 18: a run 1.13x persistence with a two-sided Holm p of 8e-16 read as a success."""
    better, words = holm_verdicts([1.0 - 4e-16, 0.3, 0.02, 0.9])
    assert words == ["worse", "tie", "tie", "tie"]  # 0.02 x 4 = 0.08 after Holm
    assert better[0] == pytest.approx(1.0) and better[2] == pytest.approx(0.08)
    assert holm_verdicts([0.001, math.nan])[1] == ["better", None]


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


def test_spa_with_one_model_is_arch_s_spa():
    """With one model studentising changes nothing: the p-value is arch's, draw for draw."""
    arch_bootstrap = pytest.importorskip("arch.bootstrap")
    bench, rng = _losses(n=300)
    model = bench * rng.uniform(0.94, 1.05, bench.size)  # a little better, not obviously
    ref = arch_bootstrap.SPA(bench, model[:, None], block_size=7, reps=1000, seed=7)
    ref.compute()
    got = spa_pvalue(bench, model[:, None], seed=7, block_size=7)
    assert 0.01 < got < 0.9
    assert got == pytest.approx(float(ref.pvalues["consistent"]), abs=1e-12)


def test_spa_is_arch_s_spa_on_studentised_differences():
    """Several models: arch's (unstudentised) SPA run on d_k / w_k, w_k the long-run standard
    deviation, is the studentised test, where no model is clearly worse (then arch's own
    variance in its recentring rule does not matter)."""
    arch_bootstrap = pytest.importorskip("arch.bootstrap")
    bench, rng = _losses(n=400)
    models = np.column_stack(
        [bench * rng.uniform(lo, 1.1, bench.size) for lo in (0.8, 0.85, 0.9)]
        + [0.5 * bench + 0.45 * rng.chisquare(1, bench.size)]  # another scale of differences
    )
    d = bench[:, None] - models
    assert (d.mean(axis=0) > 0).all()
    w = np.sqrt(long_run_variance(d))
    ref = arch_bootstrap.SPA(np.zeros(bench.size), -d / w, block_size=5, reps=1000, seed=3)
    ref.compute()
    got = spa_test(bench, models, seed=3, block_size=5)
    assert got.pvalue == pytest.approx(float(ref.pvalues["consistent"]), abs=1e-12)
    # the statistics are the Diebold-Mariano statistics with the sign turned
    for j in range(models.shape[1]):
        dm = diebold_mariano_signed(np.sqrt(models[:, j]), np.sqrt(bench))[0]
        assert got.t_stats[j] == pytest.approx(-dm, rel=1e-9)
    assert got.strongest == int(np.argmax(got.t_stats))


def test_spa_and_the_dm_test_tell_one_story():
    """Issue 19: negatively autocorrelated loss differences, a small gain. The lag-0 DM said
    nothing (t 1.5) while SPA said p < 0.001; now both see the same statistic, and across
    draws SPA never finds a winner whose own one-sided test is above 0.05."""
    pytest.importorskip("arch")
    found = disagree = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        e = rng.standard_normal((501, 3))
        d = e[1:] - 0.5 * e[:-1] + np.array([0.0, 0.025, 0.045])  # bench - model, MA(1) -0.5
        bench = 5.0 + rng.standard_normal(500) ** 2
        models = bench[:, None] - d
        res = spa_test(bench, models, reps=500, seed=seed)
        own = [diebold_mariano_signed(np.sqrt(models[:, j]), np.sqrt(bench))[2] for j in range(3)]
        found += res.pvalue < 0.05
        disagree += res.pvalue < 0.05 and min(own) >= 0.05
        assert own[res.strongest] == min(own)  # SPA's strongest is the smallest DM p
    assert found >= 5 and disagree == 0


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
    # the chosen A is far worse on the test span; SPA's evidence is B's, and the verdict says so
    assert "It is worse than persistence (Diebold-Mariano, one-sided p < 0.001" in s["verdict"]
    assert s["verdict"].endswith(
        "at least one configuration beats persistence: the evidence is B's (Diebold-Mariano, "
        "one-sided p < 0.001 before correction), which the selection span did not choose."
    )
    chosen = s["chosen"]["ensemble_test"]
    assert chosen["verdict"] == "worse" and chosen["dm_better_pvalue"] > 0.999
    other = s["configurations"][1]["ensemble_test"]
    assert other["verdict"] == "better" and other["dm_better_pvalue_holm"] < 0.05
    assert s["spa_block_length"] >= 1


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


def _verdict(spa_p, test, strongest=("GRU, window 60", 0.004)):
    return verdict("MSFT", 4, "GRU, window 20", 0.9914, spa_p, "chosen on a, scored on b", 2,
                   chosen_test=test, strongest=strongest)  # fmt: skip


def test_verdict_names_the_chosen_one_s_own_signed_test():
    head = (
        "Best of 4 configurations on MSFT: GRU, window 20: RMSE 0.9914x persistence (mean of 2 "
        "seeds); chosen on a, scored on b. "
    )
    tie = {"dm_better_pvalue": 0.21, "dm_better_pvalue_holm": 0.84, "verdict": "tie"}
    assert _verdict(0.41, tie) == head + (
        "Its seed ensemble ties with persistence (Diebold-Mariano, one-sided p = 0.21 that its "
        "errors are smaller; Holm-adjusted over the 4 tried, p = 0.84). Accounting for the 4 "
        "tried (SPA), p = 0.41: no evidence that any beats persistence."
    )
    better = {"dm_better_pvalue": 0.003, "dm_better_pvalue_holm": 0.012, "verdict": "better"}
    assert _verdict(0.004, better) == head + (
        "Its seed ensemble is better than persistence (Diebold-Mariano, one-sided p = 0.003; "
        "Holm-adjusted over the 4 tried, p = 0.012). Accounting for the 4 tried (SPA), "
        "p = 0.004: at least one configuration beats persistence."
    )
    worse = {"dm_better_pvalue": 0.9995, "dm_better_pvalue_holm": 1.0, "verdict": "worse"}
    assert "Its seed ensemble is worse than persistence (Diebold-Mariano, one-sided p < 0.001 " \
        "that its errors are larger, below 0.05 also after Holm over the 4 tried)." in \
        _verdict(0.5, worse)  # fmt: skip


def test_verdict_says_why_spa_and_the_chosen_one_s_test_differ():
    tie = {"dm_better_pvalue": 0.2, "dm_better_pvalue_holm": 0.6, "verdict": "tie"}
    other = _verdict(0.01, tie)
    assert other.endswith(
        "p = 0.01: at least one configuration beats persistence: the evidence is GRU, window "
        "60's (Diebold-Mariano, one-sided p = 0.004 before correction), which the selection span "
        "did not choose."
    )
    # the chosen one is significant before correction: SPA and its own test agree
    raw = {"dm_better_pvalue": 0.03, "dm_better_pvalue_holm": 0.12, "verdict": "tie"}
    assert _verdict(0.01, raw).endswith(
        "at least one configuration beats persistence; the chosen one's own test agrees before "
        "correction (one-sided p = 0.03)."
    )
    # nobody's own test is below 0.05: said in words, not left as a contradiction
    marginal = _verdict(0.04, tie, strongest=("GRU, window 20", 0.2))
    assert marginal.endswith(
        "at least one configuration beats persistence, yet no configuration's own test is below "
        "0.05 before correction (smallest one-sided p = 0.20, GRU, window 20): the bootstrap's "
        "spread of the best of them is narrower than the Student-t's here, so the evidence is "
        "marginal."
    )
