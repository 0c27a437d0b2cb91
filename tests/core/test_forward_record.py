"""Scoring a forward record: hand-worked results rows, the backtest's scores on the forward bars,
the comparison with the backtest (scipy's Mann-Whitney), and the issued-before-close check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stockapp.core.exchange import BarClock
from stockapp.core.forward_record import (
    band_levels,
    compare_with_backtest,
    forward_scores,
    frame_from_record,
    frame_record,
    score_entry,
    timing_problem,
    window_hash,
)
from stockapp.core.metrics import forecast_metrics


def _entry(h: str, forecast: float, last: float = 100.0, backfill: bool = False, **kw) -> dict:
    return {"hash": h, "target_date": "2018-01-16", "forecast": forecast, "last_close": last,
            "backfill": backfill, "bands": None, **kw}  # fmt: skip


def test_a_results_row_worked_by_hand():
    bands = band_levels(0.0, 0.01, None, 100.0)
    # the 80% band of N(0, 0.01) is exp(+-1.2816 * 0.01) around the last close
    assert bands["upper_80"] == pytest.approx(100 * math.exp(0.0128155), rel=1e-6)
    row = score_entry(_entry("h", 101.0, bands=bands), "2018-01-16", math.log(1.02), "now")
    assert row["entry"] == "h" and row["outcome_date"] == "2018-01-16"
    assert row["realised"] == pytest.approx(102.0)
    assert row["error"] == pytest.approx(-1.0) and row["persistence_error"] == pytest.approx(-2.0)
    assert row["direction_hit"] is True
    assert row["in_80"] is False and row["in_95"] is False  # a 2% move is beyond 1.96 sigma
    flat = score_entry(_entry("h", 100.0), "2018-01-16", 0.01, "now")
    assert flat["direction_hit"] is None and flat["in_80"] is None


def test_prices_round_trip_and_the_data_hash_sees_only_its_window():
    idx = pd.date_range("2018-01-01", periods=8, freq="B", name="Date")
    frame = pd.DataFrame({"Close": np.linspace(100, 107, 8) / 3, "Volume": 1e7}, index=idx)
    back = frame_from_record(frame_record(frame))
    pd.testing.assert_frame_equal(back, frame, check_freq=False)
    # an input column's first row is not a number (no window reads it): kept as null
    frame["with:SPY:return"] = [np.nan, *np.linspace(-0.01, 0.01, 7)]
    record = frame_record(frame)
    assert record["rows"][0][-1] is None and window_hash(frame, 7, 7)
    pd.testing.assert_frame_equal(frame_from_record(record), frame, check_freq=False)
    frame = frame.drop(columns="with:SPY:return")
    h = window_hash(frame, 5, 3)  # rows 2..5
    later = frame.copy()
    later.iloc[6:, 0] *= 2  # the future moves: the hash does not
    assert window_hash(later, 5, 3) == h
    earlier = frame.copy()
    earlier.iloc[2, 0] += 1e-9
    assert window_hash(earlier, 5, 3) != h


def test_the_comparison_is_scipys_mann_whitney_and_worked_by_hand():
    # every forward error above both backtest errors: U = 6 of 3 x 2, P(U = 6) = 1/10 under
    # the null, so the two-sided exact p is 0.2
    c = compare_with_backtest(np.array([0.03, -0.04, 0.05]), np.array([0.01, -0.02]), 1.1, 1.0)
    assert c.pvalue == pytest.approx(0.2)
    assert "consistent with the backtest's" in c.sentence()
    rng = np.random.default_rng(0)
    fwd, bt = rng.normal(0, 0.03, 40), rng.normal(0, 0.01, 400)
    c = compare_with_backtest(fwd, bt, 1.3, 1.0)
    assert c.pvalue == stats.mannwhitneyu(np.abs(fwd), np.abs(bt)).pvalue
    assert "significantly larger" in c.sentence()
    assert "significantly smaller" in compare_with_backtest(bt[:40], fwd, 1, 1).sentence()
    assert "Too few forward bars (1)" in compare_with_backtest(fwd[:1], bt, 1, 1).sentence()


def test_forward_scores_are_the_backtest_scores_of_the_forward_bars_alone():
    entries = [
        _entry("a", 101.0), _entry("b", 99.0, last=101.0), _entry("c", 103.0, last=102.0),
        _entry("d", 50.0, backfill=True), _entry("e", 104.0, last=103.0),
    ]  # fmt: skip
    realised = {"a": 101.0, "b": 102.0, "c": 103.5, "d": 100.0}
    results = [
        score_entry(e, "x", math.log(realised[e["hash"]] / e["last_close"]), "now")
        for e in entries if e["hash"] in realised
    ]  # fmt: skip
    s = forward_scores(entries, results)
    assert (s.scored, s.waiting, s.backfill) == (3, 1, 1)
    expected = forecast_metrics(
        np.array([101.0, 102.0, 103.5]), np.array([101.0, 99.0, 103.0]),
        np.array([100.0, 101.0, 102.0]), np.array([100.0, 101.0, 102.0]),
    )  # fmt: skip
    assert s.metrics.rmse == pytest.approx(expected.rmse)
    assert s.metrics.skill == pytest.approx(expected.skill)
    assert s.metrics.dm_pvalue == pytest.approx(expected.dm_pvalue, nan_ok=True)
    lines = s.lines("The model")
    assert lines[0].startswith("Forward record: 3 bars scored, 1 awaiting its close; 1 backfill")
    empty = forward_scores(entries[:1], [])
    assert empty.metrics is None and "No forward forecast" in empty.lines()[1]


def test_issued_after_the_close_is_flagged():
    e = {"target_date": "2018-01-16", "data_through": "2018-01-12"}
    xnys = BarClock("XNYS")
    assert timing_problem({**e, "issued_at": "2018-01-16T20:59:59+00:00"}, xnys) is None
    late = timing_problem({**e, "issued_at": "2018-01-16T21:00:00+00:00"}, xnys)
    assert "after its target bar closed (2018-01-16 21:00 UTC)" in late
    # without a calendar the bar counts as closed once its date has ended at UTC-12
    assert timing_problem({**e, "issued_at": "2018-01-17T11:00:00+00:00"}, BarClock(None)) is None
    assert timing_problem({**e, "issued_at": "2018-01-17T12:00:00+00:00"}, BarClock(None))
    seen = {**e, "data_through": "2018-01-16", "issued_at": "2018-01-16T10:00:00+00:00"}
    assert "not before its target date" in timing_problem(seen, xnys)
    assert "not a trading day" in timing_problem(
        {**e, "target_date": "2018-01-15", "issued_at": "2018-01-13T10:00:00+00:00"}, xnys
    )
