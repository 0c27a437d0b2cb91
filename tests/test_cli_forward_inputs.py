"""`stockapp forward` and `stockapp explain` on a run made with another series and the calendar
as inputs: the inputs are loaded again from the run's manifest and aligned as in training, the
forward forecast reads the other series' bars dated before its bar only, `--verify` reproduces
it, and an input that cannot be loaded again is one sentence with the ledger untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockapp.cli import main
from tests.conftest import SAMPLES

TINY = ["--model", "gru", "--hidden", "8", "--layers", "1", "--window", "10", "--epochs", "2",
        "--seed", "3", "--device", "cpu", "--quiet", "--no-png"]  # fmt: skip
INPUTS = ["with:SPY:return", "cal:dow"]


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """A tiny GRU run on the AAPL sample with SPY's log return and the day of the week."""
    run = tmp_path_factory.mktemp("inputs") / "run"
    code = main(["backtest", "--sample", "AAPL", "--with-sample", "SPY:return", "--calendar",
                 "dow", *TINY, "--test-fraction", "0.02", "--out", str(run)])  # fmt: skip
    assert code == 0
    return run


def test_forward_repeats_the_backtest_of_a_run_with_inputs_and_verifies(sampled, capsys):
    code, out, err = _cli(capsys, "forward", str(sampled))
    assert (code, err) == (0, ""), err
    entries = _entries(sampled / "forward" / "ledger.jsonl")
    # the last fit's test bars repeat the backtest's forecasts, read with the same inputs
    saved = pd.read_csv(sampled / "forecasts.csv")
    assert [e["target_date"] for e in entries[:-1]] == list(saved["date"])
    np.testing.assert_allclose([e["forecast"] for e in entries[:-1]], saved["forecast"], rtol=1e-6)
    last = entries[-1]
    assert (last["data_through"], last["target_date"]) == ("2018-01-19", "2018-01-22")
    # each entry names the other series and the fingerprint of its bars the forecast could read
    (spy,) = last["covariates"]
    assert spy["name"] == "SPY" and spy["source"] == "sample SPY" and len(spy["fingerprint"]) == 64
    snapshot = json.loads((sampled / "forward" / "inputs" / f"{last['inputs']}.json").read_text())
    assert snapshot["columns"][-2:] == INPUTS  # the other series' data enter the inputs' hash
    code, out, err = _cli(capsys, "forward", str(sampled), "--verify")
    assert (code, err) == (0, "") and out.rstrip().endswith("Verified."), out


def test_explain_names_the_inputs_of_a_run_made_with_them(sampled, tmp_path, capsys):
    saved = pd.read_csv(sampled / "forecasts.csv")
    date = saved["date"].iloc[5]
    code, out, err = _cli(capsys, "explain", str(sampled), "--date", date, "--out",
                          str(tmp_path), "--no-png")  # fmt: skip
    assert (code, err) == (0, ""), err
    table = pd.read_csv(tmp_path / "attribution.csv")
    assert set(table["feature"]) == {"log_return", *INPUTS}
    assert np.isfinite(table["attribution"]).all()
    shown = json.loads((tmp_path / "explain.json").read_text())
    assert shown["forecast_price"] == pytest.approx(saved["forecast"].iloc[5], rel=1e-5)


# ---------------------------------------------------------------- a CSV that grows after the run
RUN_END, DATA_END, NEXT_BAR = "2017-06-15", "2017-06-30", "2017-07-03"


def _write(path: Path, sample: str, through: str, scale_from=None, scale_to=None) -> None:
    """The sample's rows through ``through``; prices of rows dated ``scale_from`` ..
    ``scale_to`` multiplied by 1.1 (another market's moves)."""
    frame = pd.read_csv(SAMPLES / f"{sample}.csv", index_col="Date")
    frame = frame[frame.index <= through]
    if scale_from is not None:
        rows = (frame.index >= scale_from) & (frame.index <= (scale_to or "9999"))
        for column in ("Open", "High", "Low", "Close", "Adj Close"):
            frame.loc[rows, column] *= 1.1
    frame.to_csv(path)


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A tiny run on AAPL and SPY CSVs through 15 June 2017; then AAPL's file grows to 30 June."""
    root = tmp_path_factory.mktemp("grown")
    target, other, run = root / "AAPL.csv", root / "SPY.csv", root / "run"
    _write(target, "AAPL", RUN_END)
    _write(other, "SPY", RUN_END)
    code = main(["backtest", "--csv", str(target), "--with-csv", str(other), "--calendar",
                 "dow", *TINY, "--test-fraction", "0.02", "--out", str(run)])  # fmt: skip
    assert code == 0
    _write(target, "AAPL", DATA_END)
    return run, other


