"""Daily or weekly prices from Yahoo Finance (via yfinance), kept in an on-disk cache.

Every download is merged into the ticker's cache file (:mod:`stockapp.data.cache`), which
records exactly the date spans downloaded; a later load asks Yahoo only for the pieces of the
requested range that no span covers, whether before, after or between them. A piece next to
cached bars is asked for with two weeks of them again: Yahoo re-adjusts its whole history after
a split (Close and Adj Close) or a dividend (Adj Close), so when those bars no longer match the
cached ones, the cache is stale and the whole history is downloaded again, with a sentence
saying so and naming the split or dividend. When Yahoo cannot be reached the cached bars are
returned with a sentence saying so (never bars from both sides of a hole that was not
downloaded); without a cache the failure is a :class:`DataError` saying whether the symbol is
unknown, the network is down or Yahoo is rate-limiting.

yfinance is told to raise its typed exceptions (``YFRateLimitError``, ``YFPricesMissingError``,
the HTTP library's errors), which say what went wrong; its log (from this thread only) is read
as well, for failures that only log. Every call is wrapped broadly and an empty frame counts as
a failure. This blocks for network round trips (yfinance's cookie requests time out after
30 s): never call it on a GUI thread.
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
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.data_source import DataSource
from stockapp.data.cache import (
    CachedPrices,
    Span,
    merge_spans,
    missing_spans,
    read_cache,
    write_cache,
)
from stockapp.data.quality import clean_prices
from stockapp.data.series import PRICE_COLUMNS, PriceSeries, make_series
from stockapp.errors import DataError
from stockapp.paths import cache_dir

#: The corporate actions yfinance reports beside the prices (0 on bars without one).
ACTION_COLUMNS = ("Dividends", "Stock Splits")
#: Supported bar lengths, as Yahoo names them: daily and weekly (bars dated on Mondays).
INTERVALS = ("1d", "1wk")
#: Where a load without a start date begins: before the first bar of any listed stock.
EARLIEST = date(1920, 1, 1)
#: Seconds yfinance waits for the price request itself.
TIMEOUT_S = 20
#: Calendar days of cached bars asked for again next to a missing piece, to compare them with
#: Yahoo's answer: two weeks hold about nine daily bars or two weekly ones.
OVERLAP_DAYS = 14
#: Cached and new bars differing by more than this share are a rewrite of the history. Yahoo's
#: prices carry float32 rounding (about 6e-8 relative); the smallest dividend adjustments are
#: about 1e-4 (a quarterly dividend of 0.01% of the price).
REWRITE_RTOL = 1e-6

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
    # Raise yfinance's typed exceptions (YFRateLimitError, YFPricesMissingError, the HTTP
    # library's errors) rather than only logging them, so failures need no log-text guessing.
    yf.config.debug.hide_exceptions = False
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
    """Why a download failed: from yfinance's typed exceptions first, its log text second."""
    from yfinance import exceptions as yfe

    said = [m for m in messages if m]
    if error is not None:
        said.append(f"{type(error).__name__}: {error}")
    text = " | ".join(said)
    detail = re.sub(r"^\$[^:]+:\s*", "", said[-1]) if said else "no data and no reason given"
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, yfe.YFRateLimitError) or status == 429:
        return _Failure("ratelimit", detail)
    if isinstance(error, yfe.YFPricesMissingError):
        return _Failure("empty", detail)
    if isinstance(error, yfe.YFTickerMissingError) or status == 404:
        return _Failure("unknown", detail)
    # What is left is classified by its text, as for a yfinance that logs instead of raising.
    if re.search(r"too many requests|rate.?limit|\b429\b", text, re.IGNORECASE):
        return _Failure("ratelimit", detail)
    network_error = isinstance(error, OSError) and status is None
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


def _tidy(raw: pd.DataFrame, columns) -> pd.DataFrame:
    frame = raw[[c for c in columns if c in raw.columns]].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame.index = index.normalize().as_unit("ns").rename("Date")
    return frame


@dataclass(frozen=True)
class _Bars:
    prices: pd.DataFrame  # PRICE_COLUMNS
    actions: pd.DataFrame  # ACTION_COLUMNS that Yahoo sent: ex-dividend amounts, split ratios


def _download(symbol, start, end, interval, session) -> tuple[_Bars | None, _Failure | None]:
    """Bars in ``[start, end)`` from Yahoo, or why there are none."""
    error = None
    raw = None
    with _yfinance_log() as messages:
        try:
            yf = _yfinance()
            # repair=False: yfinance's repair fetches other intervals to rebuild bars it
            # suspects (several extra requests, each a chance of rate limiting) and rewrites
            # prices by heuristics that can change between downloads, which would make cached
            # and new bars disagree for no reason. Suspect bars are reported by the quality
            # check instead (an extreme move is a warning naming its date).
            raw = yf.Ticker(symbol, session=session).history(
                start=start,
                end=end,
                interval=interval,
                auto_adjust=False,
                actions=True,
                repair=False,
                timeout=TIMEOUT_S,
            )
        except Exception as exc:  # yfinance and its HTTP library raise almost anything
            error = exc
    if isinstance(raw, pd.DataFrame) and not raw.empty and "Close" in raw.columns:
        return _Bars(_tidy(raw, PRICE_COLUMNS), _tidy(raw, ACTION_COLUMNS)), None
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


