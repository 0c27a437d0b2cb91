"""load_ticker through yfinance's real code, with Yahoo played by FakeYahooSession (no network)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from stockapp.core.data_source import DataSource
from stockapp.data import yahoo
from stockapp.data.cache import cache_path, read_cache
from stockapp.data.yahoo import load_ticker
from stockapp.errors import DataError
from tests.data.fake_yahoo import SAMPLES, TZ, FakeYahooSession, adjusted, reset_yfinance


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
    assert series.data_source == DataSource("ticker", "AAPL", "1d", True)
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
    # From where the cache ends, plus two weeks of cached bars to check against Yahoo's.
    assert request["period1"] == _midnight("2017-05-18")
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
        _midnight("2017-01-15"),  # two weeks into the cached bars, to compare them
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
    assert series.data_source == DataSource("ticker", "AAPL", "1d", True)  # from the cache
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
        _error(symbol="AAPL", start="2017-01-01", session=FakeYahooSession("offline"))
    assert any("crumb fetch failed" in r.getMessage() for r in caplog.records)


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
    assert [(str(a), str(b)) for a, b in cached.spans] == [("1920-01-01", "2017-06-01")]

    session = FakeYahooSession()
    again = load_ticker("AAPL", session=session)
    assert [r["period1"] for r in session.price_requests] == [_midnight("2017-05-18")]
    assert again.report.last == pd.Timestamp("2017-06-01")


def test_weekly_cache_keeps_only_whole_weeks(aapl):
    # 2016-01-06 and 2017-01-04 are Wednesdays: the loader asks from the Monday, and does not
    # cache the week that `end` cut short.
    first = FakeYahooSession()
    load_ticker("AAPL", start="2016-01-06", end="2017-01-04", interval="1wk", session=first)
    assert first.price_requests[0]["period1"] == _midnight("2016-01-04")
    cached = read_cache("AAPL", "1wk")
    assert [(str(a), str(b)) for a, b in cached.spans] == [("2016-01-04", "2017-01-02")]
    assert str(cached.last_date) == "2016-12-26"

    second = FakeYahooSession()
    series = load_ticker(
        "AAPL", start="2016-01-06", end="2018-01-01", interval="1wk", session=second
    )
    assert [r["period1"] for r in second.price_requests] == [_midnight("2016-12-19")]
    week = series.frame.loc["2017-01-02"]
    daily = _rows(aapl, "2017-01-02", "2017-01-09")
    assert week["Close"] == daily["Close"].iloc[-1]  # the whole week, not just its Tuesday
    assert week["Volume"] == daily["Volume"].sum()


# --- the cache records exactly what was downloaded (issue 7, item 1) -----------------------


def test_two_distant_loads_leave_the_years_between_uncovered(aapl):
    load_ticker("AAPL", start="2010-01-01", end="2011-01-01", session=FakeYahooSession())
    load_ticker("AAPL", start="2015-01-01", end="2016-01-01", session=FakeYahooSession())
    spans = [(str(a), str(b)) for a, b in read_cache("AAPL", "1d").spans]
    assert spans == [("2010-01-01", "2011-01-01"), ("2015-01-01", "2016-01-01")]

    # A request inside the hole downloads it.
    gap = FakeYahooSession()
    series = load_ticker("AAPL", start="2012-01-01", end="2014-01-01", session=gap)
    assert [(r["period1"], r["period2"]) for r in gap.price_requests] == [
        (_midnight("2012-01-01"), _midnight("2014-01-01"))
    ]
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2012-01-01", "2014-01-01"), check_names=False
    )

    # A request across everything asks only for the two holes left (each reaching a little
    # into the cached neighbours to check that Yahoo has not rewritten them) and has no hole.
    wide = FakeYahooSession()
    series = load_ticker("AAPL", start="2010-01-01", end="2016-01-01", session=wide)
    asked = [(r["period1"], r["period2"]) for r in wide.price_requests]
    assert asked == [
        (_midnight("2010-12-18"), _midnight("2012-01-15")),
        (_midnight("2013-12-18"), _midnight("2015-01-15")),
    ]
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2010-01-01", "2016-01-01"), check_names=False
    )
    assert series.report.gaps == ()
    spans = [(str(a), str(b)) for a, b in read_cache("AAPL", "1d").spans]
    assert spans == [("2010-01-01", "2016-01-01")]


def test_a_cached_range_extended_on_both_sides(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    session = FakeYahooSession()
    series = load_ticker("AAPL", start="2016-06-01", end="2018-01-01", session=session)
    assert [(r["period1"], r["period2"]) for r in session.price_requests] == [
        (_midnight("2016-06-01"), _midnight("2017-01-15")),
        (_midnight("2017-05-18"), _midnight("2018-01-01")),
    ]
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2016-06-01", "2018-01-01"), check_names=False
    )
    assert series.report.notes == ()
    cached = read_cache("AAPL", "1d")
    assert [(str(a), str(b)) for a, b in cached.spans] == [("2016-06-01", "2018-01-01")]
    pd.testing.assert_frame_equal(
        cached.frame, _rows(aapl, "2016-06-01", "2018-01-01"), check_names=False
    )


def test_offline_inside_a_hole_returns_no_bars_from_across_it(aapl):
    load_ticker("AAPL", start="2010-01-01", end="2011-01-01", session=FakeYahooSession())
    load_ticker("AAPL", start="2015-01-01", end="2016-01-01", session=FakeYahooSession())
    series = load_ticker(
        "AAPL", start="2010-01-01", end="2016-01-01", session=FakeYahooSession("offline")
    )
    # The latest stretch that really was downloaded, never both sides of the hole.
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2015-01-01", "2016-01-01"), check_names=False
    )
    assert series.report.notes == ("Showing cached data from 2015-01-02: no network connection.",)


def test_an_old_single_span_cache_is_trusted_only_where_it_has_bars(aapl):
    # What version 1 wrote after loading 2010 and then 2015: one span over the four-year hole.
    frame = pd.concat(
        [_rows(aapl, "2010-01-01", "2011-01-01"), _rows(aapl, "2015-01-01", "2016-01-01")]
    )
    path = cache_path("AAPL", "1d")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("# stockapp price cache v1: covered 2010-01-01 2016-01-01\n")
        frame.to_csv(out, index_label="Date", date_format="%Y-%m-%d")
    session = FakeYahooSession()
    series = load_ticker("AAPL", start="2012-01-01", end="2014-01-01", session=session)
    assert len(session.price_requests) == 1
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2012-01-01", "2014-01-01"), check_names=False
    )


# --- a split or a dividend since caching re-downloads the history (issue 7, item 2) --------


def test_a_split_since_caching_re_downloads_the_whole_history(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    events = [("split", "2017-08-01", 4.0)]
    session = FakeYahooSession(events=events)
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=session)

    assert series.report.notes == (
        "AAPL history re-downloaded: Yahoo adjusted it for a 4-for-1 split on 2017-08-01.",
    )
    assert [(r["period1"], r["period2"]) for r in session.price_requests] == [
        (_midnight("2017-05-18"), _midnight("2018-01-01")),  # the new dates and an overlap
        (_midnight("2017-01-01"), _midnight("2018-01-01")),  # everything again
    ]
    expected = _rows(adjusted(aapl, events), "2017-01-01", "2018-01-01")
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False)
    assert series.frame.loc["2017-01-03", "Close"] == aapl.loc["2017-01-03", "Close"] / 4
    # No fake crash where the cached bars end: AAPL never moved 10% in a day in 2017.
    assert np.abs(np.diff(np.log(series.frame["Close"]))).max() < 0.1
    pd.testing.assert_frame_equal(read_cache("AAPL", "1d").frame, expected, check_names=False)

    # The next load finds the cache consistent with Yahoo again.
    again = FakeYahooSession(events=events)
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-10", session=again)
    assert len(again.price_requests) == 1
    assert series.report.notes == ()


def test_a_dividend_since_caching_re_downloads_the_whole_history(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    events = [("dividend", "2017-08-10", 0.63)]
    session = FakeYahooSession(events=events)
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=session)

    assert series.report.notes == (
        "AAPL history re-downloaded: Yahoo adjusted it for a dividend on 2017-08-10.",
    )
    assert len(session.price_requests) == 2
    # Adj Close before the ex-date scaled by 1 - 0.63 / (the close before it); Close unchanged.
    factor = 1 - 0.63 / aapl.loc["2017-08-09", "Close"]
    frame = series.frame
    assert frame.loc["2017-01-03", "Adj Close"] == pytest.approx(
        aapl.loc["2017-01-03", "Adj Close"] * factor, rel=1e-12
    )
    assert frame.loc["2017-08-10", "Adj Close"] == aapl.loc["2017-08-10", "Adj Close"]
    pd.testing.assert_series_equal(
        frame["Close"], _rows(aapl, "2017-01-01", "2018-01-01")["Close"], check_names=False
    )


def test_a_dividend_seen_when_extending_backwards(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    events = [("dividend", "2017-05-11", 0.63)]
    session = FakeYahooSession(events=events)
    series = load_ticker("AAPL", start="2016-06-01", end="2017-06-01", session=session)
    assert series.report.notes == (
        "AAPL history re-downloaded: Yahoo adjusted it for a dividend on 2017-05-11.",
    )
    expected = _rows(adjusted(aapl, events), "2016-06-01", "2017-06-01")
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False)


def test_unchanged_history_is_not_re_downloaded(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    session = FakeYahooSession()
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=session)
    assert len(session.price_requests) == 1
    assert series.report.warnings == []


class _OfflineAfterOneChart(FakeYahooSession):
    """Answers the first price request, then loses the network."""

    def _chart(self, url, symbol, params):
        answer = super()._chart(url, symbol, params)
        if "period1" in params:
            self.mode = "offline"
        return answer


def test_a_rewrite_that_cannot_be_re_downloaded_shows_only_the_cached_bars(aapl):
    load_ticker("AAPL", start="2017-01-01", end="2017-06-01", session=FakeYahooSession())
    before = cache_path("AAPL", "1d").read_bytes()
    session = _OfflineAfterOneChart(events=[("split", "2017-08-01", 4.0)])
    series = load_ticker("AAPL", start="2017-01-01", end="2018-01-01", session=session)
    # The new bars do not fit the cached ones, and the whole history could not be fetched
    # again: no mix of the two, and the cache is left as it was.
    pd.testing.assert_frame_equal(
        series.frame, _rows(aapl, "2017-01-01", "2017-06-01"), check_names=False
    )
    assert series.report.notes == ("Showing cached data up to 2017-05-31: no network connection.",)
    assert cache_path("AAPL", "1d").read_bytes() == before


def test_offline_says_so_every_time_not_only_on_the_first_call():
    # yfinance's own retries and caches once turned later offline calls into "no timezone
    # found", which read as an unknown ticker.
    message = (
        "Could not download AAPL: there is no network connection to Yahoo Finance; "
        "check the connection and try again."
    )
    for _ in range(3):
        assert _error(symbol="AAPL", start="2017-01-01", session=FakeYahooSession("offline")) == (
            message
        )
