"""The Forward page's Qt-free part: reading a run's record without forecasting, the chart's
points (backfill apart from the forward record), and Verify's one sentence."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
import time_machine

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_csv
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig
from stockapp.session.forward import default_ledger, record_forward
from stockapp.session.forward_page import read_record, verify_sentence
from stockapp.session.forward_verify import verify_ledger
from tests.conftest import SAMPLES


def at(day: str):
    return time_machine.travel(datetime.fromisoformat(f"{day}T22:00:00+00:00"), tick=False)


def _csv(path, through: str) -> None:
    header, *rows = (SAMPLES / "AAPL.csv").read_text().splitlines()
    path.write_text("\n".join([header, *(r for r in rows if r[:10] <= through)]) + "\n")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    csv, folder = root / "AAPL.csv", root / "run"
    _csv(csv, "2017-12-20")
    cfg = TrainConfig(hidden=4, epochs=1, seed=3, device="cpu")
    with at("2017-12-20"):
        drain(run_backtest(load_csv(csv), FeatureSpec(window=10), cfg,
                           BacktestSettings(test_fraction=0.01))).save(folder)  # fmt: skip
    reports = []
    for day in ("2017-12-20", "2017-12-21", "2017-12-22"):
        _csv(csv, day)
        with at(day):
            reports.append(record_forward(folder))
    return folder, reports


def test_a_run_without_a_ledger_says_what_to_do(recorded, tmp_path):
    folder, _ = recorded
    record = read_record(folder, tmp_path / "none.jsonl")
    assert record.entries == [] and "Forecast now" in record.lines()[0]
    assert record.scores.scored == 0


def test_the_record_read_equals_the_one_the_job_left(recorded):
    folder, reports = recorded
    record = read_record(folder)
    last = reports[-1]
    assert record.entries == last.entries and record.results == last.results
    assert record.lines() == last.scores.lines(last.model_name)
    chart = record.chart()
    assert chart.backfill.tolist() == [e["backfill"] for e in last.entries]
    assert int((~chart.backfill).sum()) == 3  # targets 12-21, 12-22 and the next bar
    scored = {r["entry"]: r["realised"] for r in last.results}
    expected = [scored.get(e["hash"], np.nan) for e in last.entries]
    np.testing.assert_array_equal(chart.realised, expected)
    assert np.isnan(chart.realised[-1])  # its bar has not closed
    assert record.counts() == "2 forward bars scored, 1 waiting, " + (
        f"{int(chart.backfill.sum())} backfill"
    )


def test_an_edited_ledger_is_one_sentence_not_an_exception(recorded, tmp_path):
    folder, _ = recorded
    lines = default_ledger(folder).read_text().splitlines()
    entry = json.loads(lines[2])
    entry["forecast"] += 1.0
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join([*lines[:2], json.dumps(entry), *lines[3:]]) + "\n")
    record = read_record(folder, ledger)
    assert record.entries == [] and "line 3" in record.problem
    assert record.lines() == [record.problem]


def test_verify_in_one_sentence(recorded):
    folder, reports = recorded
    sentence = verify_sentence(verify_ledger(folder))
    n = len(reports[-1].entries)
    assert sentence.startswith(f"Verified: the {n} entries (3 forward, {n - 3} backfill)")
    assert "\n" not in sentence
