"""Which configurations a sweep tries: ranges, the grid, random and TPE trials, the objective."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from scipy import stats

from stockapp.core.sweep_plan import expand_grid
from stockapp.core.sweep_search import (
    Range,
    Search,
    grid_trials,
    load_optuna,
    random_trials,
    selection_objective,
)
from stockapp.errors import StockappError
from stockapp.session.grid import parse_space

SPACE = {
    "model": ["gru", "lstm"],
    "hidden": Range(8, 64, integer=True),
    "lr": Range(1e-4, 1e-2, log=True),
    "dropout": Range(0.0, 0.3),
}


def test_ranges_are_read_from_the_options():
    space = parse_space(
        {"hidden": "8:64", "lr": "1e-4:1e-2:log", "dropout": "0:0.3", "window": "10,20"},
        labels="option",
    )
    assert space == {
        "window": [10, 20],
        "hidden": Range(8, 64, integer=True),
        "dropout": Range(0.0, 0.3),
        "lr": Range(1e-4, 1e-2, log=True),
    }
    assert space["lr"].text() == "0.0001:0.01:log" and space["hidden"].text() == "8:64"


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ({"hidden": "8:64:lin"}, "--hidden takes a range like low:high or low:high:log"),
        ({"hidden": "8.5:64"}, "whole numbers"),
        ({"hidden": "64:8"}, "must go from a smaller value to a larger one"),
        ({"hidden": "0:8"}, "starts below 1"),
        ({"lr": "0:1e-2:log"}, "must start above 0"),
        ({"lr": "0:1e-2"}, "Learning rates must be positive"),
        ({"dropout": "0:1.5"}, "Dropout takes numbers from 0 to below 1"),
        ({"dropout": "0:nan"}, "--dropout takes a range"),
        ({"model": "gru:lstm"}, "Unknown model type 'gru:lstm'"),
        ({"window": "10:"}, "--window takes a range"),
    ],
)
def test_a_bad_range_is_one_sentence(texts, message):
    with pytest.raises(StockappError, match=message) as info:
        parse_space(texts, labels="option")
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def test_the_grid_search_is_todays_grid_and_refuses_a_range():
    grid = {"hidden": [8, 16], "model": ["gru", "lstm"], "window": [10, 20]}
    assert grid_trials(grid) == expand_grid(grid)
    with pytest.raises(StockappError, match=r"hidden is a range \(8:64\).* --search random"):
        grid_trials({"hidden": Range(8, 64, integer=True)})


def test_random_trials_are_reproducible_distinct_and_within_their_ranges():
    a = random_trials(SPACE, 40, seed=3)
    assert a == random_trials(SPACE, 40, seed=3)
    assert a != random_trials(SPACE, 40, seed=4)
    assert len({tuple(sorted(c.items())) for c in a}) == 40
    for c in a:
        assert c["model"] in ("gru", "lstm")
        assert isinstance(c["hidden"], int) and 8 <= c["hidden"] <= 64
        assert 1e-4 <= c["lr"] <= 1e-2 and 0.0 <= c["dropout"] <= 0.3
        assert list(c) == ["model", "hidden", "dropout", "lr"]  # results.csv's order


def test_a_log_range_is_sampled_uniformly_in_log_space():
    rng = np.random.default_rng(0)
    lr = Range(1e-4, 1e-2, log=True)
    draws = np.array([lr.sample(rng) for _ in range(4000)])
    u = (np.log10(draws) + 4.0) / 2.0  # uniform on [0, 1] if log-uniform
    assert stats.kstest(u, "uniform").pvalue > 0.01
    assert 0.45 < np.mean(draws < 1e-3) < 0.55  # half below the geometric middle, not 9%
    linear = np.array([Range(0.0, 0.3).sample(rng) for _ in range(4000)])
    assert stats.kstest(linear / 0.3, "uniform").pvalue > 0.01
    hidden = np.array([Range(1, 100, log=True, integer=True).sample(rng) for _ in range(4000)])
    expected = math.log(11) / math.log(101)  # whole numbers 1..10 of a log range 1..100
    assert abs(np.mean(hidden <= 10) - expected) < 0.03
    assert hidden.min() >= 1 and hidden.max() <= 100


def test_more_trials_than_the_lists_allow_is_one_sentence():
    with pytest.raises(StockappError, match="more configurations than the 4 the values allow"):
        random_trials({"model": ["gru", "lstm"], "hidden": [8, 16]}, 5, seed=0)
    assert len(random_trials({"model": ["gru", "lstm"], "hidden": [8, 16]}, 4, seed=0)) == 4


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (Search("grid", trials=5), "--trials applies to --search random or tpe"),
        (Search("random"), "--search random needs --trials N"),
        (Search("tpe", trials=0), "--trials must be at least 1"),
        (Search("grid"), "hidden is a range"),
    ],
)
def test_a_search_that_cannot_run_is_one_sentence(search, message):
    with pytest.raises(StockappError, match=message):
        search.check({"hidden": Range(8, 64, integer=True)} if message.startswith("hidden") else {})


def test_missing_optuna_is_one_sentence_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    with pytest.raises(StockappError, match=r"pip install 'stockapp\[tune\]'"):
        load_optuna()
    with pytest.raises(StockappError, match="needs Optuna"):
        Search("tpe", trials=4).check({"hidden": [8, 16, 32, 64, 128]})


def test_the_objective_reads_the_selection_span_only():
    config = {"model": "gru", "hidden": 8}
    rows = [
        {
            "config_id": '{"hidden": 8, "model": "gru"}',
            "status": "ok",
            "seed": s,
            "selection_rmse_ratio": 0.9 + s / 10,
            "rmse_ratio": 5.0,
            "rmse": 9.0,
        }
        for s in (0, 1)
    ] + [{"config_id": '{"hidden": 8, "model": "gru"}', "status": "failed", "seed": 2}]
    assert selection_objective(rows, config) == pytest.approx(0.95)
    moved = [{**r, "rmse_ratio": -1.0, "rmse": 0.0} for r in rows]  # other test-span numbers
    assert selection_objective(moved, config) == selection_objective(rows, config)
    assert selection_objective(rows[2:], config) is None


def test_tpe_trials_are_reproducible_and_within_their_ranges():
    pytest.importorskip("optuna", reason="TPE needs the optional extra stockapp[tune]")
    from stockapp.core.sweep_tpe import TpeSearch

    def trials(seed):
        tpe = TpeSearch(SPACE, seed, startup_trials=3)
        out = []
        for _ in range(10):
            number, config = tpe.ask()
            out.append(config)
            tpe.tell(number, config["lr"] * 100 + config["hidden"] / 64)  # any fixed score
        return out

    a = trials(7)
    assert a == trials(7) and a != trials(8)
    for c in a:
        assert c["model"] in ("gru", "lstm") and 8 <= c["hidden"] <= 64
        assert isinstance(c["hidden"], int) and 1e-4 <= c["lr"] <= 1e-2
