"""A curl_cffi session that answers Yahoo Finance's requests from the bundled sample CSVs.

yfinance accepts ``session=`` on every public call and sends all its HTTP through it, so this
fake lets the tests run yfinance's real request building, JSON parsing and error handling with
no network. It answers only what a price download asks for: the cookie (``fc.yahoo.com``), the
crumb (``/v1/test/getcrumb``) and the v8 chart (``/v8/finance/chart/{SYMBOL}``), built from
``stockapp/resources/samples/{SYMBOL}.csv`` for the requested ``period1``/``period2``/
``interval``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from curl_cffi import requests as curl_requests
from curl_cffi.requests.exceptions import DNSError

SAMPLES = Path(__file__).resolve().parents[2] / "stockapp" / "resources" / "samples"
TZ = "America/New_York"

NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}

QUOTE_NOT_FOUND = {
    "quoteSummary": {
        "result": None,
        "error": {"code": "Not Found", "description": "Quote not found for symbol"},
    }
}


def adjusted(daily: pd.DataFrame, events=()) -> pd.DataFrame:
    """``daily`` as Yahoo re-adjusts it after corporate actions.

    ``events`` holds ``("split", "YYYY-MM-DD", ratio)`` and ``("dividend", "YYYY-MM-DD",
    amount)``, applied in order. The samples stand for prices that never split: after a split
    the shares trade at ``1/ratio`` of them and Yahoo divides the older prices by the ratio too
    (volumes multiplied), so every price is divided. A dividend scales Adj Close before the
    ex-date by ``1 - amount / the close before it``.
    """
    daily = daily.copy()
    for kind, day, value in events:
        before = daily.index < pd.Timestamp(day)
        if kind == "split":
            for column in ("Open", "High", "Low", "Close", "Adj Close"):
                daily[column] = daily[column] / value
            daily["Volume"] = daily["Volume"] * value
        else:
            factor = 1.0 - value / daily.loc[before, "Close"].iloc[-1]
            daily.loc[before, "Adj Close"] = daily.loc[before, "Adj Close"] * factor
    return daily


def _bars(symbol: str, period1: int, period2: int, interval: str, events=()) -> pd.DataFrame:
    """The sample's daily rows in [period1, period2), or weekly bars made from them."""
    daily = pd.read_csv(SAMPLES / f"{symbol}.csv", index_col="Date", parse_dates=True)
    daily = adjusted(daily, events)
    # Yahoo stamps a daily bar with the market open, 09:30 New York time.
    opens = daily.index.tz_localize(TZ) + pd.Timedelta(hours=9, minutes=30)
    daily = daily.assign(ts=opens.as_unit("s").asi8)
    daily = daily[(daily["ts"] >= period1) & (daily["ts"] < period2)]
    if interval == "1d" or daily.empty:
        return daily
    week = daily.index.to_period("W-SUN").start_time
    grouped = daily.groupby(week)
    weekly = pd.DataFrame(
        {
            "Open": grouped["Open"].first(),
            "High": grouped["High"].max(),
            "Low": grouped["Low"].min(),
            "Close": grouped["Close"].last(),
            "Adj Close": grouped["Adj Close"].last(),
            "Volume": grouped["Volume"].sum(),
        }
    )
    monday = weekly.index.tz_localize(TZ) + pd.Timedelta(hours=9, minutes=30)
    return weekly.assign(ts=monday.as_unit("s").asi8)


def chart_json(symbol: str, period1: int, period2: int, interval: str, events=()) -> dict:
    """The body Yahoo's v8 chart endpoint answers for a known symbol."""
    bars = _bars(symbol, period1, period2, interval, events)
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "instrumentType": "INDEX" if symbol.startswith("^") else "EQUITY",
        "firstTradeDate": 345479400,
        "regularMarketTime": 1516395600,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": TZ,
        "priceHint": 2,
        "dataGranularity": interval,
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    result = {
        "meta": meta,
        "timestamp": [int(t) for t in bars["ts"]],
        "indicators": {
            "quote": [
                {
                    "open": bars["Open"].tolist(),
                    "high": bars["High"].tolist(),
                    "low": bars["Low"].tolist(),
                    "close": bars["Close"].tolist(),
                    "volume": [int(v) for v in bars["Volume"]],
                }
            ],
            "adjclose": [{"adjclose": bars["Adj Close"].tolist()}],
        },
    }
    actions = {"dividends": {}, "splits": {}}
    for kind, day, value in events:
        ts = int(
            (pd.Timestamp(day).tz_localize(TZ) + pd.Timedelta(hours=9, minutes=30)).timestamp()
        )
        if not period1 <= ts < period2 or interval != "1d":
            continue
        if kind == "split":
            ratio = {
                "date": ts,
                "numerator": value,
                "denominator": 1.0,
                "splitRatio": f"{value:g}:1",
            }
            actions["splits"][str(ts)] = ratio
        else:
            actions["dividends"][str(ts)] = {"amount": value, "date": ts}
    if any(actions.values()):
        result["events"] = {k: v for k, v in actions.items() if v}
    if bars.empty:
        # Yahoo leaves out the arrays when a range holds no bars.
        del result["timestamp"]
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return {"chart": {"result": [result], "error": None}}


