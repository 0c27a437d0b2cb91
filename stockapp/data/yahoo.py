"""Daily or weekly prices from Yahoo Finance (via yfinance), kept in an on-disk cache.

Every download is merged into the ticker's cache file (:mod:`stockapp.data.cache`); a later
load asks Yahoo only for dates the cache has never covered. When Yahoo cannot be reached the
cached bars are returned with a sentence saying so; without a cache the failure is a
:class:`DataError` saying whether the symbol is unknown, the network is down or Yahoo is
rate-limiting.

yfinance does not raise for most failures: it logs the reason to the ``yfinance`` logger and
returns an empty frame. So every call is wrapped broadly, an empty frame counts as a failure and
the logger's messages (from this thread only) are read to tell the user why. This blocks for
network round trips (yfinance's cookie requests time out after 30 s): never call it on a GUI
thread.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from stockapp.data.cache import CachedPrices, read_cache, write_cache
from stockapp.data.quality import clean_prices
from stockapp.data.series import PRICE_COLUMNS, PriceSeries, make_series
from stockapp.errors import DataError
from stockapp.paths import cache_dir

#: Supported bar lengths, as Yahoo names them: daily and weekly (bars dated on Mondays).
INTERVALS = ("1d", "1wk")
#: Where a load without a start date begins: before the first bar of any listed stock.
EARLIEST = date(1920, 1, 1)
#: Seconds yfinance waits for the price request itself.
TIMEOUT_S = 20

_SYMBOL = re.compile(r"^[A-Z0-9^][A-Z0-9^.=\-]{0,19}$")
_yf_cache_location: Path | None = None


@dataclass(frozen=True)
class _Failure:
    kind: str  # "offline", "ratelimit", "unknown", "empty" or "other"
    detail: str


def normalise_symbol(symbol: str) -> str:
    """``symbol`` upper-cased and checked, or :class:`DataError` without touching the network."""
    text = (symbol or "").strip().upper()
    if not text:
        raise DataError("No ticker symbol given; enter one such as AAPL or ^GSPC.")
    if not _SYMBOL.match(text):
        raise DataError(
            f"'{symbol.strip()}' is not a ticker symbol; use letters, digits and . - ^ = only "
            "(such as AAPL, BRK-B or ^GSPC)."
        )
    return text


def _to_date(value: date | str | None, what: str) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataError(f"The {what} date '{value}' is not a date like 2018-01-31.") from None


def _today() -> date:
    return date.today()


def _bar_start(day: date, interval: str) -> date:
    """The date of the bar that ``day`` falls in: itself, or its week's Monday."""
    return day if interval == "1d" else day - timedelta(days=day.weekday())


def _yfinance():
    """Import yfinance, pointing its own sqlite caches into stockapp's cache folder first."""
    global _yf_cache_location
    import yfinance as yf

    # yfinance 1.7 still calls pandas with inplace=True, which pandas 3 deprecates: warnings
    # raised inside yfinance are noise to users. Re-added on each call (a filter replaces its
    # twin) because test runners reset the filters.
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=r"yfinance(\.|$)")
    location = cache_dir() / "yfinance"
    if location != _yf_cache_location:
        location.mkdir(parents=True, exist_ok=True)
        yf.cache.set_cache_location(str(location))
        _yf_cache_location = location
    return yf


class _ThreadLog(logging.Handler):
    """Collects the yfinance logger's messages emitted by one thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage().strip())


@contextmanager
def _yfinance_log() -> Iterator[list[str]]:
    """Capture yfinance's log; having a handler also stops Python printing it to stderr."""
    logger = logging.getLogger("yfinance")
    handler = _ThreadLog()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _classify(error: BaseException | None, messages: list[str]) -> _Failure:
    said = [m for m in messages if m]
    if error is not None:
        said.append(f"{type(error).__name__}: {error}")
    text = " | ".join(said)
    detail = re.sub(r"^\$[^:]+:\s*", "", said[-1]) if said else "no data and no reason given"
    if type(error).__name__ == "YFRateLimitError" or re.search(
        r"too many requests|rate.?limit|\b429\b", text, re.IGNORECASE
    ):
        return _Failure("ratelimit", detail)
    network_error = isinstance(error, OSError) and getattr(error, "response", None) is None
    if network_error or re.search(
        r"resolve host|DNSError|ConnectionError|Connection refused|timed out|Timeout|"
        r"Failed to perform|Failed to connect|Network is unreachable",
        text,
        re.IGNORECASE,
    ):
        return _Failure("offline", detail)
    if re.search(r"no price data found|data doesn't exist", text, re.IGNORECASE):
        return _Failure("empty", detail)
    if re.search(r"no timezone found|may be delisted|not found", text, re.IGNORECASE):
        return _Failure("unknown", detail)
    return _Failure("other", detail)


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    frame = raw[[c for c in PRICE_COLUMNS if c in raw.columns]].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame.index = index.normalize().as_unit("ns").rename("Date")
    return frame


def _download(symbol, start, end, interval, session) -> tuple[pd.DataFrame | None, _Failure | None]:
    """Bars in ``[start, end)`` from Yahoo, or why there are none."""
    error = None
    raw = None
    with _yfinance_log() as messages:
        try:
            yf = _yfinance()
            raw = yf.Ticker(symbol, session=session).history(
                start=start,
                end=end,
                interval=interval,
                auto_adjust=False,
                actions=False,
                timeout=TIMEOUT_S,
            )
        except Exception as exc:  # yfinance and its HTTP library raise almost anything
            error = exc
    if isinstance(raw, pd.DataFrame) and not raw.empty and "Close" in raw.columns:
        return _tidy(raw), None
    return None, _classify(error, messages)