def _next_forecast(capsys, run: Path, ledger: Path) -> dict:
    code, _, err = _cli(capsys, "forward", str(run), "--ledger", str(ledger))
    assert (code, err) == (0, ""), err
    last = _entries(ledger)[-1]
    assert (last["data_through"], last["target_date"]) == (DATA_END, NEXT_BAR)
    return last


def test_the_next_forecast_reads_the_other_series_before_its_bar_only(grown, tmp_path, capsys):
    run, other = grown
    _write(other, "SPY", "2017-07-14")  # the other series has bars after the target's last
    base = _next_forecast(capsys, run, tmp_path / "base.jsonl")
    # its bars on and after the forecast bar's date change: the forecast does not
    _write(other, "SPY", "2017-07-14", scale_from=NEXT_BAR)
    later = _next_forecast(capsys, run, tmp_path / "later.jsonl")
    assert later["forecast"] == base["forecast"] and later["covariates"] == base["covariates"]
    # its bar of the target's last data date (before the forecast bar) changes: the forecast does
    _write(other, "SPY", "2017-07-14", scale_from=DATA_END, scale_to=DATA_END)
    before = _next_forecast(capsys, run, tmp_path / "before.jsonl")
    assert before["forecast"] != pytest.approx(base["forecast"], rel=1e-9, abs=0)
    assert before["covariates"] != base["covariates"]
    code, out, _ = _cli(capsys, "forward", str(run), "--verify", "--ledger",
                        str(tmp_path / "before.jsonl"))  # fmt: skip
    assert code == 0 and out.rstrip().endswith("Verified."), out


def _refused(capsys, run: Path, ledger: Path, words: str) -> None:
    old = ledger.read_bytes() if ledger.exists() else None
    code, out, err = _cli(capsys, "forward", str(run), "--ledger", str(ledger))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert words in err, err
    assert (ledger.read_bytes() if ledger.exists() else None) == old


def test_an_input_changed_or_moved_is_one_sentence_and_the_ledger_is_untouched(
    grown, tmp_path, capsys
):
    run, other = grown
    ledger = tmp_path / "ledger.jsonl"
    _write(other, "SPY", DATA_END)
    _next_forecast(capsys, run, ledger)
    _write(other, "SPY", DATA_END, scale_from="2017-05-01", scale_to="2017-05-01")
    _refused(capsys, run, ledger, "SPY.csv, an input of the run, have changed since the run")
    other.unlink()
    _refused(capsys, run, ledger, f"input SPY cannot be loaded again from CSV {other}")
    # explain reproduces the run's own forecasts: every input must be the very data it read
    target, out = other.with_name("AAPL.csv"), str(tmp_path / "ex")
    _write(target, "AAPL", RUN_END)
    _write(other, "SPY", DATA_END)
    code, _, err = _cli(capsys, "explain", str(run), "--out", out, "--no-png")
    assert code == 2 and err.count("\n") == 1, err
    assert "SPY.csv, an input of the run, have changed since the run was made" in err
    _write(other, "SPY", RUN_END)
    assert main(["explain", str(run), "--out", out, "--no-png"]) == 0
    _write(target, "AAPL", DATA_END)


def test_an_input_ticker_with_no_network_is_one_sentence(grown, tmp_path, monkeypatch):
    from stockapp.errors import DataError
    from stockapp.session.forward import record_forward
    from tests.data.fake_yahoo import FakeYahooSession, reset_yfinance

    run, _ = grown
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["covariates"][0]["data_source"] = {"kind": "ticker", "where": "SPY",
                                                "interval": "1d", "adjusted": True}  # fmt: skip
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("STOCKAPP_HOME", str(tmp_path / "home"))
    reset_yfinance()
    ledger = tmp_path / "ledger.jsonl"
    with pytest.raises(DataError, match="input SPY cannot be loaded again from Yahoo Finance SPY"):
        record_forward(copy, ledger=ledger, session=FakeYahooSession("offline"))
    assert not ledger.exists()
    reset_yfinance()
