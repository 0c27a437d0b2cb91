"""Downloaded prices on disk, one CSV per ticker and interval, so a ticker is fetched only once.

Each file remembers, besides its bars, exactly which date spans the downloads behind it covered
(each ``[start, end)``, end exclusive). That is what lets the Yahoo loader ask only for dates it
has never asked for: a stock that started trading in 1980 is not asked again for 1920..1980 on
every load, a weekend is not mistaken for missing data, and a load of 2010 followed by one of
2015 does not pretend that 2011..2014 was downloaded. Files are written atomically
(:func:`stockapp.core.atomic.atomic_open`: a temporary file in the same folder, synced and moved
into place), so a crash or a second process never sees half a file.

Version 1 files recorded only one ``covered`` span from the first to the last date ever asked
for, which could hide years never downloaded. They are still read, conservatively: what counts
as covered is rebuilt from the bars themselves (see :func:`spans_from_bars`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.atomic import atomic_open
from stockapp.data.series import PRICE_COLUMNS
from stockapp.paths import cache_dir

Span = tuple[date, date]  # [start, end): end exclusive

_MAGIC = "# stockapp price cache"
_HEADER_V1 = re.compile(
    re.escape(_MAGIC) + r" v1: covered (\d{4}-\d{2}-\d{2}) (\d{4}-\d{2}-\d{2})$"
)
_HEADER_V2 = re.compile(
    re.escape(_MAGIC) + r" v2: covered ((?:\d{4}-\d{2}-\d{2} \d{4}-\d{2}-\d{2},?\s*)*)$"
)
_SPAN = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{4}-\d{2}-\d{2})")
#: In a version 1 file, bars further apart than this are taken as a hole never downloaded:
#: no exchange in the samples or in Yahoo's daily histories closes for a month, and asking
#: Yahoo once more for a real closure costs one request that then gets recorded.
V1_HOLE_DAYS = 31


@dataclass(frozen=True)
class CachedPrices:
    """Bars as downloaded (canonical columns, ``Date`` index) and the spans asked for."""

    frame: pd.DataFrame
    spans: tuple[Span, ...]  # sorted, disjoint, not touching; see merge_spans

    @property
    def last_date(self) -> date | None:
        return self.frame.index[-1].date() if len(self.frame) else None


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """The union of ``spans`` as sorted, disjoint spans (touching ones joined, empty ones gone)."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def missing_spans(spans: Iterable[Span], start: date, end: date) -> tuple[Span, ...]:
    """The parts of ``[start, end)`` that no span covers, in date order."""
    out = []
    cursor = start
    for a, b in merge_spans(spans):
        if b <= cursor:
            continue
        if a >= end:
            break
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return tuple(out)


def spans_from_bars(index: pd.DatetimeIndex, interval: str) -> tuple[Span, ...]:
    """Spans that certainly were downloaded, judged from the bars alone.

    From the first bar to the end of the last one, split wherever two bars are more than
    :data:`V1_HOLE_DAYS` apart. Used for version 1 files, whose own span may be wrong.
    """
    if not len(index):
        return ()
    days = index.normalize().values.astype("datetime64[D]")
    bar = timedelta(days=7 if interval == "1wk" else 1)
    breaks = np.flatnonzero(np.diff(days).astype(np.int64) > V1_HOLE_DAYS)
    starts = [0, *(breaks + 1)]
    ends = [*breaks, len(days) - 1]
    return merge_spans(
        (days[s].item(), days[e].item() + bar) for s, e in zip(starts, ends, strict=True)
    )


def prices_dir() -> Path:
    path = cache_dir() / "prices"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(symbol: str, interval: str) -> Path:
    """Where ``symbol``'s ``interval`` bars are kept (the symbol made safe for any filesystem)."""
    safe = re.sub(r"[^A-Za-z0-9^.=\-]", "_", symbol)
    return prices_dir() / f"{safe}_{interval}.csv"


def _read_frame(body: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(body), index_col=0)
    frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d").as_unit("ns").rename("Date")
    columns = [c for c in PRICE_COLUMNS if c in frame.columns]
    return frame[columns].astype("float64")


def read_cache(symbol: str, interval: str) -> CachedPrices | None:
    """The cached prices, or ``None`` when there are none or the file is unreadable."""
    path = cache_path(symbol, interval)
    try:
        text = path.read_text(encoding="utf-8")
        header, _, body = text.partition("\n")
        v2 = _HEADER_V2.match(header)
        if v2 is None and _HEADER_V1.match(header) is None:
            return None
        frame = _read_frame(body)
        if "Close" not in frame.columns:
            return None
        if v2 is not None:
            spans = merge_spans(
                (date.fromisoformat(a), date.fromisoformat(b))
                for a, b in _SPAN.findall(v2.group(1))
            )
        else:
            spans = spans_from_bars(pd.DatetimeIndex(frame.index), interval)
    except (OSError, ValueError, TypeError, pd.errors.ParserError):
        return None
    return CachedPrices(frame, spans)


def write_cache(symbol: str, interval: str, cached: CachedPrices) -> Path:
    """Replace the cached prices atomically; returns the file written."""
    path = cache_path(symbol, interval)
    spans = ", ".join(f"{a:%Y-%m-%d} {b:%Y-%m-%d}" for a, b in merge_spans(cached.spans))
    header = f"{_MAGIC} v2: covered {spans}\n"
    frame = cached.frame.sort_index()
    with atomic_open(path, newline="") as out:
        out.write(header)
        frame.to_csv(out, index_label="Date", date_format="%Y-%m-%d")
    return path
