"""Logging a sweep to MLflow, read back through MLflow's own client (skipped without MLflow)."""

from __future__ import annotations

import json
import sys
import time

import pytest

from stockapp.errors import StockappError
from stockapp.session.sweep_tracking import default_uri, load_mlflow, log_sweep, open_tracker


def _sweep_folder(tmp_path):
    """A sweep folder as the sweep writes it: two finished runs, one failed, the summary."""
    out = tmp_path / "sweep"
    rows = []
    for i, (status, hidden) in enumerate((("ok", 8), ("ok", 16), ("failed", 32))):
        key = f"key{i}"
        row = {
            "series": "^GSPC",
            "key": key,
            "model": "gru",
            "hidden": hidden,
            "seed": 0,
            "config": {"model": "gru", "hidden": hidden},
            "config_id": json.dumps({"hidden": hidden, "model": "gru"}),
            "status": status,
            "error": "" if status == "ok" else "Only 20 bars come before the test span.",
        }
        if status == "ok":
            row.update(
                rmse=1.0 + i,
                rmse_ratio=0.99 + i / 100,
                selection_rmse_ratio=1.01,
                dm_better_pvalue_holm=0.2,
                verdict="tie",
                dm_pvalue=float("nan"),
            )
            folder = out / "runs" / key
            folder.mkdir(parents=True)
            (folder / "metrics.json").write_text(json.dumps({"rmse": row["rmse"]}))
            (folder / "forecasts.csv").write_text("date,realised,forecast,naive\n")
            (folder / "manifest.json").write_text("{}")
        rows.append(row)
    summary = {
        "search": {"method": "random", "seed": 0},
        "series": [
            {
                "series": "^GSPC",
                "spa_pvalue": 0.4,
                "configurations_tried": 2,
                "runs": 2,
                "verdict": "Best of 2 configurations on ^GSPC: ...",
            }
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary))
    (out / "results.csv").write_text("series,key\n")
    return out, rows, summary


def test_every_run_is_logged_with_its_settings_scores_and_files(tmp_path):
    pytest.importorskip("mlflow", reason="MLflow is the optional extra stockapp[mlflow]")
    from mlflow.tracking import MlflowClient

    out, rows, summary = _sweep_folder(tmp_path)
    tracker = open_tracker(out)
    assert tracker.uri == default_uri(out) and (out / "mlflow.db").is_file()
    logged = log_sweep(tracker, rows, summary)
    assert (logged.added, logged.updated) == (3, 0)

    client = MlflowClient(tracking_uri=default_uri(out))  # MLflow's own reader
    experiment = client.get_experiment_by_name(tracker.experiment)
    runs = {
        r.data.tags.get("stockapp.key"): r for r in client.search_runs([experiment.experiment_id])
    }
    assert set(runs) == {"key0", "key1", "key2", None}  # None: the summary run
    first = runs["key0"]
    assert first.data.params["hidden"] == "8" and first.data.params["seed"] == "0"
    assert first.data.metrics["rmse_ratio"] == pytest.approx(0.99)
    assert first.data.metrics["selection_rmse_ratio"] == pytest.approx(1.01)
    assert "dm_pvalue" not in first.data.metrics  # NaN is left out, not logged as a number
    assert first.data.tags["stockapp.verdict"] == "tie" and first.info.status == "FINISHED"
    files = {a.path for a in client.list_artifacts(first.info.run_id)}
    assert files == {"metrics.json", "forecasts.csv", "manifest.json"}
    failed = runs["key2"]
    assert failed.info.status == "FAILED" and "Only 20 bars" in failed.data.tags["stockapp.error"]
    assert client.list_artifacts(failed.info.run_id) == []
    summary_run = runs[None]
    assert summary_run.data.tags["stockapp.kind"] == "summary"
    assert summary_run.data.metrics["_GSPC.spa_pvalue"] == pytest.approx(0.4)
    assert {a.path for a in client.list_artifacts(summary_run.info.run_id)} == {
        "summary.json",
        "results.csv",
    }

    # resumed: Holm moved (down: the later value wins, not the larger); nothing logged twice
    time.sleep(0.01)  # a later millisecond than the first logging's
    rows[0]["dm_better_pvalue_holm"] = 0.05
    again = log_sweep(open_tracker(out), rows, summary)
    assert (again.added, again.updated) == (0, 3)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    first = next(r for r in runs if r.data.tags.get("stockapp.key") == "key0")
    assert first.data.metrics["dm_better_pvalue_holm"] == pytest.approx(0.05)


def test_missing_mlflow_is_one_sentence_naming_the_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(StockappError, match=r"pip install 'stockapp\[mlflow\]'"):
        load_mlflow()
    with pytest.raises(StockappError, match="--mlflow needs MLflow"):
        open_tracker(tmp_path / "sweep")


def test_a_store_mlflow_refuses_is_one_sentence(tmp_path):
    pytest.importorskip("mlflow", reason="MLflow is the optional extra stockapp[mlflow]")
    with pytest.raises(StockappError, match="^MLflow could not use nosuch://x: ") as info:
        open_tracker(tmp_path / "sweep", "nosuch://x")
    assert "\n" not in str(info.value)
