"""clean_prices: what it repairs, what it only counts and what it refuses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stockapp.data.quality import MIN_ROWS, clean_prices, find_gaps
from stockapp.errors import DataError


def _frame(n: int = 40, start: str = "2020-01-01") -> pd.DataFrame:
    """Consistent business-day bars rising from 100."""
    dates = pd.bdate_range(start, periods=n)
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1.0,
            "Low": close - 1.0,
            "Close": close,
            "Volume": np.full(n, 1000, dtype=np.int64),
        },
        index=dates,
    )


def test_clean_frame_passes_unchanged_and_normalised():
    raw = _frame()
    raw.index = raw.index.as_unit("s")
    frame, report = clean_prices(raw, "TEST")
    assert frame.index.dtype == "datetime64[ns]"
    assert frame.index.name == "Date"
    assert list(frame.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert report.rows == 40
    assert report.first == pd.Timestamp("2020-01-01")
    assert report.warnings == []


def test_unsorted_input_is_sorted():
    raw = _frame().iloc[::-1]
    frame, _ = clean_prices(raw, "TEST")
    assert frame.index.is_monotonic_increasing


def test_duplicate_dates_keep_the_last_row_and_are_counted():
    raw = _frame()
    dup = raw.iloc[[3, 7]].copy()
    dup["Close"] += 0.25
    frame, report = clean_prices(pd.concat([raw, dup]), "TEST")
    assert report.duplicates_removed == 2
    assert report.rows == 40
    assert frame["Close"].iloc[3] == raw["Close"].iloc[3] + 0.25
    assert "2 duplicate dates removed" in report.warnings


def test_rows_without_a_close_are_dropped_and_counted():
    raw = _frame(45)
    raw.iloc[2, raw.columns.get_loc("Close")] = np.nan
    raw.iloc[9, raw.columns.get_loc("Open")] = np.nan  # a sparse hole in another column
    frame, report = clean_prices(raw, "TEST")
    assert report.dropped_missing == 2
    assert report.dropped_nonfinite == 0
    assert report.rows == 43
    assert "Open" in frame.columns
    assert "2 rows dropped for missing prices" in report.warnings


def test_infinite_and_absurd_values_are_dropped_and_counted_apart_from_missing():
    raw = _frame(45)
    raw.iloc[2, raw.columns.get_loc("Close")] = np.nan
    raw.iloc[5, raw.columns.get_loc("Close")] = np.inf
    raw.iloc[7, raw.columns.get_loc("Open")] = -np.inf
    raw.iloc[11, raw.columns.get_loc("Close")] = 1e300
    raw.iloc[12, raw.columns.get_loc("Volume")] = 2e15
    frame, report = clean_prices(raw, "TEST")
    assert report.dropped_missing == 1
    assert report.dropped_nonfinite == 4
    assert report.rows == 40
    assert np.isfinite(frame.to_numpy()).all()
    assert frame.to_numpy().max() < 1e15
    assert (
        "4 rows dropped for infinite or absurdly large values (beyond 1e+15), "
        "the first on 2020-01-08" in report.warnings
    )
    # What the rest of the app does with the prices stays free of overflow (warnings are
    # errors under pytest).
    returns = np.diff(np.log(frame["Close"].to_numpy()))
    assert np.isfinite(np.square(frame.to_numpy()).sum())
    assert np.isfinite(returns.std())


def test_moves_beyond_five_fold_are_warnings_naming_the_first_date():
    raw = _frame(40)
    close = raw["Close"].to_numpy().copy()
    close[10] = close[9] * 5.2  # a bad tick up ...
    close[20:] = close[20:] / 6.0  # ... and an unadjusted 6-for-1 split down
    close[30] = close[29] * 4.9  # within bounds: up 4.9x, then down 4.9x
    raw["Close"] = close
    raw["Open"] = raw["Low"] = close * 0.99
    raw["High"] = close * 1.01
    _, report = clean_prices(raw, "TEST")
    # Bars 10 (x5.2), 11 (back down /5.2*...), 20 (/6); hand-computed from the closes.
    log_moves = np.abs(np.diff(np.log(close)))
    expected = raw.index[1:][log_moves > np.log(5)]
    assert list(report.extreme_moves) == list(expected)
    assert list(report.extreme_moves) == [
        pd.Timestamp("2020-01-15"),
        pd.Timestamp("2020-01-16"),
        pd.Timestamp("2020-01-29"),
    ]
    assert (
        "3 bars closed more than 5x above or below the previous close, the first on 2020-01-15; "
        "check for a bad price or an unadjusted split" in report.warnings
    )


def test_to_dict_is_json_and_complete():
    raw = _frame(60)
    raw = raw.drop(raw.index[20:28])
    raw = pd.concat([raw, raw.iloc[[3]]])  # one duplicate
    raw.iloc[5, raw.columns.get_loc("Close")] = np.nan
    raw.iloc[6, raw.columns.get_loc("Close")] = np.inf
    _, report = clean_prices(raw, "TEST")
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "rows": 50,
        "first_date": "2020-01-01",
        "last_date": "2020-03-24",
        "intraday": False,
        "dropped_missing": 1,
        "dropped_nonfinite": 1,
        "duplicates_removed": 1,
        "gaps": 1,
        "longest_gap_days": 13,
        "ohlc_inconsistent": 0,
        "extreme_moves": 0,
        "extreme_move_dates": [],
        "warnings": report.warnings,
        "notes": [],
    }
    assert len(data["warnings"]) == 4


def test_intraday_bars_keep_their_times():
    stamps = pd.DatetimeIndex(
        [
            d + pd.Timedelta(hours=h)
            for d in pd.bdate_range("2024-01-02", periods=12)
            for h in range(9, 16)
        ]
    )
    close = 100.0 + np.arange(len(stamps)) * 0.1
    frame, report = clean_prices(pd.DataFrame({"Close": close}, index=stamps), "TEST")
    assert list(frame.index) == list(stamps)
    assert report.intraday
    data = report.to_dict()
    assert (data["first_date"], data["last_date"]) == ("2024-01-02T09:00:00", "2024-01-17T15:00:00")
    assert report.summary_lines()[1] == "first date: 2024-01-02T09:00:00"


def test_a_mostly_empty_column_is_dropped_instead_of_its_rows():
    raw = _frame()
    raw["Volume"] = np.nan
    raw.iloc[:10, raw.columns.get_loc("Volume")] = 5.0
    frame, report = clean_prices(raw, "TEST")
    assert "Volume" not in frame.columns
    assert report.rows == 40
    assert report.dropped_missing == 0
    assert report.notes == ("Volume column dropped: 75% of its values are missing",)


def test_timezone_aware_index_keeps_the_local_date():
    raw = _frame()
    raw.index = raw.index.tz_localize("America/New_York")
    frame, _ = clean_prices(raw, "TEST")
    assert frame.index.tz is None
    assert frame.index[0] == pd.Timestamp("2020-01-01")


def test_gaps_longer_than_a_week_are_listed():
    raw = _frame(60)
    raw = raw.drop(raw.index[20:28])  # 2020-01-29 .. 2020-02-07 missing
    _, report = clean_prices(raw, "TEST")
    assert len(report.gaps) == 1
    gap = report.gaps[0]
    assert (gap.start, gap.end, gap.days) == (
        pd.Timestamp("2020-01-28"),
        pd.Timestamp("2020-02-10"),
        13,
    )
    assert "1 gaps longer than a week (longest 13 days after 2020-01-28)" in report.warnings


def test_a_long_weekend_is_not_a_gap():
    dates = pd.DatetimeIndex(["2001-09-10", "2001-09-17", "2001-09-26"])
    assert [g.days for g in find_gaps(dates)] == [9]


def test_ohlc_inconsistency_is_a_counted_warning_only():
    raw = _frame()
    raw.iloc[4, raw.columns.get_loc("High")] = raw["Close"].iloc[4] - 0.1  # High below Close
    raw.iloc[8, raw.columns.get_loc("Low")] = raw["Open"].iloc[8] + 0.1  # Low above Open
    frame, report = clean_prices(raw, "TEST")
    assert report.rows == 40
    assert report.ohlc_inconsistent == 2
    assert "2 rows with Open/High/Low inconsistent with Close" in report.warnings


def test_spy_has_two_real_open_below_low_glitches(samples_dir):
    raw = pd.read_csv(samples_dir / "SPY.csv", index_col="Date", parse_dates=True)
    _, report = clean_prices(raw, "SPY")
    assert report.ohlc_inconsistent == 2
    glitches = raw[raw["Open"] < raw["Low"]].index
    assert list(glitches) == [pd.Timestamp("2015-03-05"), pd.Timestamp("2015-03-30")]


@pytest.mark.parametrize("name", ["AAPL", "GOOG", "INTC", "MSFT", "^GSPC"])
def test_other_samples_are_clean(samples_dir, name):
    raw = pd.read_csv(samples_dir / f"{name}.csv", index_col="Date", parse_dates=True)
    _, report = clean_prices(raw, name)
    assert report.warnings == []


@pytest.mark.parametrize("column", ["Close", "Low"])
def test_zero_or_negative_price_names_label_column_and_first_date(column):
    raw = _frame()
    raw.iloc[12, raw.columns.get_loc(column)] = 0.0
    raw.iloc[30, raw.columns.get_loc("Close")] = -1.0
    with pytest.raises(DataError) as err:
        clean_prices(raw, "ACME")
    assert str(err.value) == (
        f"ACME has a {column} price of zero or below on 2020-01-17; prices must be positive."
    )


def test_too_few_rows():
    with pytest.raises(DataError) as err:
        clean_prices(_frame(12), "ACME")
    assert str(err.value) == "ACME has only 12 price rows; at least 30 are needed."


def test_exactly_min_rows_is_enough():
    _, report = clean_prices(_frame(MIN_ROWS), "ACME")
    assert report.rows == MIN_ROWS


def test_missing_close_column():
    with pytest.raises(DataError) as err:
        clean_prices(_frame().drop(columns="Close"), "ACME")
    assert str(err.value) == "ACME has no Close column."


def test_monthly_bars_are_not_gaps_but_a_missing_year_is():
    """A monthly file is ~31 days between bars by design: only a stretch several bars long is a
    gap, and the warning names the threshold it used."""
    dates = pd.date_range("1999-01-01", periods=48, freq="MS")
    dates = dates.delete(range(20, 32))  # a year of months missing
    frame = pd.DataFrame({"Close": np.linspace(10.0, 20.0, len(dates))}, index=dates)
    _, report = clean_prices(frame, "monthly.csv")
    assert [(g.start, g.days) for g in report.gaps] == [(pd.Timestamp("2000-08-01"), 396)]
    assert any("1 gaps longer than 62 days" in w for w in report.warnings), report.warnings


def test_daily_gap_threshold_stays_a_week():
    dates = pd.DatetimeIndex(["2001-09-10", "2001-09-11", "2001-09-12", "2001-09-26"])
    assert [g.days for g in find_gaps(dates)] == [14]