def _no_data_sentence(symbol: str, failure: _Failure, start: date, end: date) -> str:
    if failure.kind == "unknown":
        return f"Yahoo Finance has no data for ticker '{symbol}'; check the symbol."
    if failure.kind == "offline":
        return (
            f"Could not download {symbol}: there is no network connection to Yahoo Finance; "
            "check the connection and try again."
        )
    if failure.kind == "ratelimit":
        return (
            f"Yahoo Finance is limiting requests right now, so {symbol} could not be "
            "downloaded; try again in a few minutes."
        )
    if failure.kind == "empty":
        return (
            f"Yahoo Finance has no {symbol} prices from {start:%Y-%m-%d} to {end:%Y-%m-%d}; "
            "choose a wider date range."
        )
    return f"Yahoo Finance sent no prices for {symbol} ({failure.detail}); try again later."


def _cached_notice(failure: _Failure, frame: pd.DataFrame, backwards: bool) -> str:
    reason = {
        "offline": "no network connection",
        "ratelimit": "Yahoo Finance is limiting requests, try again in a few minutes",
    }.get(failure.kind, f"Yahoo Finance sent no prices ({failure.detail})")
    if backwards:
        return f"Showing cached data from {frame.index[0]:%Y-%m-%d}: {reason}."
    return f"Showing cached data up to {frame.index[-1]:%Y-%m-%d}: {reason}."


def _missing_ranges(cached: CachedPrices | None, want_from: date, want_to: date, interval: str):
    """The date ranges to download: what the cache lacks, starting on bar boundaries."""
    want_from = _bar_start(want_from, interval)
    if cached is None:
        return [(want_from, want_to)]
    ranges = []
    if want_from < cached.covered_from:
        ranges.append((want_from, cached.covered_from))
    if want_to > cached.covered_to:
        ranges.append((max(cached.covered_to, want_from), want_to))
    return ranges


def _refresh(symbol, interval, want_from, want_to, today, session):
    """Cached bars plus freshly downloaded missing ones; the cache file is updated.

    Returns the merged bars (possibly empty), the failure that stopped a download (``None``
    when all went well) and whether that failure was for dates before the cached ones.
    """
    cached = read_cache(symbol, interval)
    parts = [cached.frame] if cached is not None else []
    before = covered = (cached.covered_from, cached.covered_to) if cached is not None else None
    failure, failed_backwards = None, False
    settled = _bar_start(today, interval)  # bars from here on may still change
    for a, b in _missing_ranges(cached, want_from, want_to, interval):
        bars, why = _download(symbol, a, b, interval, session)
        if why is not None and why.kind != "empty":
            failure, failed_backwards = why, cached is not None and a < cached.covered_from
            break  # Yahoo is unreachable or refusing: do not ask again for the other range
        if bars is not None:
            parts.append(bars)
        # Only whole bars are cached: not the current one, nor a week cut short by ``end``.
        done = max(a, min(_bar_start(b, interval), settled))
        covered = (a, done) if covered is None else (min(covered[0], a), max(covered[1], done))
    if not parts:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="Date")), failure, failed_backwards

    merged = pd.concat(parts).sort_index()
    merged = merged[~merged.index.duplicated(keep="last")]
    if covered != before:
        whole = merged[merged.index < pd.Timestamp(covered[1])]
        if len(whole):
            write_cache(symbol, interval, CachedPrices(whole, *covered))
    return merged, failure, failed_backwards


def load_ticker(
    symbol: str,
    start: date | str | None = None,
    end: date | str | None = None,
    interval: str = "1d",
    session=None,
) -> PriceSeries:
    """Load ``symbol``'s bars in ``[start, end)`` from the cache and Yahoo Finance.

    Parameters
    ----------
    symbol
        A Yahoo ticker (``AAPL``, ``^GSPC``, ``BRK-B``); case does not matter.
    start, end
        ``YYYY-MM-DD`` strings or dates; ``end`` is exclusive. By default everything up to today.
    interval
        ``"1d"`` or ``"1wk"``.
    session
        A ``curl_cffi`` session for yfinance to use (the tests pass a fake one).

    Raises
    ------
    DataError
        For a malformed symbol, date or interval (before any network access), and when there
        are neither fresh nor cached prices, saying why.
    """
    symbol = normalise_symbol(symbol)
    if interval not in INTERVALS:
        raise DataError(f"Interval '{interval}' is not supported; use 1d (daily) or 1wk (weekly).")
    today = _today()
    want_from = _to_date(start, "start") or EARLIEST
    want_to = _to_date(end, "end") or today + timedelta(days=1)
    if want_from >= want_to:
        raise DataError(
            f"The start date {want_from:%Y-%m-%d} is not before the end date {want_to:%Y-%m-%d}."
        )

    merged, failure, failed_backwards = _refresh(
        symbol, interval, want_from, want_to, today, session
    )
    wanted = merged[
        (merged.index >= pd.Timestamp(want_from)) & (merged.index < pd.Timestamp(want_to))
    ]
    if wanted.empty:
        why = failure or _Failure("empty", "")
        raise DataError(_no_data_sentence(symbol, why, want_from, want_to))

    frame, report = clean_prices(wanted, label=symbol)
    source = f"Yahoo Finance {symbol} ({interval})"
    if failure is not None:
        notice = _cached_notice(failure, frame, failed_backwards)
        report = dataclasses.replace(report, notes=(*report.notes, notice))
        source = f"{source}. {notice}"
    return make_series(frame, name=symbol, source=source, report=report)
