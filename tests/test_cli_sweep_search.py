"""`stockapp sweep --search`: bad searches are one line and exit 2; a random search end to end."""

from __future__ import annotations

import json
import sys

import pytest

from stockapp.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "8:64"], "--search grid tries lists of values, and hidden is a range (8:64)"),
        (["--search", "random", "--hidden", "8:64"], "--search random needs --trials N"),
        (["--trials", "3"], "--trials applies to --search random or tpe"),
        (["--search", "random", "--trials", "3", "--lr", "1e-2:1e-4"], "smaller value"),
        (["--search", "random", "--trials", "3", "--lr", "1e-4:1e-2:sqrt"], "--lr takes a range"),
        (["--search", "random", "--trials", "3", "--hidden", "8,16"], "than the 2 the values"),
        (["--search", "random", "--trials", "0"], "--trials must be at least 1"),
        (["--search", "bayes"], "invalid choice"),
    ],
)
def test_a_bad_search_exits_2_with_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--sample", "AAPL", *args, "--out", "x"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_tpe_without_optuna_names_the_install_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    argv = ["sweep", "--sample", "AAPL", "--search", "tpe", "--trials", "4", "--hidden", "8:64"]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'stockapp[tune]'" in lines[0]


def test_a_random_search_end_to_end(tmp_path, short_csv, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), "--model", "gru", "--window", "10", "--layers", "1"]
    argv += ["--hidden", "4:12", "--lr", "1e-3:1e-1:log", "--epochs", "1", "--workers", "1"]
    argv += ["--search", "random", "--trials", "2", "--search-seed", "5", "--device", "cpu"]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "random search, seed 5: every configuration it tried is counted" in text
    assert "Accounting for the 2 tried (SPA)" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["search"]["trials"] == 2 and summary["search"]["seed"] == 5
    tried = [c["settings"] for c in summary["series"][0]["configurations"]]
    assert len(tried) == 2 and all(4 <= c["hidden"] <= 12 for c in tried)
    assert all(1e-3 <= c["lr"] <= 1e-1 for c in tried)


def test_mlflow_without_mlflow_exits_2_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    argv = ["sweep", "--sample", "AAPL", "--mlflow", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'stockapp[mlflow]'" in lines[0]
    assert not (tmp_path / "x" / "runs").exists()


def test_a_sweep_logged_to_mlflow_reads_back(tmp_path, short_csv, capsys):
    pytest.importorskip("mlflow", reason="MLflow is the optional extra stockapp[mlflow]")
    from mlflow.tracking import MlflowClient

    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), "--model", "gru", "--window", "10", "--layers", "1"]
    argv += ["--hidden", "4,6", "--epochs", "1", "--workers", "1", "--device", "cpu"]
    assert main([*argv, "--mlflow", "--out", str(out)]) == 0
    assert "MLflow: 2 runs logged, 0 updated" in capsys.readouterr().out
    client = MlflowClient(tracking_uri=f"sqlite:///{(out / 'mlflow.db').resolve().as_posix()}")
    (experiment,) = [e for e in client.search_experiments() if e.name.startswith("stockapp")]
    runs = client.search_runs([experiment.experiment_id])
    keys = {r.data.tags.get("stockapp.key") for r in runs} - {None}
    assert keys == {p.name for p in (out / "runs").iterdir()}
    assert main([*argv, "--mlflow", "--out", str(out)]) == 0  # resumed: nothing logged twice
    assert "MLflow: 0 runs logged, 2 updated" in capsys.readouterr().out
    assert len(client.search_runs([experiment.experiment_id])) == 3
