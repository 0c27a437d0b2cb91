"""A distribution head's forward entries carry their bands: scored for coverage, reproduced by
verification, and a band changed afterwards is named."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import time_machine

from stockapp.core.features import FeatureSpec
from stockapp.core.ledger import chained
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_csv
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig
from stockapp.session.forward import default_ledger, record_forward
from stockapp.session.forward_verify import verify_ledger
from tests.conftest import SAMPLES


def at(day: str):
    return time_machine.travel(datetime.fromisoformat(f"{day}T22:00:00+00:00"), tick=False)


def _csv(path, through: str) -> None:
    header, *rows = (SAMPLES / "SPY.csv").read_text().splitlines()
    path.write_text("\n".join([header, *(r for r in rows if r[:10] <= through)]) + "\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bands")
    csv, folder = root / "SPY.csv", root / "run"
    _csv(csv, "2017-12-20")
    cfg = TrainConfig(hidden=4, epochs=1, seed=5, device="cpu", head="student-t")
    with at("2017-12-20"):
        series = load_csv(csv)
        # Uncalibrated: the forward record issues the model's own bands; continuing a
        # backtest's online calibration there is the session's to do (issue 22 follow-up).
        outcome = drain(run_backtest(series, FeatureSpec(window=10), cfg,
                                     BacktestSettings(test_fraction=0.01),
                                     calibration="none"))  # fmt: skip
        outcome.save(folder)
        first = record_forward(folder)
    reports = [first]
    for day in ("2017-12-21", "2017-12-22", "2017-12-26"):
        _csv(csv, day)
        with at(day):
            reports.append(record_forward(folder))
    return folder, reports


def test_bands_are_recorded_scored_and_reproduced(run):
    folder, reports = run
    saved = pd.read_csv(folder / "forecasts.csv")
    backfill = [e for e in reports[0].added if e["backfill"]]
    for key in ("lower_80", "upper_80", "lower_95", "upper_95", "mu", "sigma", "nu"):
        np.testing.assert_allclose([e["bands"][key] for e in backfill], saved[key], rtol=1e-6)
    results = {r["entry"]: r for r in reports[-1].results}
    live = [e for e in reports[-1].entries if not e["backfill"]]
    assert len(live) == 4 and all(e["bands"]["nu"] > 2 for e in live)
    for entry in live[:-1]:
        row = results[entry["hash"]]
        b = entry["bands"]
        assert row["in_80"] == (b["lower_80"] <= row["realised"] <= b["upper_80"])
    scores = reports[-1].scores
    assert scores.bands is not None and scores.bands.n == 3
    assert any("80% bands held" in line for line in scores.lines("LSTM"))
    assert verify_ledger(folder).ok


def test_a_band_changed_afterwards_is_named(run, tmp_path):
    folder, _ = run
    entries = [json.loads(line) for line in default_ledger(folder).read_text().splitlines()]
    k = len(entries) - 2
    entries[k]["bands"]["upper_80"] *= 1.001
    ledger = tmp_path / "ledger.jsonl"
    (tmp_path / "inputs").symlink_to(default_ledger(folder).parent / "inputs")
    rows = entries[:k] + chained(entries[k:], entries[k - 1]["hash"])
    ledger.write_text("".join(json.dumps(e) + "\n" for e in rows))
    report = verify_ledger(folder, ledger)
    assert f"line {k + 1} (target 2017-12-25) has bands the model does not reproduce" in (
        report.problem
    )