class FakeYahooSession(curl_requests.Session):
    """Answers yfinance from local CSVs; ``mode`` is "ok", "offline" or "ratelimit".

    ``urls`` records every request and ``chart_requests`` the query of every chart request, so
    tests can check whether and for which dates Yahoo was asked. ``events`` are corporate
    actions since the samples were saved (see :func:`adjusted`): the history Yahoo serves is
    re-adjusted for them, as the real one is.
    """

    def __init__(self, mode: str = "ok", events=()) -> None:
        super().__init__()
        self.mode = mode
        self.events = tuple(events)
        self.urls: list[str] = []
        self.chart_requests: list[dict] = []

    @property
    def price_requests(self) -> list[dict]:
        """Chart requests for a date range (not yfinance's one-day timezone probe)."""
        return [r for r in self.chart_requests if "period1" in r]

    def request(self, method, url, params=None, **kwargs):
        self.urls.append(url)
        parts = urlsplit(url)
        if self.mode == "offline":
            raise DNSError(f"Failed to perform, curl: (6) Could not resolve host: {parts.hostname}")
        if parts.hostname == "fc.yahoo.com":
            return self._answer(url, 404, b"")
        if parts.path.endswith("/v1/test/getcrumb"):
            if self.mode == "ratelimit":
                return self._answer(url, 429, b"Too Many Requests")
            return self._answer(url, 200, b"fake-crumb")
        if "/v8/finance/chart/" in parts.path:
            return self._chart(url, parts.path.rsplit("/", 1)[-1], dict(params or {}))
        if parts.hostname.endswith("consent.yahoo.com"):
            return self._answer(url, 200, b"<html><body></body></html>")
        if parts.path.endswith("/v7/finance/quote"):
            return self._answer(url, 200, b'{"quoteResponse": {"result": [], "error": null}}')
        # What yfinance asks when the chart fails: the quote summary, as for an unknown symbol.
        return self._answer(url, 404, json.dumps(QUOTE_NOT_FOUND).encode())

    def _chart(self, url: str, symbol: str, params: dict):
        self.chart_requests.append({"symbol": symbol, **params})
        if self.mode == "ratelimit":
            return self._answer(url, 429, b"Too Many Requests")
        if not (SAMPLES / f"{symbol}.csv").exists():
            return self._answer(url, 404, json.dumps(NOT_FOUND).encode())
        if "range" in params:  # yfinance asks for one day to learn the exchange's timezone
            period2 = 1516395600
            period1 = period2 - 7 * 86400
        else:
            period1, period2 = int(params["period1"]), int(params["period2"])
        body = chart_json(symbol, period1, period2, params.get("interval", "1d"), self.events)
        return self._answer(url, 200, json.dumps(body).encode())

    @staticmethod
    def _answer(url: str, status: int, content: bytes):
        response = curl_requests.Response()
        response.url = url
        response.status_code = status
        response.ok = status < 400
        response.reason = "OK" if status < 400 else "Error"
        response.content = content
        return response


def reset_yfinance() -> None:
    """Forget yfinance's process-wide state, as if the next call were a fresh process's first.

    yfinance keeps a session singleton (with its cookie and crumb), an ``lru_cache`` of chart
    responses, handles to its sqlite caches and a counter of timezone look-ups; and stockapp
    remembers where it pointed those caches.
    """
    import yfinance.base
    import yfinance.cache
    import yfinance.data

    from stockapp.data import yahoo_download

    yfinance.data.SingletonMeta._instances.pop(yfinance.data.YfData, None)
    yfinance.data.YfData.cache_get.cache_clear()
    yfinance.base._tz_info_fetch_ctr = 0
    for manager in (
        yfinance.cache._TzDBManager,
        yfinance.cache._CookieDBManager,
        yfinance.cache._ISINDBManager,
    ):
        manager.close_db()
        manager._db = None
    yfinance.cache._TzCacheManager._tz_cache = None
    yfinance.cache._CookieCacheManager._Cookie_cache = None
    yfinance.cache._ISINCacheManager._isin_cache = None
    yahoo_download._yf_cache_location = None