def _cached_notice(failure: _Failure, frame: pd.DataFrame, starts: bool, ends: bool) -> str:
    """What the user is shown instead of fresh bars: which cached ones, and why."""
    reason = {
        "offline": "no network connection",
        "ratelimit": "Yahoo Finance is limiting requests, try again in a few minutes",
    }.get(failure.kind, f"Yahoo Finance sent no prices ({failure.detail})")
    first, last = frame.index[0], frame.index[-1]
    if starts and not ends:
        return f"Showing cached data up to {last:%Y-%m-%d}: {reason}."
    if ends and not starts:
        return f"Showing cached data from {first:%Y-%m-%d}: {reason}."
    return f"Showing cached data from {first:%Y-%m-%d} to {last:%Y-%m-%d}: {reason}."


def _pieces(spans: tuple[Span, ...], want_from: date, want_to: date, interval: str):
    """What to download: ``(new_from, new_to, ask_from, ask_to)`` for each missing piece.

    A piece that touches cached bars is asked for with :data:`OVERLAP_DAYS` more on that side,
    so that the answer can be compared with the cache (see :func:`_disagrees`).
    """
    ends = {end for _, end in spans}
    starts = {start for start, _ in spans}
    overlap = timedelta(days=OVERLAP_DAYS)
    for a, b in missing_spans(spans, _bar_start(want_from, interval), want_to):
        yield a, b, a - overlap if a in ends else a, b + overlap if b in starts else b


def _within(index: pd.DatetimeIndex, spans) -> np.ndarray:
    """Which dates of ``index`` fall inside one of ``spans``."""
    inside = np.zeros(len(index), dtype=bool)
    for a, b in spans:
        inside |= (index >= pd.Timestamp(a)) & (index < pd.Timestamp(b))
    return inside


