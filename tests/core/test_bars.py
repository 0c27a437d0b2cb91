"""Bar size from the dates, and timestamps written without losing the time of day."""

from __future__ import annotations

import pandas as pd
import pytest

from stockapp.core.backtest import forecaster_labels
from stockapp.core.bars import bar_size, format_dates, is_intraday, parse_dates


def _hourly(days: int = 12, per_day: int = 7) -> pd.DatetimeIndex:
    start = pd.bdate_range("2024-01-02", periods=days)
    return pd.DatetimeIndex(
        [d + pd.Timedelta(hours=9.5 + h) for d in start for h in range(per_day)]
    )


@pytest.mark.parametrize(
    ("dates", "size"),
    [
        (_hourly(), "intraday"),
        (pd.date_range("2024-01-02 09:30", periods=50, freq="5min"), "intraday"),
        (pd.bdate_range("2020-01-01", periods=30), "daily"),
        (pd.date_range("2020-01-01", periods=30, freq="W-FRI"), "weekly"),
        (pd.date_range("2020-01-01", periods=30, freq="ME"), "monthly"),
        (pd.date_range("2020-01-01", periods=30, freq="QE"), "quarterly"),
        (pd.date_range("2000-01-01", periods=10, freq="YE"), "yearly"),
        # daily closes stamped at 16:00 are still daily bars
        (pd.bdate_range("2020-01-01", periods=30) + pd.Timedelta(hours=16), "daily"),
        (pd.DatetimeIndex(["2020-01-01"]), "daily"),
    ],
)
def test_bar_size_from_spacing(dates, size):
    assert bar_size(dates) == size


def test_intraday_means_a_time_of_day_or_bars_closer_than_a_day():
    assert is_intraday(_hourly())
    assert is_intraday(pd.bdate_range("2020-01-01", periods=5) + pd.Timedelta(hours=16))
    assert not is_intraday(pd.bdate_range("2020-01-01", periods=5))
    assert not is_intraday(pd.date_range("2020-01-01", periods=5, freq="ME"))


def test_dates_are_written_as_dates_and_intraday_bars_with_their_time():
    daily = pd.bdate_range("2020-01-01", periods=3)
    assert list(format_dates(daily)) == ["2020-01-01", "2020-01-02", "2020-01-03"]
    hours = _hourly()
    text = format_dates(hours)
    assert text[0] == "2024-01-02T09:30:00" and len(set(text)) == len(hours) == 84
    for idx in (daily, hours):
        assert parse_dates(format_dates(idx)).equals(idx)
    # an aware index keeps its instants (its zone's name becomes a UTC offset)
    aware = hours.tz_localize("America/New_York")
    assert format_dates(aware)[0] == "2024-01-02T09:30:00-05:00"
    assert (parse_dates(format_dates(aware)) == aware).all()


def test_baseline_labels_follow_the_bar_size():
    assert forecaster_labels("LSTM")["persistence"] == "Persistence (tomorrow = today)"
    cases = {
        "Persistence (next bar = this bar)": _hourly(),
        "Persistence (tomorrow = today)": pd.bdate_range("2020-01-01", periods=30),
        "Persistence (next week = this week)": pd.date_range("2020-01-01", periods=9, freq="W"),
        "Persistence (next month = this month)": pd.date_range("2020", periods=9, freq="ME"),
    }
    for label, dates in cases.items():
        labels = forecaster_labels("LSTM", dates)
        assert labels["persistence"] == label
        assert list(labels) == ["model", "persistence", "drift", "ar"] and labels["model"] == "LSTM"
