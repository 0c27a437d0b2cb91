"""Run folders: saving then reopening gives the same numbers; broken folders give one sentence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.core.backtest import assemble_result
from stockapp.core.manifest import RunManifest
from stockapp.core.runs import load_run, save_run
from stockapp.core.trading import TradingRule
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import BacktestError
from tests.contracts import check_run_files
from tests.core.test_walkforward import _prices, _run


@pytest.fixture
def result():
    settings = BacktestSettings(refit_every=25, rule=TradingRule(mode="long_short", cost_bps=7.5))
    res, _, _ = _run(_prices(), settings)
    return res


def test_save_then_open_gives_the_same_numbers(tmp_path, result):
    saved = []
    folder = save_run(
        tmp_path / "run",
        result,
        RunManifest(periods_per_year=252.0, seed=3),
        save_model=lambda p: saved.append(p),
        model_name="LSTM",
    )
    # The model is written into the run as it is being put together beside the target, then
    # swapped in with the rest (a hidden sibling, so a crash leaves no half run in listings).
    assert [p.name for p in saved] == ["model"]
    assert saved[0].parent.parent == folder.parent and saved[0].parent.name.startswith(".run.")
    assert not saved[0].parent.exists()
    table, metrics = check_run_files(folder)
    assert len(table) == result.n
    assert metrics["train"]["epoch_seconds"] == [0.01]

    again, manifest = load_run(folder)
    assert manifest.seed == 3 and manifest.model_name == "LSTM"
    assert again.rule == result.rule
    assert again.refit_dates == result.refit_dates
    for key in result.metrics:
        assert again.metrics[key].to_dict() == result.metrics[key].to_dict()
    assert again.strategy.stats.to_dict() == result.strategy.stats.to_dict()
    np.testing.assert_array_equal(again.forecasts["model"], result.forecasts["model"])
    assert again.metrics_dict("LSTM") == result.metrics_dict("LSTM")


def test_broken_run_folders_give_one_sentence(tmp_path, result):
    with pytest.raises(BacktestError, match="does not exist"):
        load_run(tmp_path / "nope")
    folder = save_run(tmp_path / "run", result, RunManifest())
    (folder / "forecasts.csv").unlink()
    with pytest.raises(BacktestError, match="it has no forecasts.csv"):
        load_run(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(BacktestError, match="manifest.json is damaged"):
        load_run(folder)
    folder2 = save_run(tmp_path / "run2", result, RunManifest())
    (folder2 / "forecasts.csv").write_text("date,realised\n2020-01-01,1\n")
    with pytest.raises(BacktestError, match="lacks the column forecast"):
        load_run(folder2)


def test_intraday_bars_keep_their_time_of_day_through_save_and_reopen(tmp_path):
    """Issue 7.7: an hourly run (84 bars) wrote 72 duplicate dates and reopened them."""
    days = pd.bdate_range("2024-01-02", periods=12)
    dates = pd.DatetimeIndex([d + pd.Timedelta(hours=9.5 + h) for d in days for h in range(7)])
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, 85)))
    previous, realised = close[:-1], close[1:]
    forecasts = {
        "model": previous * np.exp(rng.normal(0, 0.002, 84)),
        "persistence": previous,
        "drift": previous * 1.0001,
        "ar": previous * np.exp(rng.normal(0, 0.001, 84)),
    }
    refits = [dates[0], dates[31]]  # a refit in the middle of a day
    ppy = 252.0 * 7
    result = assemble_result(dates, realised, previous, forecasts, TradingRule(), refits, [], ppy)
    folder = save_run(tmp_path / "hourly", result, RunManifest(periods_per_year=ppy))

    table = pd.read_csv(folder / "forecasts.csv")
    assert table["date"].is_unique and len(table) == 84
    assert table["date"].iloc[0] == "2024-01-02T09:30:00"
    assert table["segment"].tolist() == [0] * 31 + [1] * 53
    metrics = json.loads((folder / "metrics.json").read_text())
    assert (metrics["first_date"], metrics["last_date"]) == (
        "2024-01-02T09:30:00",
        "2024-01-17T15:30:00",
    )
    assert metrics["labels"]["persistence"] == "Persistence (next bar = this bar)"
    assert metrics["bar_size"] == "intraday"

    again, _ = load_run(folder)
    assert again.dates.equals(dates) and again.refit_dates == refits
    np.testing.assert_array_equal(again.segment_ids(), result.segment_ids())
    assert again.metrics_dict() == result.metrics_dict()


def test_a_run_with_a_forward_record_is_not_replaced(tmp_path, result):
    """Its ledger names the model's weights: a new run over it would orphan the record."""
    manifest = RunManifest.from_dict({"data": {"name": "SYN"}})
    folder = save_run(tmp_path / "run", result, manifest, None, "LSTM")
    ledger = folder / "forward" / "ledger.jsonl"
    ledger.parent.mkdir()
    ledger.write_bytes(b'{"hash": "x"}\n')
    with pytest.raises(BacktestError, match="forward record"):
        save_run(folder, result, manifest, None, "LSTM")
    assert ledger.read_bytes() == b'{"hash": "x"}\n'
