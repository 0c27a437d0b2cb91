"""Downloaded prices on disk, one CSV per ticker and interval, so a ticker is fetched only once.

Each file remembers, besides its bars, which dates the downloads behind it covered
(``covered_from`` inclusive, ``covered_to`` exclusive). That is what lets the Yahoo loader ask
only for dates it has never asked for: a stock that started trading in 1980 is not asked again
for 1920..1980 on every load, and a weekend is not mistaken for missing data. Files are written
to a temporary file in the same folder and moved into place with :func:`os.replace`, so a crash
or a second process never sees half a file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from stockapp.data.series import PRICE_COLUMNS
from stockapp.paths import cache_dir

_MAGIC = "# stockapp price cache v1"
_HEADER = re.compile(_MAGIC + r": covered (\d{4}-\d{2}-\d{2}) (\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class CachedPrices:
    """Bars as downloaded (canonical columns, ``Date`` index) and the dates asked for."""

    frame: pd.DataFrame
    covered_from: date
    covered_to: date  # exclusive

    @property
    def last_date(self) -> date | None:
        return self.frame.index[-1].date() if len(self.frame) else None


def prices_dir() -> Path:
    path = cache_dir() / "prices"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(symbol: str, interval: str) -> Path:
    """Where ``symbol``'s ``interval`` bars are kept (the symbol made safe for any filesystem)."""
    safe = re.sub(r"[^A-Za-z0-9^.=\-]", "_", symbol)
    return prices_dir() / f"{safe}_{interval}.csv"


def read_cache(symbol: str, interval: str) -> CachedPrices | None:
    """The cached prices, or ``None`` when there are none or the file is unreadable."""
    path = cache_path(symbol, interval)
    try:
        text = path.read_text(encoding="utf-8")
        header, _, body = text.partition("\n")
        match = _HEADER.match(header)
        if not match:
            return None
        frame = pd.read_csv(io.StringIO(body), index_col=0)
        frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d").as_unit("ns").rename("Date")
        columns = [c for c in PRICE_COLUMNS if c in frame.columns]
        frame = frame[columns].astype("float64")
        covered = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
    except (OSError, ValueError, TypeError, pd.errors.ParserError):
        return None
    if "Close" not in frame.columns:
        return None
    return CachedPrices(frame, *covered)


def write_cache(symbol: str, interval: str, cached: CachedPrices) -> Path:
    """Replace the cached prices atomically; returns the file written."""
    path = cache_path(symbol, interval)
    header = f"{_MAGIC}: covered {cached.covered_from:%Y-%m-%d} {cached.covered_to:%Y-%m-%d}\n"
    frame = cached.frame.sort_index()
    handle, temp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(header)
            frame.to_csv(out, index_label="Date", date_format="%Y-%m-%d")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