def _mismatch(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per common date and for Close / Adj Close: do the two downloads disagree?"""
    common = old.index.intersection(new.index)
    columns = [c for c in ("Close", "Adj Close") if c in old.columns and c in new.columns]
    a = old.loc[common, columns].to_numpy()
    b = new.loc[common, columns].to_numpy()
    # A value missing on either side says nothing about a re-adjustment.
    known = np.isfinite(a) & np.isfinite(b)
    differ = ~np.isclose(a, b, rtol=REWRITE_RTOL, atol=0.0) & known
    return pd.DataFrame(differ, common, columns)


def _disagrees(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    return bool(_mismatch(old, new).to_numpy().any())


def _ratio_text(ratio: float) -> str:
    fraction = Fraction(ratio).limit_denominator(20)
    return f"{fraction.numerator}-for-{fraction.denominator}"


def _event_dates(bad: pd.DataFrame, actions: pd.DataFrame, column: str) -> list[pd.Timestamp]:
    """When the events behind a rewrite happened, as far as can be told.

    The bars from an event on are unchanged, so when cached bars after the disagreement agree
    again, the first of them is the event's date. When the disagreement runs to the last cached
    bar, the event is later: Yahoo's own list of them (``column`` of ``actions``) names it.
    """
    rows = bad.any(axis=1).to_numpy()
    last_bad = bad.index[rows][-1]
    agreeing = bad.index[bad.index > last_bad]
    if len(agreeing):
        return [agreeing[0]]
    if column not in actions.columns:
        return []
    events = actions[column]
    return list(events.index[(events.index > last_bad) & (events.to_numpy() > 0)])


def _rewrite_sentence(symbol: str, old: pd.DataFrame, new: _Bars) -> str:
    """Why Yahoo's history no longer matches the cached one, told from how they differ.

    Yahoo divides every price before a split by its ratio (Close and Adj Close alike) and
    scales only Adj Close before a dividend's ex-date; in both cases every bar before the event
    changes by the same factor and none after it.
    """
    bad = _mismatch(old, new.prices)
    rows = bad.any(axis=1).to_numpy()
    if not rows.any():
        return f"{symbol} history re-downloaded: Yahoo revised its prices."
    first_bad, last_bad = bad.index[rows][0], bad.index[rows][-1]
    before_event = rows[: int(np.flatnonzero(rows)[-1]) + 1].all()
    close = bad["Close"].to_numpy()
    ratios = (old["Close"] / new.prices["Close"]).loc[bad.index[rows]].to_numpy()
    prefix = f"{symbol} history re-downloaded: Yahoo adjusted it for"
    if before_event and close[rows].all() and np.allclose(ratios, ratios[0], rtol=1e-3):
        dates = _event_dates(bad, new.actions, "Stock Splits")
        when = f"on {dates[-1]:%Y-%m-%d}" if dates else f"after {last_bad:%Y-%m-%d}"
        return f"{prefix} a {_ratio_text(float(np.median(ratios)))} split {when}."
    if before_event and not close.any():
        dates = _event_dates(bad, new.actions, "Dividends")
        if len(dates) > 1:
            return f"{prefix} {len(dates)} dividends, the last on {dates[-1]:%Y-%m-%d}."
        when = f"on {dates[-1]:%Y-%m-%d}" if dates else f"after {last_bad:%Y-%m-%d}"
        return f"{prefix} a dividend {when}."
    return (
        f"{symbol} history re-downloaded: Yahoo's prices from {first_bad:%Y-%m-%d} to "
        f"{last_bad:%Y-%m-%d} changed since they were cached."
    )


@dataclass
class _Refreshed:
    frame: pd.DataFrame  # cached and downloaded bars, sorted and unique
    have: tuple[Span, ...]  # the spans those bars really cover
    failure: _Failure | None = None  # what stopped a download
    notice: str | None = None  # the history was re-downloaded, and why


def _refresh(symbol, interval, want_from, want_to, today, session) -> _Refreshed:
    """Cached bars plus freshly downloaded missing ones; the cache file is updated.

    Only the spans missing from the cache are asked for. When Yahoo's answer disagrees with the
    cached bars it overlaps (a split or a dividend since they were cached: Yahoo re-adjusts the
    whole history), the cached bars are stale and everything is downloaded again.
    """
    cached = read_cache(symbol, interval)
    old = cached.frame if cached is not None else pd.DataFrame()
    spans = cached.spans if cached is not None else ()
    settled = _bar_start(today, interval)  # bars from here on may still change
    parts, have, keep = [old], list(spans), list(spans)
    failure, stale = None, False
    for a, b, ask_from, ask_to in _pieces(spans, want_from, want_to, interval):
        bars, why = _download(symbol, ask_from, ask_to, interval, session)
        if why is not None and why.kind != "empty":
            failure = why
            break  # Yahoo is unreachable or refusing: do not ask again for the other pieces
        if bars is not None:
            stale = stale or (len(old) > 0 and _disagrees(old, bars.prices))
            parts.append(bars.prices[_within(bars.prices.index, [(a, b)])])
        have.append((a, b))
        # Only whole bars are cached: not the current one, nor a week cut short by ``b``.
        keep.append((a, max(a, min(_bar_start(b, interval), settled))))

    notice = None
    if stale:
        a = min([_bar_start(want_from, interval), *(start for start, _ in spans)])
        b = max([want_to, *(end for _, end in spans)])
        bars, why = _download(symbol, a, b, interval, session)
        if bars is None:
            # The new bars do not fit the cached ones: show only the cached ones.
            failure = why if why is not None and why.kind != "empty" else _Failure("other", "")
            parts, have, keep = [old], list(spans), list(spans)
        else:
            notice = _rewrite_sentence(symbol, old, bars)
            failure = None  # this download covers any piece that failed before
            parts, have = [bars.prices], [(a, b)]
            keep = [(a, max(a, min(_bar_start(b, interval), settled)))]

    frames = [p for p in parts if len(p)]
    if not frames:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="Date"))
        return _Refreshed(empty, merge_spans(have), failure, notice)
    merged = pd.concat(frames).sort_index()
    merged = merged[~merged.index.duplicated(keep="last")]
    keep_spans = merge_spans(keep)
    if stale or keep_spans != merge_spans(spans):
        whole = merged[_within(merged.index, keep_spans)]
        if len(whole):
            write_cache(symbol, interval, CachedPrices(whole, keep_spans))
    return _Refreshed(merged, merge_spans(have), failure, notice)


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

    got = _refresh(symbol, interval, want_from, want_to, today, session)
    window, starts, ends = (want_from, want_to), True, True
    if got.failure is not None:
        # Never bars from both sides of a hole that could not be downloaded: the latest
        # stretch that really was.
        lo, hi = _bar_start(want_from, interval), want_to
        window = (want_to, want_to)
        for a, b in reversed(got.have):
            a, b = max(a, lo), min(b, hi)
            if a < b and _within(got.frame.index, [(a, b)]).any():
                window, starts, ends = (max(a, want_from), b), a <= lo, b >= hi
                break
    wanted = got.frame[_within(got.frame.index, [window])]
    if wanted.empty:
        why = got.failure or _Failure("empty", "")
        raise DataError(_no_data_sentence(symbol, why, want_from, want_to))

    frame, report = clean_prices(wanted, label=symbol)
    origin = DataSource("ticker", symbol, interval, "Adj Close" in frame.columns)
    source = origin.describe()
    notes = [got.notice] if got.notice else []
    if got.failure is not None:
        notice = _cached_notice(got.failure, frame, starts, ends)
        notes.append(notice)
        source = f"{source}. {notice}"
    if notes:
        report = dataclasses.replace(report, notes=(*report.notes, *notes))
    return make_series(frame, symbol, source, report, origin)
