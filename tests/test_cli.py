"""The command line: reports on stdout, exactly one line on stderr and status 2 for bad input."""

from __future__ import annotations

import functools
import subprocess
import sys
import types
from pathlib import Path

import pytest

from stockapp import cli
from stockapp.data.yahoo import load_ticker
from stockapp.session import loading as cli_loading  # the loader the CLI and window share
from tests.data.fake_yahoo import FakeYahooSession, reset_yfinance

ROOT = Path(__file__).resolve().parent.parent


def _run(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def _fails(capsys, *argv: str) -> str:
    """Run a command that must fail; return its single stderr line."""
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert out == []
    assert len(err) == 1, err
    assert "Traceback" not in err[0] and not err[0].startswith("usage:")
    return err[0]


@pytest.fixture
def fake_yahoo(monkeypatch):
    """Route the CLI's ticker loads through a fake Yahoo; returns a function to pick its mode."""
    reset_yfinance()

    def use(mode: str = "ok") -> FakeYahooSession:
        session = FakeYahooSession(mode)
        monkeypatch.setattr(
            cli_loading, "load_ticker", functools.partial(load_ticker, session=session)
        )
        return session

    yield use
    reset_yfinance()


def test_data_sample(capsys):
    status, out, err = _run(capsys, "data", "--sample", "AAPL")
    assert status == 0
    assert err == []
    assert out == [
        "AAPL: sample AAPL",
        "columns: Open, High, Low, Close, Adj Close, Volume",
        "rows: 3379",
        "first date: 2004-08-19",
        "last date: 2018-01-19",
        "warnings: none",
    ]


def test_data_sample_with_warnings(capsys):
    status, out, _ = _run(capsys, "data", "--sample", "spy")
    assert status == 0
    assert out[-1] == "warnings: 2 rows with Open/High/Low inconsistent with Close"


def test_data_csv(capsys, aapl_csv):
    status, out, _ = _run(capsys, "data", "--csv", str(aapl_csv))
    assert status == 0
    assert out[0] == f"AAPL: CSV {aapl_csv}"
    assert out[2:5] == ["rows: 3379", "first date: 2004-08-19", "last date: 2018-01-19"]


def test_data_csv_missing(capsys, tmp_path):
    path = tmp_path / "gone.csv"
    message = _fails(capsys, "data", "--csv", str(path))
    assert message == f"stockapp: CSV file {path} does not exist."


def test_data_csv_too_short(capsys, tmp_path, aapl_csv):
    path = tmp_path / "short.csv"
    path.write_text("\n".join(aapl_csv.read_text().splitlines()[:13]))
    assert _fails(capsys, "data", "--csv", str(path)) == (
        f"stockapp: {path} has only 12 price rows; at least 30 are needed."
    )


def test_data_unknown_sample(capsys):
    assert _fails(capsys, "data", "--sample", "TSLA") == (
        "stockapp: There is no sample named 'TSLA'; "
        "the samples are: AAPL, GOOG, ^GSPC, INTC, MSFT, SPY."
    )


def test_data_ticker(capsys, fake_yahoo):
    session = fake_yahoo()
    status, out, err = _run(
        capsys, "data", "--ticker", "msft", "--start", "2018-01-01", "--end", "2019-01-01"
    )
    assert (status, err) == (0, [])
    assert out[0] == "MSFT: Yahoo Finance MSFT (1d)"
    assert out[2:5] == ["rows: 251", "first date: 2018-01-02", "last date: 2018-12-31"]
    assert session.price_requests[0]["interval"] == "1d"


def test_data_ticker_weekly(capsys, fake_yahoo):
    session = fake_yahoo()
    status, out, _ = _run(
        capsys, "data", "--ticker", "MSFT", "--start", "2018-01-01", "--interval", "1wk"
    )
    assert status == 0
    assert out[0] == "MSFT: Yahoo Finance MSFT (1wk)"
    assert out[3] == "first date: 2018-01-01"
    assert session.price_requests[0]["interval"] == "1wk"


def test_data_ticker_offline(capsys, fake_yahoo):
    fake_yahoo("offline")
    assert _fails(capsys, "data", "--ticker", "MSFT") == (
        "stockapp: Could not download MSFT: there is no network connection to Yahoo Finance; "
        "check the connection and try again."
    )


def test_data_ticker_unknown(capsys, fake_yahoo):
    fake_yahoo()
    assert _fails(capsys, "data", "--ticker", "NOPE", "--start", "2018-01-01") == (
        "stockapp: Yahoo Finance has no data for ticker 'NOPE'; check the symbol."
    )


def test_data_ticker_with_a_space(capsys, fake_yahoo):
    session = fake_yahoo()
    assert _fails(capsys, "data", "--ticker", "AA PL").startswith(
        "stockapp: 'AA PL' is not a ticker symbol;"
    )
    assert session.urls == []


def test_samples(capsys):
    status, out, _ = _run(capsys, "samples")
    assert status == 0
    assert out[0].split() == ["name", "first", "last", "rows", "description"]
    assert [line.split()[:4] for line in out[1:]] == [
        ["AAPL", "2004-08-19", "2018-01-19", "3379"],
        ["GOOG", "2004-08-19", "2018-01-19", "3379"],
        ["^GSPC", "2008-12-31", "2019-02-22", "2553"],
        ["INTC", "1995-01-03", "2004-04-08", "2335"],
        ["MSFT", "2008-12-31", "2019-02-22", "2553"],
        ["SPY", "2007-12-31", "2017-12-29", "2519"],
    ]
    assert out[1].endswith("from matplotlib/mplfinance")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data"], "stockapp data: one of the arguments --sample --csv --ticker is required"),
        (
            ["data", "--sample", "AAPL", "--csv", "x.csv"],
            "stockapp data: argument --csv: not allowed with argument --sample",
        ),
        (["data", "--sample"], "stockapp data: argument --sample: expected one argument"),
        (
            ["data", "--sample", "AAPL", "--start", "2010-01-01"],
            "stockapp data: --start, --end and --interval only apply to --ticker",
        ),
        (
            ["data", "--ticker", "AAPL", "--interval", "1h"],
            "stockapp data: argument --interval: invalid choice: '1h' (choose from '1d', '1wk')",
        ),
        (
            ["bogus"],
            "stockapp: argument COMMAND: invalid choice: 'bogus' "
            "(choose from 'gui', 'data', 'samples', 'backtest', 'sweep', 'explain', 'forward')",
        ),
        (["samples", "--extra"], "stockapp: unrecognized arguments: --extra"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, message):
    assert _fails(capsys, *argv) == message


def test_help_exits_zero(capsys):
    status, out, _ = _run(capsys, "data", "--help")
    assert status == 0
    assert out[0].startswith("usage: stockapp data")


@pytest.fixture
def fake_gui(monkeypatch):
    """Stand in for stockapp.gui.app so launching costs no window; records run()'s arguments."""
    calls = []
    module = types.ModuleType("stockapp.gui.app")

    def run(sample=None, csv=None, ticker=None):
        calls.append({"sample": sample, "csv": csv, "ticker": ticker})
        return 7

    module.run = run
    monkeypatch.setitem(sys.modules, "stockapp.gui.app", module)
    return calls


def test_no_command_opens_the_window(fake_gui):
    assert cli.main([]) == 7
    assert fake_gui == [{"sample": None, "csv": None, "ticker": None}]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["gui"], {"sample": None, "csv": None, "ticker": None}),
        (["gui", "--sample", "MSFT"], {"sample": "MSFT", "csv": None, "ticker": None}),
        (["gui", "--csv", "a.csv"], {"sample": None, "csv": "a.csv", "ticker": None}),
        (["gui", "--ticker", "ibm"], {"sample": None, "csv": None, "ticker": "ibm"}),
    ],
)
def test_gui_command_passes_the_source(fake_gui, argv, expected):
    assert cli.main(argv) == 7
    assert fake_gui == [expected]


