"""The forward job on Yahoo Finance prices (yfinance's real code, Yahoo played by the fake session)
with the clock frozen: XNYS sessions name the target bars, a bar still trading is not used, the
forecasts are the backtest's, and verification checks the exchange's close."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import time_machine

from stockapp.core.data_source import DataSource
from stockapp.core.features import FeatureSpec
from stockapp.core.ledger import chained
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_ticker
from stockapp.errors import DataError
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig
from stockapp.session.forward import default_ledger, record_forward
from stockapp.session.forward_verify import verify_ledger
from tests.data.fake_yahoo import FakeYahooSession, reset_yfinance

#: (day, UTC hour) of each step after the run is saved on the evening of 9 January 2018.
STEPS = [("2018-01-10", 22), ("2018-01-11", 22), ("2018-01-12", 22), ("2018-01-16", 15),
         ("2018-01-16", 22), ("2018-01-17", 22)]  # fmt: skip


def at(day: str, hour: int):
    return time_machine.travel(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00"), tick=False)


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STOCKAPP_HOME", str(home))
        reset_yfinance()
        session = FakeYahooSession()
        folder = tmp_path_factory.mktemp("yahoo") / "run"
        with at("2018-01-09", 22):
            series = load_ticker("AAPL", start="2015-01-01", session=session)
            outcome = drain(run_backtest(
                series, FeatureSpec(window=10), TrainConfig(hidden=4, epochs=1, seed=2,
                device="cpu"), BacktestSettings(test_fraction=0.02),
            ))  # fmt: skip
            outcome.save(folder)
            reports = [record_forward(folder, session=session)]
        for day, hour in STEPS:
            with at(day, hour):
                reports.append(record_forward(folder, session=session))
        yield folder, reports, session
        reset_yfinance()


def test_xnys_sessions_name_the_bars_and_a_bar_still_trading_is_not_used(steps):
    folder, reports, _ = steps
    assert [len(r.live) for r in reports] == [1, 1, 1, 1, 0, 1, 1]
    assert reports[4].added == []  # 15:00 UTC on the 16th: its bar trades until 21:00
    live = [e for e in reports[-1].entries if not e["backfill"]]
    assert [e["target_date"] for e in live] == [
        "2018-01-10",
        "2018-01-11",
        "2018-01-12",
        "2018-01-16",
        "2018-01-17",
        "2018-01-18",
    ]  # fmt: skip  (the 15th was a holiday: the calendar knows)
    assert {e["exchange"] for e in live} == {"XNYS"}
    assert {e["source"] for e in live} == {"Yahoo Finance AAPL (1d)"}
    results = {r["entry"]: r for r in reports[-1].results}
    for entry in live[:-1]:
        assert results[entry["hash"]]["outcome_date"] == entry["target_date"]
    assert reports[-1].scores.scored == 5 and reports[-1].scores.waiting == 1


def test_the_backfill_is_the_backtest_and_the_ledger_verifies(steps):
    folder, reports, _ = steps
    saved = pd.read_csv(folder / "forecasts.csv")
    backfill = [e for e in reports[0].added if e["backfill"]]
    assert [e["target_date"] for e in backfill] == list(saved["date"])  # one fit: every test bar
    np.testing.assert_allclose([e["forecast"] for e in backfill], saved["forecast"], rtol=1e-6)
    report = verify_ledger(folder)
    assert report.ok, report.problem
    assert any("XNYS calendar (exchange_calendars)" in line for line in report.lines())


def test_verification_flags_an_entry_issued_after_the_xnys_close(steps, tmp_path):
    folder, _, _ = steps
    lines = default_ledger(folder).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    k = next(i for i, e in enumerate(entries) if e["target_date"] == "2018-01-17")
    entries[k]["issued_at"] = "2018-01-17T21:00:00+00:00"  # the minute its session closed
    ledger = tmp_path / "forward" / "ledger.jsonl"
    ledger.parent.mkdir()
    (tmp_path / "forward" / "inputs").symlink_to(default_ledger(folder).parent / "inputs")
    rows = entries[:k] + chained(entries[k:], entries[k - 1]["hash"])
    ledger.write_text("".join(json.dumps(e) + "\n" for e in rows))
    report = verify_ledger(folder, ledger)
    assert not report.ok
    assert f"line {k + 1} (target 2018-01-17) was issued at 2018-01-17 21:00 UTC" in report.problem
    assert "after its target bar closed (2018-01-17 21:00 UTC)" in report.problem


def test_weekly_bars_of_the_same_ticker_are_refused(steps):
    folder, _, session = steps
    before = default_ledger(folder).read_bytes()
    with at("2018-01-18", 22), pytest.raises(DataError, match="weekly bars but the run learned"):
        record_forward(folder, DataSource("ticker", "AAPL", "1wk"), session=session)
    with (
        at("2018-01-18", 22),
        pytest.raises(DataError, match="not named like the run's series .AAPL."),
    ):
        record_forward(folder, DataSource("ticker", "MSFT", "1d"), session=session)
    assert default_ledger(folder).read_bytes() == before
