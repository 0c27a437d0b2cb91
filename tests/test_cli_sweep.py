"""`stockapp sweep` end to end on a short CSV with tiny models, its files and its exit status."""

from __future__ import annotations

import csv
import json
import time

import pytest

from stockapp.cli import main
from stockapp.cli.sweep import parse_seeds
from stockapp.core.runs import load_run
from stockapp.core.sweep_plan import RESULT_COLUMNS

TINY = ["--model", "gru", "--hidden", "4,8", "--window", "10", "--layers", "1", "--epochs", "1"]


def test_sweep_writes_runs_results_and_summary(tmp_path, short_csv, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), *TINY, "--seeds", "0-1", "--workers", "1"]
    assert main([*argv, "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 of 4 runs finished (4 trained now), 0 failed." in printed
    assert "Best of 2 configurations on SHORT: GRU, window 10, " in printed
    assert "Accounting for the 2 tried (SPA), p " in printed
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert sorted({r["seed"] for r in rows}) == ["0", "1"]
    for r in rows:
        load_run(out / "runs" / r["key"])  # each run reopens like a `stockapp backtest` run
        assert float(r["dm_pvalue_holm"]) >= float(r["dm_pvalue"])
        # issue 18: signed verdicts, exactly these words, on the side of the errors
        assert float(r["dm_better_pvalue_holm"]) >= float(r["dm_better_pvalue"])
        assert r["verdict"] in ("better", "worse", "tie")
        assert (float(r["dm_better_pvalue"]) < 0.5) == (float(r["rmse_ratio"]) < 1.0)
        if r["verdict"] != "tie":
            assert (r["verdict"] == "better") == (float(r["rmse_ratio"]) < 1.0)
    assert "p better   Holm  vs persistence" in printed and "DM p Holm" not in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dm_variance"].startswith("Newey-West HAC (Bartlett kernel")
    entry = summary["series"][0]
    for config in entry["configurations"]:
        ens = config["ensemble_test"]
        assert ens["verdict"] in ("better", "worse", "tie")
        assert ens["dm_better_pvalue_holm"] >= ens["dm_better_pvalue"]
        assert f"{ens['verdict']}" in printed
    assert entry["configurations_tried"] == 2 and 0.0 <= entry["spa_pvalue"] <= 1.0
    assert entry["spans"].startswith("chosen on ") and ", scored on " in entry["spans"]
    assert set(entry["chosen"]) >= {"configuration", "test_rmse_ratio_mean", "ensemble_test"}
    # the same command again trains nothing
    assert main([*argv, "--device", "cpu", "--out", str(out)]) == 0
    assert "4 of 4 runs finished (0 trained now)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x"], "name what to sweep"),
        (["--sample", "AAPL", "--seeds", "4-1", "--out", "x"], "--seeds takes a range"),
        (["--sample", "AAPL", "--window", "ten", "--out", "x"], "--window takes whole numbers"),
        (["--sample", "AAPL", "--window", "1", "--out", "x"], "window must be at least 2"),
        (["--sample", "AAPL", "--model", "cnn", "--out", "x"], "Unknown model type 'cnn'"),
        (["--sample", "AAPL", "--workers", "0", "--out", "x"], "--workers must be at least 1"),
        (["--sample", "NOPE", "--out", "x"], "NOPE"),
        (["--sample", "AAPL", "--sample", "AAPL", "--out", "x"], "named twice"),
        (["--sample", "AAPL", "--ray-address", "auto", "--out", "x"], "only applies to"),
        (["--sample", "AAPL", "--test-fraction", "0.7", "--out", "x"], "take all"),
        (["--sample", "AAPL", "--engine", "spark", "--out", "x"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_parse_seeds():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("0,2,5") == (0, 2, 5)
    assert parse_seeds("3, 1-2,3") == (3, 1, 2)


FAILING = ["--model", "gru", "--hidden", "4", "--layers", "1", "--epochs", "1", "--workers", "1"]


def test_a_sweep_in_which_every_run_failed_says_why_and_exits_1(tmp_path, short_csv, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), *FAILING, "--window", "5000", "--seeds", "0-1"]
    assert main([*argv, "--device", "cpu", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["failed", "failed"]
    reason = rows[0]["error"]
    assert reason and rows[1]["error"] == reason
    assert "0 of 2 runs finished (0 trained now), 2 failed." in captured.out
    # the reason is said once for both runs, with their count
    assert f"2 runs failed on SHORT: {reason}" in captured.out
    assert captured.out.count(reason) == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "none of the 2 runs finished" in lines[0]


def test_a_sweep_with_some_failed_runs_names_their_reason_and_exits_0(tmp_path, short_csv, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), *FAILING, "--window", "10,5000"]
    assert main([*argv, "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 of 2 runs finished (1 trained now), 1 failed." in printed
    assert "1 run failed on SHORT: Only " in printed


def test_a_ray_address_where_nothing_answers_exits_2_at_once(tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'stockapp[ray]'")
    argv = ["sweep", "--sample", "AAPL", *FAILING, "--window", "10", "--engine", "ray"]
    started = time.perf_counter()
    code = main([*argv, "--ray-address", "127.0.0.1:1", "--out", str(tmp_path / "sweep")])
    assert time.perf_counter() - started < 30
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        "stockapp: No Ray cluster answers at 127.0.0.1:1 (connection refused); start one there "
        "with 'ray start --head', check the address, or leave it empty to run Ray on this "
        "machine."
    ]