def test_python_dash_m_bad_input_is_one_stderr_line(tmp_path):
    path = tmp_path / "gone.csv"
    done = subprocess.run(
        [sys.executable, "-m", "stockapp", "data", "--csv", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"stockapp: CSV file {path} does not exist.\n"


def _ambiguous_monthly_csv(tmp_path: Path) -> Path:
    """Monthly closes dated 01/02/1999, 01/03/1999, ...: every date reads both ways."""
    import pandas as pd

    months = pd.date_range("1999-02-01", periods=40, freq="MS")
    path = tmp_path / "monthly.csv"
    rows = [f"{d:%d/%m/%Y},{100 + i}" for i, d in enumerate(months)]
    path.write_text("Date,Close\n" + "\n".join(rows) + "\n")
    return path


def test_dayfirst_and_monthfirst_choose_how_a_csv_is_read(capsys, tmp_path):
    """Issue 7.4: the reading of ambiguous dates can be forced from the command line."""
    path = _ambiguous_monthly_csv(tmp_path)
    status, out, err = _run(capsys, "data", "--csv", str(path), "--dayfirst")
    assert status == 0 and err == [] and "first date: 1999-02-01" in out
    status, out, err = _run(capsys, "data", "--csv", str(path), "--monthfirst")
    assert status == 0 and err == [] and "first date: 1999-01-02" in out
    message = _fails(capsys, "data", "--sample", "AAPL", "--dayfirst")
    assert "--dayfirst and --monthfirst only apply to --csv" in message
    message = _fails(capsys, "data", "--csv", str(path), "--dayfirst", "--monthfirst")
    assert "not allowed with argument" in message


def test_backtest_accepts_dayfirst(capsys, tmp_path, monkeypatch):
    seen = []

    def fake_load_csv(path, dayfirst=None):
        seen.append(dayfirst)
        raise cli.StockappError("stop here")

    monkeypatch.setattr(cli_loading, "load_csv", fake_load_csv)
    path = _ambiguous_monthly_csv(tmp_path)
    for flag, expected in (("--dayfirst", True), ("--monthfirst", False)):
        _fails(capsys, "backtest", "--csv", str(path), flag, "--out", str(tmp_path / "r"))
        assert seen[-1] is expected


def test_a_reader_that_goes_away_gets_no_traceback():
    """``stockapp samples | head -1`` ends quietly: no BrokenPipeError traceback on stderr."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from stockapp.cli import main; sys.exit(main())",
         "samples"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_every_option_of_every_command_says_what_it_does():
    """``--batch-size`` and ``--seed`` once showed in ``--help`` with no words at all."""
    import argparse

    parser = cli.build_parser()
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += [
                    f"{name} {'/'.join(a.option_strings)}"
                    for a in sub._actions
                    if a.option_strings and not a.help
                ]
    assert missing == []
