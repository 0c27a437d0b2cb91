"""load_ticker through yfinance's real code, with Yahoo played by FakeYahooSession (no network)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from stockapp.data import yahoo
from stockapp.data.cache import cache_path, read_cache
from stockapp.data.yahoo import load_ticker
from stockapp.errors import DataError
from tests.data.fake_yahoo import SAMPLES, TZ, FakeYahooSession, reset_yfinance


def _midnight(day: str) -> int:
    """The Unix time yfinance sends for a date: midnight at the exchange."""
    return int(pd.Timestamp(day, tz=TZ).timestamp())


@pytest.fixture(autouse=True)
def fresh_yfinance(stockapp_home):
    reset_yfinance()
    yield
    reset_yfinance()


@pytest.fixture
def aapl() -> pd.DataFrame:
    frame = pd.read_csv(SAMPLES / "AAPL.csv", index_col="Date", parse_dates=True)
    frame.index = frame.index.as_unit("ns")
    return frame.astype("float64")


def _rows(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    return frame[(frame.index >= start) & (frame.index < end)]


def _error(**kwargs) -> str:
    with pytest.raises(DataError) as err:
        load_ticker(**kwargs)
    return str(err.value)


def test_download_matches_the_csv_rows_in_range(aapl, stockapp_home):
    session = FakeYahooSession()
    series = load_ticker("aapl", start="2017-01-01", end="2017-07-01", session=session)
    expected = _rows(aapl, "2017-01-01", "2017-07-01")
    assert series.name == "AAPL"
    assert series.source == "Yahoo Finance AAPL (1d)"
    assert series.has_adjusted
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False)
    assert series.report.warnings == []
    assert [r["period1"] for r in session.price_requests] == [_midnight("2017-01-01")]
    assert cache_path("AAPL", "1d").exists()
    # yfinance's own sqlite caches went into stockapp's cache folder, not the user's.
    assert (stockapp_home / "cache" / "yfinance" / "tkr-tz.db").exists()


def test_second_load_fetches_only_new_dates(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    cached_last = read_cache("AAPL", "1d").last_date
    assert str(cached_last) == "2017-05-31"

    session = FakeYahooSession()
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=session)
    (request,) = session.price_requests
    assert request["period1"] > _midnight(str(cached_last))
    assert request["period1"] == _midnight("2017-06-01")
    assert request["period2"] == _midnight("2018-01-01")
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2017-01-01", "2018-01-01"), check_names=False
    )
    assert read_cache("AAPL", "1d").last_date == series.report.last.date()


def test_earlier_start_fetches_only_the_older_dates(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    session = FakeYahooSession()
    series = load_ticker("AAPL", start="2016-06-01", end="2017-06-01", session=session)
    (request,) = session.price_requests
    assert (request["period1"], request["period2"]) == (
        _midnight("2016-06-01"),
        _midnight("2017-01-01"),
    )
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2016-06-01", "2017-06-01"), check_names=False
    )


def test_a_range_already_cached_needs_no_network(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=FakeYahooSession())
    offline = FakeYahooSession("offline")
    series = load_ticker("AAPL", start="2017-03-01", end="2017-09-01", session=offline)
    assert offline.urls == []
    assert series.source == "Yahoo Finance AAPL (1d)"
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2017-03-01", "2017-09-01"), check_names=False
    )


def test_offline_with_a_cache_shows_the_cached_data_and_says_so(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    series = load_ticker(
        "AAPL", start="2017-01-01", end="2018-01-01", session=FakeYahooSession("offline")
    )
    notice = "Showing cached data up to 2017-05-31: no network connection."
    assert series.report.notes == (notice,)
    assert notice in series.report.warnings
    assert series.source == f"Yahoo Finance AAPL (1d). {notice}"
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2017-01-01", "2017-06-01"), check_names=False
    )


def test_offline_without_a_cache():
    assert _error(symbol="AAPL", start="2017-01-01", session=FakeYahooSession("offline")) == (
        "Could not download AAPL: there is no network connection to Yahoo Finance; "
        "check the connection and try again."
    )
    assert not cache_path("AAPL", "1d").exists()


def test_unknown_ticker():
    session = FakeYahooSession()
    assert _error(symbol="XXXX", start="2017-01-01", session=session) == (
        "Yahoo Finance has no data for ticker 'XXXX'; check the symbol."
    )
    assert session.chart_requests  # Yahoo was really asked, and said 404
    assert not cache_path("XXXX", "1d").exists()


def test_rate_limited_without_a_cache():
    assert _error(symbol="AAPL", start="2017-01-01", session=FakeYahooSession("ratelimit")) == (
        "Yahoo Finance is limiting requests right now, so AAPL could not be downloaded; "
        "try again in a few minutes."
    )


def test_rate_limited_with_a_cache():
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    series = load_ticker(
        "AAPL", start="2017-01-01", end="2018-01-01", session=FakeYahooSession("ratelimit")
    )
    assert series.report.notes == (
        "Showing cached data up to 2017-05-31: Yahoo Finance is limiting requests, "
        "try again in a few minutes.",
    )


def test_yfinance_log_still_reaches_logging(caplog):
    # The loader reads yfinance's log to explain failures but does not swallow it.
    with caplog.at_level(logging.WARNING, logger="yfinance"):
        _error(symbol="XXXX", start="2017-01-01", session=FakeYahooSession())
    assert any("no timezone found" in r.getMessage() for r in caplog.records)


def test_weekly_bars(aapl):
    session = FakeYahooSession()
    series = load_ticker(
        "AAPL", start="2016-01-04", end="2018-01-01", interval="1wk", session=session
    )
    assert session.price_requests[0]["interval"] == "1wk"
    daily = _rows(aapl, "2016-01-04", "2018-01-01")
    weeks = daily.groupby(daily.index.to_period("W-SUN").start_time)
    assert list(series.dates) == list(weeks.size().index)
    assert (series.dates.day_of_week == 0).all()
    assert series.frame["Close"].tolist() == weeks["Close"].last().tolist()
    assert series.frame["High"].tolist() == weeks["High"].max().tolist()
    assert series.report.gaps == ()
    assert cache_path("AAPL", "1wk").exists()


def test_a_range_without_trading_days():
    assert _error(
        symbol="AAPL", start="2017-12-23", end="2017-12-26", session=FakeYahooSession()
    ) == (
        "Yahoo Finance has no AAPL prices from 2017-12-23 to 2017-12-26; choose a wider date range."
    )


def test_too_short_a_range():
    assert _error(
        symbol="AAPL", start="2017-12-01", end="2017-12-19", session=FakeYahooSession()
    ) == ("AAPL has only 12 price rows; at least 30 are needed.")


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("", "No ticker symbol given; enter one such as AAPL or ^GSPC."),
        ("   ", "No ticker symbol given; enter one such as AAPL or ^GSPC."),
        (
            "AA PL",
            "'AA PL' is not a ticker symbol; use letters, digits and . - ^ = only "
            "(such as AAPL, BRK-B or ^GSPC).",
        ),
        (
            "AAPL;rm",
            "'AAPL;rm' is not a ticker symbol; use letters, digits and . - ^ = only "
            "(such as AAPL, BRK-B or ^GSPC).",
        ),
    ],
)
def test_invalid_symbol_fails_without_a_fetch(symbol, message):
    session = FakeYahooSession()
    assert _error(symbol=symbol, session=session) == message
    assert session.urls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": "2018-01-01", "end": "2017-01-01"},
            "The start date 2018-01-01 is not before the end date 2017-01-01.",
        ),
        (
            {"start": "2017-01-01", "end": "2017-01-01"},
            "The start date 2017-01-01 is not before the end date 2017-01-01.",
        ),
        ({"start": "01/02/2017"}, "The start date '01/02/2017' is not a date like 2018-01-31."),
        ({"interval": "1h"}, "Interval '1h' is not supported; use 1d (daily) or 1wk (weekly)."),
    ],
)
def test_invalid_arguments_fail_without_a_fetch(kwargs, message):
    session = FakeYahooSession()
    assert _error(symbol="AAPL", session=session, **kwargs) == message
    assert session.urls == []


def test_todays_unfinished_bar_is_shown_but_not_cached(aapl, monkeypatch):
    monkeypatch.setattr(yahoo, "_today", lambda: pd.Timestamp("2017-06-01").date())
    series = load_ticker("AAPL", session=FakeYahooSession())
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "1900-01-01", "2017-06-02"), check_names=False
    )
    cached = read_cache("AAPL", "1d")
    assert str(cached.last_date) == "2017-05-31"
    assert (str(cached.covered_from), str(cached.covered_to)) == ("1920-01-01", "2017-06-01")

    session = FakeYahooSession()
    again = load_ticker("AAPL", session=session)
    assert [r["period1"] for r in session.price_requests] == [_midnight("2017-06-01")]
    assert again.report.last == pd.Timestamp("2017-06-01")


def test_weekly_cache_keeps_only_whole_weeks(aapl):
    # 2016-01-06 and 2017-01-04 are Wednesdays: the loader asks from the Monday, and does not
    # cache the week that `end` cut short.
    first = FakeYahooSession()
    load_ticker("AAPL", start="2016-01-06", end="2017-01-04", interval="1wk", session=first)
    assert first.price_requests[0]["period1"] == _midnight("2016-01-04")
    cached = read_cache("AAPL", "1wk")
    assert (str(cached.covered_from), str(cached.covered_to)) == ("2016-01-04", "2017-01-02")
    assert str(cached.last_date) == "2016-12-26"

    second = FakeYahooSession()
    series = load_ticker(
        "AAPL", start="2016-01-06", end="2018-01-01", interval="1wk", session=second
    )
    assert [r["period1"] for r in second.price_requests] == [_midnight("2017-01-02")]
    week = series.frame.loc["2017-01-02"]
    daily = _rows(aapl, "2017-01-02", "2017-01-09")
    assert week["Close"] == daily["Close"].iloc[-1]  # the whole week, not just its Tuesday
    assert week["Volume"] == daily["Volume"].sum()
