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

One download and the name of its failure are :mod:`stockapp.data.yahoo_download`'s; telling a
rewrite of the history and its cause is :mod:`stockapp.data.yahoo_rewrite`'s. This blocks for
network round trips (yfinance's cookie requests time out after 30 s): never call it on a GUI
thread.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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
from stockapp.data.series import PriceSeries, make_series
from stockapp.data.yahoo_download import Failure, cached_notice, download, no_data_sentence
from stockapp.data.yahoo_rewrite import disagrees, rewrite_sentence
from stockapp.errors import DataError

#: Supported bar lengths, as Yahoo names them: daily and weekly (bars dated on Mondays).
INTERVALS = ("1d", "1wk")
#: Where a load without a start date begins: before the first bar of any listed stock.
EARLIEST = date(1920, 1, 1)
#: Calendar days of cached bars asked for again next to a missing piece, to compare them with
#: Yahoo's answer: two weeks hold about nine daily bars or two weekly ones.
OVERLAP_DAYS = 14

_SYMBOL = re.compile(r"^[A-Z0-9^][A-Z0-9^.=\-]{0,19}$")


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


def _pieces(spans: tuple[Span, ...], want_from: date, want_to: date, interval: str):
    """What to download: ``(new_from, new_to, ask_from, ask_to)`` for each missing piece.

    A piece that touches cached bars is asked for with :data:`OVERLAP_DAYS` more on that side,
    so that the answer can be compared with the cache
    (:func:`stockapp.data.yahoo_rewrite.disagrees`).
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


@dataclass
class _Refreshed:
    frame: pd.DataFrame  # cached and downloaded bars, sorted and unique
    have: tuple[Span, ...]  # the spans those bars really cover
    failure: Failure | None = None  # what stopped a download
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
        bars, why = download(symbol, ask_from, ask_to, interval, session)
        if why is not None and why.kind != "empty":
            failure = why
            break  # Yahoo is unreachable or refusing: do not ask again for the other pieces
        if bars is not None:
            stale = stale or (len(old) > 0 and disagrees(old, bars.prices))
            parts.append(bars.prices[_within(bars.prices.index, [(a, b)])])
        have.append((a, b))
        # Only whole bars are cached: not the current one, nor a week cut short by ``b``.
        keep.append((a, max(a, min(_bar_start(b, interval), settled))))

    notice = None
    if stale:
        a = min([_bar_start(want_from, interval), *(start for start, _ in spans)])
        b = max([want_to, *(end for _, end in spans)])
        bars, why = download(symbol, a, b, interval, session)
        if bars is None:
            # The new bars do not fit the cached ones: show only the cached ones.
            failure = why if why is not None and why.kind != "empty" else Failure("other", "")
            parts, have, keep = [old], list(spans), list(spans)
        else:
            notice = rewrite_sentence(symbol, old, bars)
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
        why = got.failure or Failure("empty", "")
        raise DataError(no_data_sentence(symbol, why, want_from, want_to))

    frame, report = clean_prices(wanted, label=symbol)
    origin = DataSource("ticker", symbol, interval, "Adj Close" in frame.columns)
    source = origin.describe()
    notes = [got.notice] if got.notice else []
    if got.failure is not None:
        notice = cached_notice(got.failure, frame, starts, ends)
        notes.append(notice)
        source = f"{source}. {notice}"
    if notes:
        report = dataclasses.replace(report, notes=(*report.notes, *notes))
    return make_series(frame, symbol, source, report, origin)
