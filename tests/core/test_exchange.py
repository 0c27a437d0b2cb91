"""Target bars and their closes: the XNYS calendar (holidays, early closes, weeks) and the weaker
rule for a CSV that names no exchange."""

from __future__ import annotations

import pandas as pd
import pytest

from stockapp.core.exchange import BarClock, exchange_for

T = pd.Timestamp


def test_which_sources_have_a_calendar():
    assert exchange_for("sample", "AAPL") == "XNYS"
    assert exchange_for("yahoo", "AAPL") == "XNYS"
    assert exchange_for("yahoo", "BRK-B") == "XNYS"  # a share class, not an exchange suffix
    assert exchange_for("yahoo", "^GSPC") == "XNYS"
    assert exchange_for("yahoo", "VOD.L") == "XLON"
    assert exchange_for("yahoo", "7203.T") == "XTKS"
    assert exchange_for("yahoo", "^FTSE") is None  # an index the table does not place
    assert exchange_for("yahoo", "EURUSD=X") is None
    assert exchange_for("yahoo", "SAP.XX") is None  # an exchange not listed: no calendar
    assert exchange_for("csv", "/x/AAPL.csv") is None


def test_xnys_next_session_skips_weekends_and_holidays():
    clock = BarClock("XNYS")
    assert clock.next_bar(T("2018-01-11")) == T("2018-01-12")
    assert clock.next_bar(T("2018-01-12")) == T("2018-01-16")  # Martin Luther King Jr. Day
    assert clock.next_bar(T("2017-12-22")) == T("2017-12-26")  # Christmas on a Monday


def test_xnys_closes_in_utc_with_daylight_saving_and_early_closes():
    clock = BarClock("XNYS")
    assert clock.closes_at(T("2018-01-16")) == T("2018-01-16 21:00", tz="UTC")  # 16:00 EST
    assert clock.closes_at(T("2018-07-02")) == T("2018-07-02 20:00", tz="UTC")  # 16:00 EDT
    assert clock.closes_at(T("2018-11-23")) == T("2018-11-23 18:00", tz="UTC")  # 13:00 early
    with pytest.raises(ValueError, match="not a trading day"):
        clock.closes_at(T("2018-01-15"))


def test_weekly_bars_close_with_the_last_session_of_their_week():
    clock = BarClock("XNYS", weekly=True)
    assert clock.next_bar(T("2018-01-08")) == T("2018-01-15")
    # Good Friday 2018-03-30: the week of 26 March closes on Thursday
    assert clock.closes_at(T("2018-03-26")) == T("2018-03-29 20:00", tz="UTC")


def test_without_a_calendar_the_next_weekday_and_the_end_of_its_date_everywhere():
    clock = BarClock(None)
    assert clock.next_bar(T("2018-01-12")) == T("2018-01-15")  # a holiday it cannot know
    assert BarClock(None, weekends=True).next_bar(T("2018-01-12")) == T("2018-01-13")
    # 24:00 at UTC-12 on 15 January is 12:00 UTC on the 16th
    assert clock.closes_at(T("2018-01-15")) == T("2018-01-16 12:00", tz="UTC")
    assert BarClock(None, weekly=True).closes_at(T("2018-01-15")) == T("2018-01-22 12:00", tz="UTC")
    assert "UTC-12" in clock.describe() and "XNYS" in BarClock("XNYS").describe()


def test_bars_still_trading_are_not_closed():
    dates = pd.DatetimeIndex(["2018-01-11", "2018-01-12", "2018-01-16"])
    during = BarClock("XNYS").closed(dates, T("2018-01-16 15:00", tz="UTC"))
    assert list(during) == [True, True, False]
    after = BarClock("XNYS").closed(dates, T("2018-01-16 21:00", tz="UTC"))
    assert after.all()
    assert BarClock(None).closed(dates, T("2018-01-16 01:00", tz="UTC")).all()
