"""The runs library: listing saved runs with their scores, readable names, rename, trash, undo."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from stockapp.core.manifest import RunManifest
from stockapp.core.run_index import (
    TRASH,
    default_run_name,
    free_folder,
    list_runs,
    rename_run,
    restore_run,
    trash_run,
)
from stockapp.core.runs import save_run
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import BacktestError
from tests.core.test_walkforward import _prices, _run


@pytest.fixture(scope="module")
def result():
    res, _, _ = _run(_prices(), BacktestSettings(refit_every=25))
    return res


def _hand_run(folder, created, rmse=2.0, naive=4.0, name="MSFT", model="GRU"):
    """A run folder written by hand, with numbers worked out on paper."""
    folder.mkdir(parents=True)
    manifest = {"created": created, "data": {"name": name}, "model_name": model, "format": 1}
    metrics = {
        "rmse": rmse,
        "naive_rmse": naive,
        "pt_pvalue": 0.25,
        "dm_pvalue": None,
        "first_date": "2020-01-02",
        "last_date": "2020-12-31",
        "strategy": {"total_return": 0.1},
        "buy_and_hold": {"total_return": -0.05},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


def test_a_saved_run_is_listed_with_scores_recomputed_from_its_forecasts(tmp_path, result):
    manifest = {"created": "2026-11-30T09:12:00+00:00", "data": {"name": "AAPL"}}
    folder = save_run(tmp_path / "run", result, RunManifest.from_dict(manifest), model_name="LSTM")
    (run,) = list_runs(tmp_path)
    table = pd.read_csv(folder / "forecasts.csv")
    # Independent of the app's metrics: RMSE of model and persistence from the saved columns.
    rmse = np.sqrt(np.mean((table["forecast"] - table["realised"]) ** 2))
    naive = np.sqrt(np.mean((table["naive"] - table["realised"]) ** 2))
    assert run.rmse_ratio == pytest.approx(rmse / naive, rel=1e-9)
    assert run.strategy_return == pytest.approx(table["strategy_equity"].iloc[-1] - 1, rel=1e-9)
    assert run.buyhold_return == pytest.approx(table["buyhold_equity"].iloc[-1] - 1, rel=1e-9)
    assert (run.data, run.model, run.name) == ("AAPL", "LSTM", "run")
    assert run.span == f"{table['date'].iloc[0][:10]} to {table['date'].iloc[-1][:10]}"
    assert 0.0 <= run.pt_pvalue <= 1.0
    assert run.created == datetime.fromisoformat("2026-11-30T09:12:00+00:00")
    assert run.problem == ""


def test_hand_worked_summary_newest_first_and_hidden_folders_skipped(tmp_path):
    _hand_run(tmp_path / "old", "2025-01-01T10:00:00+00:00")
    _hand_run(tmp_path / "new", "2026-01-01T10:00:00+00:00", rmse=3.0, naive=2.0)
    _hand_run(tmp_path / TRASH / "gone", "2026-06-01T10:00:00+00:00")
    (tmp_path / "not_a_run").mkdir()
    (tmp_path / "stray.txt").write_text("x", encoding="utf-8")
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["new", "old"]
    assert runs[0].rmse_ratio == 1.5 and runs[1].rmse_ratio == 0.5
    assert runs[1].pt_pvalue == 0.25 and math.isnan(runs[1].dm_pvalue)
    assert (runs[1].strategy_return, runs[1].buyhold_return) == (0.1, -0.05)


def test_a_run_of_several_series_is_listed_with_the_span_of_them_all(tmp_path):
    folder = tmp_path / "three"
    folder.mkdir()
    one = {"data": {"name": "A"}, "model_name": "LSTM", "format": 1}
    manifest = {
        "created": "2026-01-01T10:00:00+00:00", "format": 1,
        "several": {"series": ["A", "B", "C"], "global": False},
        "series": {n: {**one, "data": {"name": n}} for n in "ABC"},
    }  # fmt: skip
    spans = {"A": ("2020-01-02", "2020-12-31"), "B": ("2019-06-03", "2020-06-30")}
    metrics = {"series": {n: {"first_date": a, "last_date": b} for n, (a, b) in spans.items()}}
    metrics["series"]["C"] = {"rmse": 1.0}  # a series without dates is passed over
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run,) = list_runs(tmp_path)
    assert (run.data, run.model, run.span) == ("A, B, C", "LSTM", "2019-06-03 to 2020-12-31")
    assert math.isnan(run.rmse_ratio)  # no one score stands for three series


def test_a_damaged_run_is_listed_with_a_sentence(tmp_path):
    folder = _hand_run(tmp_path / "broken", "2025-01-01T10:00:00+00:00")
    (folder / "metrics.json").write_text("{not json", encoding="utf-8")
    (run,) = list_runs(tmp_path)
    assert run.problem == "This run's manifest or metrics file is damaged."
    (folder / "metrics.json").unlink()
    (run,) = list_runs(tmp_path)
    assert run.problem == "This run lacks metrics.json."


def test_missing_runs_folder_has_no_runs(tmp_path):
    assert list_runs(tmp_path / "nowhere") == []


def test_default_name_is_readable_and_safe():
    when = datetime(2026, 11, 30, 9, 5)
    assert default_run_name("AAPL", "LSTM", when) == "AAPL_LSTM_2026-11-30_09-05"
    assert (
        default_run_name("BRK.B / 1h", "Plain RNN", when) == "BRK.B-1h_Plain-RNN_2026-11-30_09-05"
    )
    assert default_run_name("", "", when) == "data_model_2026-11-30_09-05"


def test_free_folder_never_overwrites(tmp_path):
    assert free_folder(tmp_path, "a") == tmp_path / "a"
    (tmp_path / "a").mkdir()
    (tmp_path / "a-2").mkdir()
    assert free_folder(tmp_path, "a") == tmp_path / "a-3"


def test_rename_and_its_refusals(tmp_path):
    run = _hand_run(tmp_path / "first", "2025-01-01T10:00:00+00:00")
    _hand_run(tmp_path / "other", "2025-01-01T10:00:00+00:00")
    renamed = rename_run(run, "  AAPL best try ")
    assert renamed == tmp_path / "AAPL best try" and (renamed / "manifest.json").exists()
    assert rename_run(renamed, "AAPL best try") == renamed
    with pytest.raises(BacktestError, match="already a run called 'other'"):
        rename_run(renamed, "other")
    for bad in ("", "a/b", ".hidden", "x:y"):
        with pytest.raises(BacktestError) as info:
            rename_run(renamed, bad)
        assert str(info.value).count(".") >= 1 and "\n" not in str(info.value)
    assert renamed.exists()


def test_trash_then_undo_restores_the_run(tmp_path):
    run = _hand_run(tmp_path / "keep", "2025-01-01T10:00:00+00:00")
    trashed = trash_run(run)
    assert not run.exists() and trashed == tmp_path / TRASH / "keep"
    assert list_runs(tmp_path) == []
    restored = restore_run(trashed)
    assert restored == run and (run / "metrics.json").exists()
    assert [r.name for r in list_runs(tmp_path)] == ["keep"]


def test_undo_does_not_overwrite_a_run_saved_under_the_same_name_since(tmp_path):
    run = _hand_run(tmp_path / "same", "2025-01-01T10:00:00+00:00")
    trashed = trash_run(run)
    _hand_run(tmp_path / "same", "2026-01-01T10:00:00+00:00")
    again = trash_run(tmp_path / "same")
    assert again == tmp_path / TRASH / "same-2"  # the first one is still in the trash
    _hand_run(tmp_path / "same", "2026-02-01T10:00:00+00:00")
    assert restore_run(trashed) == tmp_path / "same-2"


def test_run_time_is_when_the_run_was_made_in_local_time():
    from datetime import timezone

    from stockapp.core.run_index import run_time

    def run_time_of(d: dict):
        return run_time(RunManifest.from_dict(d))

    when = run_time_of({"created": "2026-11-30T09:12:59+00:00"})
    assert when == datetime(2026, 11, 30, 9, 12, 59, tzinfo=timezone.utc)
    assert when.utcoffset() == datetime(2026, 11, 30, 9, 12).astimezone().utcoffset()
    assert run_time_of({}) is None and run_time_of({"created": "yesterday"}) is None
    assert run_time_of({"created": 5}) is None
