"""`stockapp backtest` end to end on a bundled sample with a tiny model, and its exit status."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.cli import main
from stockapp.core.runs import load_run
from stockapp.data import load_csv
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
    # issue 18.10: the annualisation is counted on the data's calendar and named
    assert manifest["periods_per_year"] == 252.0
    assert manifest["periods_per_year_basis"].startswith("the median count of bars in the ")
    assert f"annualised with 252 bars a year: {manifest['periods_per_year_basis']}" in printed
    # issue 18.1: the table says which side, and the metrics carry the signed verdict
    assert metrics["verdict"] in ("better", "worse", "tie")
    assert metrics["dm_variance"].startswith("Newey-West HAC")
    row = next(line for line in printed.splitlines() if line.startswith("LSTM"))
    assert f" {metrics['verdict']} " in row
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


def test_out_refuses_a_folder_of_other_files_before_any_training(tmp_path, capsys, monkeypatch):
    """Issue 18.6: --out wrote into any folder; one that holds other files is refused."""
    import stockapp.models.runner as runner

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"x")

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing the folder")

    monkeypatch.setattr(runner, "run_backtest", no_training)
    assert main(["backtest", "--sample", "AAPL", *TINY, "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"stockapp: {folder} holds files and is not a stockapp run, so nothing was written "
        "there; give a new or empty folder (an earlier run's folder is replaced whole).\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["photos"]  # nothing beside it either
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"]


def test_out_replaces_an_earlier_run_whole(tmp_path, capsys):
    """Issue 18.6: an MSFT run written over an AAPL run with --no-png kept AAPL's backtest.png;
    the folder is now written beside it and swapped in, so nothing of the earlier run is left."""
    out = tmp_path / "run"
    base = [*TINY, "--device", "cpu", "--quiet", "--out", str(out)]
    refits = ["--test-fraction", "0.05", "--refit-every", "40"]
    assert main(["backtest", "--sample", "AAPL", *refits, *base]) == 0
    assert {p.name for p in out.iterdir()} == {
        "backtest.png", "forecasts.csv", "manifest.json", "metrics.json", "model"
    }  # fmt: skip
    assert {p.name for p in (out / "model").iterdir()} == {
        "fits.json", "fits.safetensors", "model.json", "model.safetensors"
    }  # fmt: skip
    (out / "notes.txt").write_text("kept inside the earlier run")
    assert main(["backtest", "--sample", "MSFT", "--no-png", *base]) == 0
    assert {p.name for p in out.iterdir()} == {
        "forecasts.csv", "manifest.json", "metrics.json", "model"
    }  # fmt: skip
    assert {p.name for p in (out / "model").iterdir()} == {"model.json", "model.safetensors"}
    assert json.loads((out / "manifest.json").read_text())["data"]["name"] == "MSFT"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left behind
    # An empty folder is fine too.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["backtest", "--sample", "MSFT", "--no-png", *base[:-1], str(empty)]) == 0
    assert (empty / "forecasts.csv").is_file()


def test_every_file_of_a_run_gets_the_usual_mode(tmp_path):
    """Issue 18.11: metrics.json, manifest.json (and the weights) were written 0600 while the
    other files were 0644; all now get 0666 less the umask, as open() gives."""
    import os

    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        argv = ["backtest", "--sample", "MSFT", *TINY, "--device", "cpu", "--quiet", "--out",
                str(out), "--test-fraction", "0.05", "--refit-every", "60"]  # fmt: skip
        assert main(argv) == 0
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 8  # picture, table, 2 JSON, and the model's 4 files
    assert {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == {
        p.relative_to(out).as_posix(): "0o644" for p in files
    }
    assert oct(out.stat().st_mode & 0o777) == "0o755"


def _csv_from_sample(path, rows: int, samples_dir) -> pd.DataFrame:
    frame = pd.read_csv(samples_dir / "AAPL.csv").tail(rows).reset_index(drop=True)
    frame.to_csv(path, index=False)
    return frame


def test_summary_shows_direction_against_the_up_share_and_the_data_warnings(
    tmp_path, capsys, samples_dir
):
    """Issues 8.3 and 7.6: PT and "always up" in the table; what loading dropped, on one line."""
    path = tmp_path / "dup.csv"
    frame = _csv_from_sample(path, 500, samples_dir)
    pd.concat([frame, frame.iloc[[100]]]).to_csv(path, index=False)  # one duplicated date
    out = tmp_path / "run"
    code = main(["backtest", "--csv", str(path), *TINY, "--quiet", "--no-png", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    warnings = load_csv(path).report.warnings
    assert any("duplicate" in w for w in warnings)
    assert printed[1] == "data warnings: " + "; ".join(warnings)
    header = next(line for line in printed if line.startswith("forecaster"))
    assert header.split()[-6:] == ["hit", "%", "up", "%", "PT", "p"]
    _, metrics = check_run_files(out)
    model = metrics["forecasters"]["model"]
    row = next(line for line in printed if line.startswith("LSTM"))
    assert f"{model['up_share'] * 100:.1f}" in row
    assert any("always up would score" in line or "every bar it called" in line for line in printed)
    assert any(line.startswith("The trading rule") for line in printed)
    assert metrics["up_share"] == model["up_share"]


def test_no_warning_line_when_the_data_is_clean(tmp_path, capsys, samples_dir):
    path = tmp_path / "clean.csv"
    _csv_from_sample(path, 400, samples_dir)
    code = main(
        ["backtest", "--csv", str(path), *TINY, "--quiet", "--no-png", "--out", str(tmp_path / "r")]
    )
    assert code == 0
    assert not any("warnings" in line for line in capsys.readouterr().out.splitlines())


def test_an_absurd_close_never_leaks_a_numpy_warning(tmp_path, capsys, samples_dir):
    """Issue 7.5: a Close of 1e300 on one bar printed ten numpy overflow warnings and blamed
    "too few test bars". Warnings are errors in this suite, so any leak fails here."""
    path = tmp_path / "absurd.csv"
    frame = _csv_from_sample(path, 500, samples_dir)
    frame.loc[450, ["Open", "High", "Low", "Close", "Adj Close"]] = 1e300  # in the test span
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    code = main(["backtest", "--csv", str(path), *TINY, "--quiet", "--no-png", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert "Warning" not in err and "Traceback" not in err
    if code == 2:  # refused with one sentence (the data layer may reject such a price)
        assert err.count("\n") == 1
        return
    assert code == 0 and err == ""
    assert "too few" not in printed
    table, metrics = check_run_files(out)
    assert all(metrics[k] is not None for k in ("rmse", "mae", "naive_rmse"))
    # buy-and-hold ends where the closes say, bad tick or not: the product of the growths
    # r_t = realised / previous, less 5 bps of equity to enter on the first bar and to exit on
    # the last, (r_1 - c) r_2 ... (r_n - c)
    r = (table["realised"] / table["naive"]).to_numpy()
    expected = np.prod(r) * (1 - 5e-4 / r[0]) * (1 - 5e-4 / r[-1]) - 1
    assert metrics["buy_and_hold"]["total_return"] == pytest.approx(expected, rel=1e-9)


def test_hourly_bars_keep_their_time_and_name_persistence_for_bars(tmp_path, capsys):
    """Issue 7.7 end to end: an hourly CSV's run has one row per bar, timestamps included."""
    days = pd.bdate_range("2024-01-02", periods=43)
    stamps = [d + pd.Timedelta(hours=9.5 + h) for d in days for h in range(7)]
    rng = np.random.default_rng(2)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, len(stamps))))
    path = tmp_path / "hourly.csv"
    pd.DataFrame({"Date": [f"{s:%Y-%m-%d %H:%M:%S}" for s in stamps], "Close": close}).to_csv(
        path, index=False
    )
    out = tmp_path / "run"
    code = main(
        [
            "backtest",
            "--csv",
            str(path),
            *TINY,
            "--window",
            "5",
            "--quiet",
            "--no-png",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Persistence (next bar = this bar)" in printed and "tomorrow = today" not in printed
    table, metrics = check_run_files(out)
    assert table["date"].is_unique and len(table) == round(len(stamps) * 0.2)
    assert table["date"].iloc[-1] == "2024-02-29T15:30:00"
    assert metrics["last_date"] == "2024-02-29T15:30:00" and metrics["bar_size"] == "intraday"
    # 35 bars in each whole week, not 252 days x 7 bars
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["periods_per_year"] == pytest.approx(35 * 365.25 / 7)
    assert "annualised with 1,826 bars a year: 35 bars a week (the median over the " in printed
    again, _ = load_run(out)
    assert again.dates.is_unique and again.dates[-1] == stamps[-1]


def test_backtest_with_other_series_as_inputs(tmp_path, capsys):
    """Issue 24: another series (and the calendar) as inputs, recorded in the run folder."""
    out = tmp_path / "run"
    code = main(
        ["backtest", "--sample", "AAPL", "--with-sample", "^GSPC:return,range",
         "--calendar", "dow", *TINY, "--device", "cpu", "--quiet", "--no-png",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "^GSPC starts on" in printed  # the index sample starts later: one sentence
    table, metrics = check_run_files(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["feature_spec"]["features"] == [
        "log_return", "with:^GSPC:return", "with:^GSPC:range", "cal:dow"
    ]  # fmt: skip
    (cov,) = manifest["covariates"]
    assert cov["name"] == "^GSPC" and cov["features"] == ["return", "range"]
    assert cov["data_source"]["kind"] == "sample" and cov["fingerprint"]
    assert manifest["calendar"] == ["dow"]
    assert metrics["inputs"]["covariates"][0]["name"] == "^GSPC"
    assert "ridge" in table.columns and metrics["labels"]["ridge"] == "Ridge (same inputs)"
    assert "Ridge (same inputs)" in printed and manifest["backtest"]["ridge"] is True
    result, again = load_run(out)  # the run reopens
    assert again.covariates[0]["name"] == "^GSPC" and result.n == len(table)
    assert result.metrics["ridge"].rmse == pytest.approx(metrics["forecasters"]["ridge"]["rmse"])


def test_backtest_refuses_an_unknown_covariate_feature(tmp_path, capsys):
    code = main(
        ["backtest", "--sample", "MSFT", "--with-sample", "^GSPC:rnage", *TINY,
         "--out", str(tmp_path / "run")]
    )  # fmt: skip
    assert code != 0
    assert "Unknown covariate feature 'rnage'" in capsys.readouterr().err


def test_backtest_of_several_targets_with_one_network(tmp_path, capsys):
    """Issue 24: three targets, one network across them; one table, per-series metrics and the
    cross-section scores; a one-series run keeps its layout (the tests above)."""
    out = tmp_path / "run"
    code = main(
        ["backtest", "--sample", "AAPL", "--sample", "GOOG", "--sample", "SPY", "--global",
         *TINY, "--device", "cpu", "--quiet", "--no-png", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "3 series, one network across them all." in printed
    assert "LSTM ranks 3 series on" in printed and printed.count("run written to") == 1
    table = pd.read_csv(out / "forecasts.csv")
    assert list(table["series"].unique()) == ["AAPL", "GOOG", "SPY"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global"] is True and set(metrics["series"]) == {"AAPL", "GOOG", "SPY"}
    assert metrics["cross_section"]["rank_ic"]["verdict"] in ("better", "worse", "tie")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["several"] == {"series": ["AAPL", "GOOG", "SPY"], "global": True}
    result, m = load_run(out, series="GOOG")
    assert m.data_name == "GOOG" and result.n == (table["series"] == "GOOG").sum()
    assert json.loads((out / "model" / "model.json").read_text())["series"] == [
        "AAPL", "GOOG", "SPY"
    ]  # fmt: skip


def test_start_and_end_apply_to_tickers_only_with_several_targets(tmp_path, capsys):
    code = main(
        ["backtest", "--sample", "AAPL", "--sample", "GOOG", "--start", "2010-01-01",
         "--out", str(tmp_path / "run")]
    )  # fmt: skip
    assert code == 2
    assert "only apply to --ticker" in capsys.readouterr().err
