"""The backtest job's manifest: which data, what loading did to it, which bars each fit used."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.data import load_csv
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig

SPEC = FeatureSpec(window=8)
CFG = TrainConfig(hidden=4, layers=1, epochs=1, batch_size=32, patience=0, device="cpu")


def _hourly_csv(path, days: int = 50, per_day: int = 7):
    rng = np.random.default_rng(1)
    stamps = [
        d + pd.Timedelta(hours=9.5 + h)
        for d in pd.bdate_range("2024-01-02", periods=days)
        for h in range(per_day)
    ]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, len(stamps))))
    frame = pd.DataFrame({"Date": [s.isoformat() for s in stamps], "Close": close})
    frame = pd.concat([frame, frame.iloc[[40]]])  # one duplicated bar, which loading removes
    frame.to_csv(path, index=False)
    return stamps


def test_manifest_keeps_the_time_of_day_and_the_quality_report(tmp_path):
    stamps = _hourly_csv(tmp_path / "hourly.csv")
    series = load_csv(tmp_path / "hourly.csv")
    settings = BacktestSettings(test_fraction=0.2, refit_every=35, refit_bars=60)
    outcome = drain(run_backtest(series, SPEC, CFG, settings))
    manifest = json.loads((outcome.save(tmp_path / "run") / "manifest.json").read_text())
    data = manifest["data"]
    assert (data["first_date"], data["last_date"]) == (
        stamps[0].isoformat(),
        stamps[-1].isoformat(),
    )
    assert manifest["data_quality"] == series.report.to_dict()
    assert manifest["data_quality"]["duplicates_removed"] == 1
    dates = series.dates
    assert len(manifest["fits"]) == 2
    for fit, start in zip(manifest["fits"], manifest["refit_dates"], strict=True):
        s = dates.get_loc(pd.Timestamp(start))
        assert fit["trained_through"] == dates[s - 1].isoformat()
        assert fit["first_test_date"] == start == dates[s].isoformat()  # hourly: time kept
        assert fit["trained_from"] == dates[SPEC.window + 1].isoformat()  # expanding
    assert manifest["backtest"]["rolling_applied"] is False
