"""`stockapp forward` through a CSV that grows by a bar a day, with the clock frozen: one entry per
bar, each scored when its close appears, verified; tampering and late forecasts are named; bad
input gets one line and exit 2 with the ledger untouched."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import time_machine

from stockapp.cli import main
from stockapp.core.ledger import chained
from stockapp.data import load_csv
from stockapp.models.forecaster import RecurrentForecaster
from tests.conftest import SAMPLES

TINY = ["--window", "10", "--hidden", "4", "--layers", "1", "--epochs", "1", "--seed", "3"]
FIRST = "2018-01-09"
#: Evenings (22:00 UTC, after the 16:00 New York close) of a week of daily steps; Monday the
#: 15th is Martin Luther King Jr. Day: the CSV gains no bar.
DAYS = ["2018-01-10", "2018-01-11", "2018-01-12", "2018-01-15", "2018-01-16", "2018-01-17"]


def at(day: str, hour: int = 22):
    return time_machine.travel(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00"), tick=False)


def _aapl_lines() -> tuple[str, list[str]]:
    header, *rows = (SAMPLES / "AAPL.csv").read_text().splitlines()
    return header, rows


def _write_csv(path: Path, through: str) -> None:
    header, rows = _aapl_lines()
    path.write_text("\n".join([header, *(r for r in rows if r[:10] <= through)]) + "\n")


def _forward(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["forward", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _ledger(run: Path) -> list[dict]:
    return [
        json.loads(line) for line in (run / "forward" / "ledger.jsonl").read_text().splitlines()
    ]


def _results(run: Path) -> list[dict]:
    path = run / "forward" / "ledger.results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """A tiny refitting run on AAPL through 9 January 2018, then a week of daily forward steps
    as the CSV grows; returns the run folder, the CSV and what each step printed and wrote."""
    root = tmp_path_factory.mktemp("forward")
    csv, run = root / "AAPL.csv", root / "run"
    _write_csv(csv, FIRST)
    with at(FIRST):
        code = main(
            ["backtest", "--csv", str(csv), *TINY, "--test-fraction", "0.02", "--refit-every",
             "30", "--device", "cpu", "--quiet", "--no-png", "--out", str(run)]
        )  # fmt: skip
        assert code == 0
        steps = [_step(run)]
    for day in DAYS:
        _write_csv(csv, day)
        with at(day):
            steps.append(_step(run))
    return run, csv, steps


def _step(run: Path) -> dict:
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["forward", str(run)])
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(),
            "entries": _ledger(run), "results": _results(run)}  # fmt: skip


def test_a_week_of_daily_steps_writes_one_entry_per_bar_and_scores_each(week):
    run, csv, steps = week
    assert all(s["code"] == 0 and s["err"] == "" for s in steps)
    first = steps[0]["entries"]
    # the last fit's 7 test bars (backfill, scored at once) and the next bar, 10 January
    assert [e["backfill"] for e in first] == [True] * 7 + [False]
    assert first[-1]["target_date"] == "2018-01-10" and first[-1]["data_through"] == FIRST
    assert first[-1]["issued_at"] == "2018-01-09T22:00:00+00:00"
    assert len(steps[0]["results"]) == 7
    added = [
        len(b["entries"]) - len(a["entries"]) for a, b in zip(steps[:-1], steps[1:], strict=True)
    ]
    assert added == [1, 1, 1, 0, 1, 1]  # nothing on the holiday: no new bar
    assert "no new bar since the last entry" in steps[4]["out"]
    live = [e for e in steps[-1]["entries"] if not e["backfill"]]
    assert [e["target_date"] for e in live] == [
        "2018-01-10",
        "2018-01-11",
        "2018-01-12",
        "2018-01-15",
        "2018-01-17",
        "2018-01-18",
    ]  # fmt: skip  (a CSV names no exchange: Friday's next bar is taken to be Monday)
    # each forward entry is scored when its bar's close appears, by the bar after its data
    prices = load_csv(csv).prices(True)
    results = {r["entry"]: r for r in steps[-1]["results"]}
    for entry in live[:-1]:
        row = results[entry["hash"]]
        outcome = prices.index[prices.index.get_loc(pd.Timestamp(entry["data_through"])) + 1]
        assert row["outcome_date"] == f"{outcome:%Y-%m-%d}"
        assert row["realised"] == pytest.approx(prices["Close"][outcome], rel=1e-12)
        assert row["error"] == pytest.approx(entry["forecast"] - row["realised"], rel=1e-12)
    assert results[live[3]["hash"]]["outcome_date"] == "2018-01-16"  # the holiday's forecast
    assert live[-1]["hash"] not in results  # its bar has not closed
    out = steps[-1]["out"]
    assert "Forward record: 5 bars scored, 1 awaiting its close; 7 backfill" in out
    assert "Mann-Whitney" in out and "persistence" in out


def test_the_forward_forecasts_are_what_the_backtest_made_with_the_same_model(week):
    run, csv, steps = week
    saved = pd.read_csv(run / "forecasts.csv")
    manifest = json.loads((run / "manifest.json").read_text())
    last_fit = saved[saved["date"] >= manifest["refit_dates"][-1]]
    backfill = [e for e in steps[0]["entries"] if e["backfill"]]
    assert [e["target_date"] for e in backfill] == list(last_fit["date"])
    np.testing.assert_allclose([e["forecast"] for e in backfill], last_fit["forecast"], rtol=1e-6)
    # and every forward forecast is the model's prediction from the data as it stood
    model = RecurrentForecaster.load(run / "model")
    prices = load_csv(csv).prices(True)
    for entry in (e for e in steps[-1]["entries"] if not e["backfill"]):
        end = prices.index.get_loc(pd.Timestamp(entry["data_through"]))
        made = model.predict_next(prices.iloc[: end + 1], np.array([end]))[0]
        assert entry["forecast"] == pytest.approx(made, rel=1e-6)


def test_the_ledger_verifies(week, capsys):
    run, _, _ = week
    code, out, err = _forward(capsys, str(run), "--verify")
    assert (code, err) == (0, "")
    assert "13 entries (6 forward, 7 backfill)" in out and out.rstrip().endswith("Verified.")
    assert "24:00 at UTC-12" in out  # says what a CSV's timing check compares


@pytest.fixture
def copy(week, tmp_path):
    """A copy of the run with its ledger, to tamper with."""
    run, _, _ = week
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def _rewrite(run: Path, entries: list[dict]) -> None:
    text = "".join(json.dumps(e) + "\n" for e in entries)
    (run / "forward" / "ledger.jsonl").write_text(text)


def test_an_entry_edited_by_hand_fails_verification_naming_it(copy, capsys):
    entries = _ledger(copy)
    entries[9]["forecast"] += 0.01
    _rewrite(copy, entries)
    code, out, _ = _forward(capsys, str(copy), "--verify")
    assert code == 1
    assert "line 10 (target 2018-01-12) was changed after it was written" in out


def test_reordered_entries_fail_verification_naming_the_first(copy, capsys):
    entries = _ledger(copy)
    entries[10], entries[11] = entries[11], entries[10]
    _rewrite(copy, entries)
    code, out, _ = _forward(capsys, str(copy), "--verify")
    assert code == 1 and "line 11 (target 2018-01-17) does not follow line 10" in out


def test_a_rehashed_forecast_is_not_reproduced_by_the_model(copy, capsys):
    entries = _ledger(copy)
    entries[12]["forecast"] *= 1.00001
    _rewrite(copy, entries[:12] + chained(entries[12:], entries[11]["hash"]))
    code, out, _ = _forward(capsys, str(copy), "--verify")
    assert code == 1 and "line 13 (target 2018-01-18) has the forecast" in out
    assert "but the model makes" in out


def test_a_forecast_issued_after_its_bar_closed_is_flagged(copy, capsys):
    entries = _ledger(copy)
    entries[10]["issued_at"] = "2018-01-16T12:00:00+00:00"  # its bar (the 15th) had ended
    _rewrite(copy, entries[:10] + chained(entries[10:], entries[9]["hash"]))
    code, out, _ = _forward(capsys, str(copy), "--verify")
    assert code == 1
    assert "line 11 (target 2018-01-15) was issued at 2018-01-16 12:00 UTC, after its target" in out


def test_a_forecast_made_after_its_bar_closed_is_kept_out_of_the_record(week, copy, capsys):
    _, csv, _ = week
    grown = copy.parent / "AAPL.csv"
    _write_csv(grown, "2018-01-18")
    # Monday 12:30 UTC: Friday the 19th has ended everywhere, but the file stops on Thursday
    with at("2018-01-22", 13):
        code, out, err = _forward(capsys, str(copy), "--csv", str(grown))
    assert (code, err) == (0, "")
    last = _ledger(copy)[-1]
    assert last["target_date"] == "2018-01-19" and last["backfill"] is True
    assert "had closed by the clock" in last["backfill_reason"] and "backfill:" in out
    code, out, _ = _forward(capsys, str(copy), "--verify", "--ledger",
                            str(copy / "forward" / "ledger.jsonl"))  # fmt: skip
    assert code == 0


def _untouched(run: Path):
    return (run / "forward" / "ledger.jsonl").read_bytes()


def test_bad_input_gets_one_line_exit_2_and_the_ledger_untouched(week, copy, capsys):
    _, csv, _ = week
    before = _untouched(copy)
    with at("2018-01-18"):
        code, out, err = _forward(capsys, str(copy), "--sample", "MSFT")
        assert code == 2 and "is not the run's series (AAPL)" in err
        weekly = copy.parent / "weekly.csv"
        frame = pd.read_csv(csv, index_col="Date", parse_dates=True)
        frame.resample("W-MON").last().dropna().to_csv(weekly)
        code, out, err = _forward(capsys, str(copy), "--csv", str(weekly))
        assert code == 2 and "has weekly bars but the run learned from daily bars" in err
        assert _forward(capsys, str(copy), "--verify", "--csv", str(csv))[0] == 2

    with at("2018-01-17", 12):  # earlier than the last entry (22:00 that day)
        code, out, err = _forward(capsys, str(copy))
    assert code == 2 and "earlier than the last entry" in err
    with at("2018-01-12"):  # the data runs to the 17th
        code, out, err = _forward(capsys, str(copy))
    assert code == 2 and "holds bars through 2018-01-17 but the clock says 2018-01-12" in err

    lines = before.decode().splitlines()
    edited = json.loads(lines[3])
    edited["forecast"] = 1.0
    (copy / "forward" / "ledger.jsonl").write_text(
        "\n".join([*lines[:3], json.dumps(edited), *lines[4:]]) + "\n"
    )
    hand = _untouched(copy)
    with at("2018-01-18"):
        code, out, err = _forward(capsys, str(copy))
    assert code == 2 and "line 4" in err and "left as it is" in err
    assert _untouched(copy) == hand
    (copy / "forward" / "ledger.jsonl").write_bytes(before)

    (copy / "model" / "model.safetensors").unlink()
    with at("2018-01-18"):
        code, out, err = _forward(capsys, str(copy))
    assert code == 2 and "cannot be loaded" in err
    for text in (out, err):
        assert "Traceback" not in text
    assert _untouched(copy) == before
    code, _, err = _forward(capsys, str(copy.parent / "nowhere"), "--verify")
    assert code == 2 and len(err.strip().splitlines()) == 1
