"""Searched sweeps on tiny real data: every trial counted; TPE steered by the selection span."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stockapp.core.progress import drain
from stockapp.core.sweep_search import Range, Search
from stockapp.models.sweep import plan_sweep
from stockapp.models.sweep_tune import run_search, searched_request
from tests.models.test_sweep import _request, _short

SPACE = {"model": ["gru"], "window": [10], "hidden": Range(4, 12, integer=True)}


def test_the_grid_search_plans_todays_grid(tmp_path):
    request = _request(hidden=[8, 12], window=[10, 14])
    space = dict(request.grid)
    searched = searched_request(request, space, Search("grid"))
    today = plan_sweep([_short()], request, tmp_path)
    assert [j.key for j in plan_sweep([_short()], searched, tmp_path).jobs] == [
        j.key for j in today.jobs
    ]


def test_every_random_trial_is_counted_in_holm_spa_and_the_verdict(tmp_path):
    from statsmodels.stats.multitest import multipletests

    search = Search("random", trials=3, seed=1)
    request = _request()
    outcome = drain(run_search([_short()], request, SPACE, search, tmp_path, engine="inline"))
    assert outcome.total == 3 and outcome.trained == 3 and not outcome.stopped
    entry = outcome.summary["series"][0]
    assert entry["configurations_tried"] == 3
    assert entry["verdict"].startswith("Best of 3 configurations")
    assert "Accounting for the 3 tried (SPA)" in entry["verdict"]
    raw = [c["ensemble_test"]["dm_better_pvalue"] for c in entry["configurations"]]
    holm = [c["ensemble_test"]["dm_better_pvalue_holm"] for c in entry["configurations"]]
    assert holm == pytest.approx(multipletests(raw, method="holm")[1], rel=1e-12)
    assert outcome.summary["search"]["method"] == "random"
    assert outcome.summary["search"]["space"]["hidden"] == {
        "low": 4,
        "high": 12,
        "log": False,
        "integer": True,
    }
    again = drain(run_search([_short()], request, SPACE, search, tmp_path, engine="inline"))
    assert again.trained == 0 and [r["key"] for r in again.rows] == [r["key"] for r in outcome.rows]


def test_tpe_is_steered_by_the_selection_span_only(tmp_path):
    pytest.importorskip("optuna", reason="TPE needs the optional extra stockapp[tune]")
    search = Search("tpe", trials=4, seed=0, startup_trials=2)
    space = {**SPACE, "lr": Range(1e-3, 1e-1, log=True)}
    request = replace(_request(), seeds=(0,))
    plain = drain(run_search([_short()], request, space, search, tmp_path / "a", engine="inline"))
    n_test = plain.summary["series"][0]["selection_span"]["test_bars"]
    factor = np.exp(np.random.default_rng(0).normal(0, 0.05, n_test))  # new test-span prices
    moved = drain(
        run_search([_short(factor=factor)], request, space, search, tmp_path / "b", engine="inline")
    )
    a, b = plain.summary["series"][0], moved.summary["series"][0]
    assert a["configurations_tried"] == b["configurations_tried"] == 4
    assert [c["settings"] for c in a["configurations"]] == [
        c["settings"] for c in b["configurations"]
    ]  # the same trials, in the same order
    test_a = [c["test_rmse_ratio_mean"] for c in a["configurations"]]
    test_b = [c["test_rmse_ratio_mean"] for c in b["configurations"]]
    assert test_a != pytest.approx(test_b, rel=1e-3)  # while the test span's scores moved
    assert "Accounting for the 4 tried (SPA)" in a["verdict"]
