"""`stockapp sweep` with other series and the calendar as inputs (issue 24.1): every run reads
them as `stockapp backtest` does, resuming never mixes runs made with other inputs, and a bad
input is one line and exit 2."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from stockapp.cli import main

TINY = ["--model", "gru", "--hidden", "8", "--window", "10", "--layers", "1", "--epochs", "2"]
INPUTS = ["--with-sample", "SPY:return,range", "--calendar", "dow"]


def _rows(out) -> list[dict]:
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_sweep_run_with_inputs_forecasts_as_the_backtest_command_does(
    tmp_path, short_csv, capsys
):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), *TINY, "--workers", "1", "--device", "cpu"]
    assert main([*argv, *INPUTS, "--out", str(out)]) == 0
    assert "1 of 1 runs finished (1 trained now), 0 failed." in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    (cov,) = summary["inputs"]["covariates"]
    assert cov["name"] == "SPY" and cov["features"] == ["return", "range"]
    assert cov["fingerprint"] and cov["data_source"]["kind"] == "sample"
    assert summary["inputs"]["calendar"] == ["dow"]
    (row,) = _rows(out)
    run = out / "runs" / row["key"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["covariates"][0]["name"] == "SPY" and manifest["calendar"] == ["dow"]
    assert manifest["feature_spec"]["features"] == [
        "log_return", "with:SPY:return", "with:SPY:range", "cal:dow"
    ]  # fmt: skip

    # the backtest command with the same settings and inputs, from the selection span on
    start = summary["series"][0]["selection_span"]["selection_from"]
    back = tmp_path / "run"
    code = main(
        ["backtest", "--csv", str(short_csv), *TINY, *INPUTS, "--seed", "0", "--test-start",
         start, "--device", "cpu", "--quiet", "--no-png", "--out", str(back)]
    )  # fmt: skip
    assert code == 0
    swept, backtested = pd.read_csv(run / "forecasts.csv"), pd.read_csv(back / "forecasts.csv")
    assert list(swept["date"]) == list(backtested["date"])
    np.testing.assert_array_equal(swept["forecast"], backtested["forecast"])


def test_resuming_with_other_inputs_runs_again_and_never_mixes_them_in(tmp_path, short_csv, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--csv", str(short_csv), *TINY, "--epochs", "1", "--workers", "1"]
    argv += ["--device", "cpu", "--out", str(out)]
    assert main(argv) == 0  # the target's own past only
    plain = {r["key"] for r in _rows(out)}
    capsys.readouterr()
    assert main([*argv, "--with-sample", "SPY"]) == 0
    printed = capsys.readouterr().out
    assert "1 of 1 runs finished (1 trained now)" in printed
    assert "The sweep written here before read other inputs (none, now SPY:return); " in printed
    with_spy = {r["key"] for r in _rows(out)}
    assert len(with_spy) == 1 and with_spy.isdisjoint(plain)
    assert main([*argv, "--with-sample", "SPY"]) == 0  # the same inputs again: resumed
    printed = capsys.readouterr().out
    assert "1 of 1 runs finished (0 trained now)" in printed and "other inputs" not in printed
    for other in (["--with-sample", "SPY:range"], ["--with-sample", "SPY", "--calendar", "dow"]):
        assert main([*argv, *other]) == 0, other  # other features, or a calendar: new runs
        assert "1 of 1 runs finished (1 trained now)" in capsys.readouterr().out, other
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"]["calendar"] == ["dow"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--with-sample", "NOPE"], "There is no sample named 'NOPE'"),
        (["--with-csv", "missing.csv"], "missing.csv does not exist"),
        (["--with-csv", "garbage.csv"], "garbage.csv is not a text CSV file"),
        (["--with-sample", "SPY:rnage"], "Unknown covariate feature 'rnage'"),
        (["--with-sample", "SPY", "--with-sample", "SPY"], "named twice"),
        (["--calendar", "weekday"], "Unknown calendar input"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.csv").write_bytes(b"\x00\x01 not prices\n\x02")
    argv = ["sweep", "--sample", "AAPL", *TINY, "--device", "cpu", "--out", "x"]
    assert main([*argv, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "x" / "runs").exists()  # refused before anything ran
