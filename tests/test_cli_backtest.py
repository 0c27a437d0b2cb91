"""`stockapp backtest` end to end on a bundled sample with a tiny model, and its exit status."""

from __future__ import annotations

import json

import pytest

from stockapp.cli import main
from tests.contracts import check_run_files

TINY = ["--window", "10", "--hidden", "4", "--layers", "1", "--epochs", "2", "--seed", "1"]


def test_backtest_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["backtest", "--sample", "MSFT", *TINY, "--device", "cpu", "--quiet", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Persistence (tomorrow = today)" in printed and "Diebold-Mariano" in printed
    table, metrics = check_run_files(out)
    assert len(table) == round(2553 * 0.2)
    # `naive` is the previous close and `forecast` was made the bar before.
    assert (table["naive"].iloc[1:].to_numpy() == table["realised"].iloc[:-1].to_numpy()).all()
    assert len(metrics["train"]["epoch_seconds"]) == 2
    assert metrics["train"]["device"].startswith("CPU")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["fingerprint"] and manifest["seed"] == 1
    assert manifest["train_config"]["hidden"] == 4 and "torch" in manifest["versions"]
    assert (out / "model" / "model.safetensors").is_file()
    png = (out / "backtest.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_refits_are_recorded(tmp_path):
    out = tmp_path / "run"
    code = main(
        [
            "backtest",
            "--sample",
            "INTC",
            *TINY,
            "--test-fraction",
            "0.05",
            "--refit-every",
            "40",
            "--quiet",
            "--no-png",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["refit_dates"]) == len(manifest["fits"]) == 3
    assert [f["epochs"] for f in manifest["fits"]][1:] == [1, 1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sample", "NOPE"], "There is no sample named 'NOPE'"),
        (["--sample", "AAPL", "--model", "transformer"], "invalid choice"),
        (["--sample", "AAPL", "--test-fraction", "1.5"], "test fraction must be between 0 and 1"),
        (["--sample", "AAPL", "--device", "cuda"], "CUDA"),
        (["--sample", "AAPL", "--window", "5000"], "Only"),
        (["--csv", "missing.csv"], "missing.csv"),
        (
            ["--sample", "SPY", "--window", "10", "--hidden", "4", "--layers", "1", "--lr", "1e30"],
            "The training loss became NaN",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    code = main(["backtest", *argv, "--epochs", "1", "--out", str(tmp_path / "r"), "--no-png"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_out_must_not_be_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["backtest", "--sample", "AAPL", *TINY, "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err
