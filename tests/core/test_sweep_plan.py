"""The sweep's plan and files: grid, spans, run keys, atomic run folders, results.csv."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from stockapp.core.sweep_plan import (
    RESULT_COLUMNS,
    ROW_FILE,
    RunsFolder,
    config_label,
    expand_grid,
    inputs_change,
    inputs_record,
    plan_spans,
    run_key,
    split_settings,
    write_results_csv,
)
from stockapp.errors import BacktestError, StockappError


def test_expand_grid_every_combination_in_a_stable_order():
    grid = {"hidden": [8, 16], "model": ["gru", "lstm"], "window": [10]}
    configs = expand_grid(grid)
    assert configs == [
        {"model": "gru", "window": 10, "hidden": 8},
        {"model": "gru", "window": 10, "hidden": 16},
        {"model": "lstm", "window": 10, "hidden": 8},
        {"model": "lstm", "window": 10, "hidden": 16},
    ]
    with pytest.raises(StockappError, match="at least one value for hidden"):
        expand_grid({"hidden": []})


def test_split_settings_puts_each_value_where_it_belongs():
    spec, train, bt = split_settings(
        {"window": 20, "model": "gru", "refit_every": 5, "features": ("log_return",)},
        {"window": 60},
        {"model": "lstm"},
        {"refit_every": 0},
    )
    assert spec == {"window": 20, "features": ["log_return"]}
    assert train == {"model": "gru"}
    assert bt == {"refit_every": 5}


def test_spans_by_hand():
    dates = pd.bdate_range("2020-01-01", periods=100)
    s = plan_spans(dates, test_fraction=0.2, selection_fraction=0.1)
    assert (s.selection_start, s.test_start, s.selection_bars) == (70, 80, 10)
    assert s.selection_from == f"{dates[70]:%Y-%m-%d}"
    assert s.selection_to == f"{dates[79]:%Y-%m-%d}"
    assert s.test_from == f"{dates[80]:%Y-%m-%d}" and s.test_to == f"{dates[99]:%Y-%m-%d}"
    assert s.describe().startswith(f"chosen on {dates[70]:%Y-%m-%d} .. ")
    with pytest.raises(BacktestError, match="take all 100 bars"):
        plan_spans(dates, 0.6, 0.4)
    with pytest.raises(BacktestError, match="selection fraction must be between 0 and 1"):
        plan_spans(dates, 0.2, 0.0)


def test_run_key_changes_with_what_changes_the_numbers_only():
    base = dict(spec={"window": 10}, train={"model": "gru", "device": "cpu"}, backtest={})
    key = run_key("fp", **base, seed=0, version="1")
    assert key == run_key("fp", **base, seed=0, version="1")
    assert len(key) == 20
    others = {
        run_key("fp2", **base, seed=0, version="1"),
        run_key("fp", **base, seed=1, version="1"),
        run_key("fp", **base, seed=0, version="2"),
        run_key("fp", {"window": 11}, base["train"], {}, 0, "1"),
        run_key("fp", base["spec"], base["train"], {"refit_every": 5}, 0, "1"),
    }
    assert key not in others and len(others) == 5
    # the device does not change what a run means
    assert key == run_key("fp", base["spec"], {"model": "gru", "device": "cuda"}, {}, 0, "1")


def test_run_key_changes_with_the_other_series_and_calendar_inputs():
    """Issue 24: a run made with other inputs is another run, so resuming never mixes them."""
    from stockapp.core.covariates import Covariate

    dates = pd.date_range("2020-01-01", periods=5, freq="B")
    prices = pd.DataFrame({"Close": [1.0, 2, 3, 4, 5], "High": 6.0, "Low": 0.5}, index=dates)

    def cov(name="SPY", features=("return",), fingerprint="a"):
        return Covariate(name, prices, features, {"source": "x", "fingerprint": fingerprint})

    base = ("fp", {"window": 10}, {"model": "gru"}, {}, 0, "1")
    plain = run_key(*base)
    assert plain == run_key(*base, inputs=inputs_record((), ()))  # no inputs: the old key
    keys = {
        run_key(*base, inputs=inputs_record([cov()], ())),
        run_key(*base, inputs=inputs_record([cov(name="QQQ")], ())),
        run_key(*base, inputs=inputs_record([cov(features=("range",))], ())),
        run_key(*base, inputs=inputs_record([cov(fingerprint="b")], ())),
        run_key(*base, inputs=inputs_record([cov()], ("dow",))),
        run_key(*base, inputs=inputs_record([], ("dow",))),
        run_key(*base, inputs=inputs_record([cov(), cov(name="QQQ")], ())),
        run_key(*base, inputs=inputs_record([cov(name="QQQ"), cov()], ())),
    }
    assert plain not in keys and len(keys) == 8
    record = inputs_record([cov()], ("dow",))
    assert record == {
        "covariates": [{"name": "SPY", "features": ["return"], "source": "x", "fingerprint": "a"}],
        "calendar": ["dow"],
    }
    moved = {**record, "covariates": [{**record["covariates"][0], "source": "y"}]}
    assert run_key(*base, inputs=moved) == run_key(*base, inputs=record)  # where is not what
    # resuming with other inputs is said in one sentence; the same ones, or a new folder, not
    none = inputs_record((), ())
    assert inputs_change(None, record) == "" and inputs_change(moved, record) == ""
    assert inputs_change({}, none) == "" and inputs_change(none, none) == ""
    assert inputs_change(none, record) == (
        "The sweep written here before read other inputs (none, now SPY:return; calendar dow); "
        "runs are keyed by their inputs, so these runs are its own and the earlier ones stay in "
        "runs/ but out of results.csv."
    )
    assert "(SPY:return; calendar dow, now none)" in inputs_change(record, none)


def test_config_label_names_the_varied_settings():
    cfg = {"model": "gru", "window": 20, "hidden": 32, "lr": 0.001, "layers": 1}
    assert config_label(cfg, {"model"}) == "GRU, window 20, 32 units"
    assert config_label(cfg, {"lr", "layers"}) == "GRU, window 20, 32 units, 1 layers, lr 0.001"


def test_a_run_folder_appears_whole_or_not_at_all(tmp_path):
    runs = RunsFolder(tmp_path / "runs")
    part = runs.partial("k1")
    (part / "forecasts.csv").write_text("half")
    assert runs.finished_row("k1") is None  # nothing under the key while it is written
    assert not runs.folder("k1").exists()
    runs.commit(part, "k1", {"status": "ok", "key": "k1"})
    assert not part.exists()
    assert runs.finished_row("k1") == {"status": "ok", "key": "k1"}
    assert (runs.folder("k1") / "forecasts.csv").read_text() == "half"


def test_leftovers_of_an_interrupted_sweep_are_removed_unread(tmp_path):
    runs = RunsFolder(tmp_path / "runs")
    part = runs.partial("k1")
    # a run's own staging folder beside its partial (the run is written whole, then swapped in)
    (runs.root / f".{part.name}.partial-1-abcd").mkdir()
    stale = runs.folder("k2")  # a folder under a key without its row is not a finished run
    stale.mkdir()
    (stale / "manifest.json").write_text("{")
    assert len(runs.clean_partials()) == 2
    assert [p.name for p in runs.root.iterdir()] == ["k2"]
    assert runs.finished_row("k2") is None
    part = runs.partial("k2")
    runs.commit(part, "k2", {"status": "ok"})
    assert not (runs.folder("k2") / "manifest.json").exists()
    # a failed row is not a finished run either
    (runs.folder("k2") / ROW_FILE).write_text(json.dumps({"status": "failed"}))
    assert runs.finished_row("k2") is None


def test_results_csv_columns_and_cells(tmp_path):
    path = tmp_path / "results.csv"
    write_results_csv(
        path,
        [
            {"series": "A", "features": ["log_return", "hl_range"], "rmse": float("nan")},
            {"series": "B", "status": "failed", "error": "It broke.", "extra": 1},
        ],
    )
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert rows[0]["features"] == "log_return+hl_range" and rows[0]["rmse"] == ""
    assert rows[1]["error"] == "It broke." and rows[1]["status"] == "failed"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_read_sweep_reopens_or_says_why_not(tmp_path):
    from stockapp.core.sweep_plan import read_sweep

    with pytest.raises(BacktestError, match="is not a sweep folder: it has no results.csv"):
        read_sweep(tmp_path)
    write_results_csv(tmp_path / "results.csv", [{"series": "A", "key": "0012", "status": "ok"}])
    with pytest.raises(BacktestError, match="no summary.json"):
        read_sweep(tmp_path)
    (tmp_path / "summary.json").write_text('{"series": []}')
    table, summary = read_sweep(tmp_path)
    assert table["key"].tolist() == ["0012"] and summary == {"series": []}
    (tmp_path / "summary.json").write_text("{half")
    with pytest.raises(BacktestError, match="damaged"):
        read_sweep(tmp_path)


def test_a_sweep_written_before_signed_verdicts_still_opens(tmp_path):
    from stockapp.core.sweep_plan import ADDED_COLUMNS, read_sweep

    old = [c for c in RESULT_COLUMNS if c not in ADDED_COLUMNS]
    with open(tmp_path / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=old)
        writer.writeheader()
        writer.writerow({"series": "A", "key": "0012", "status": "ok", "dm_pvalue": 0.01})
    (tmp_path / "summary.json").write_text('{"series": []}')
    table, _ = read_sweep(tmp_path)
    assert set(ADDED_COLUMNS) <= set(table.columns)
    assert table["verdict"].isna().all() and table["dm_better_pvalue_holm"].isna().all()
