"""Read a price CSV the way people actually have them, or say in one sentence why not.

Accepted: Yahoo Finance's own export (``Date,Open,High,Low,Close,Adj Close,Volume``); the
three-header-row file that ``yfinance.download(...).to_csv()`` writes (``Price,...`` /
``Ticker,...`` / ``Date,,,``); headers in any case or spelling (``adj close``, ``adj_close``,
``AdjClose``); just a date and a close; ``;``, tab or ``|`` separators (with a decimal comma when
the separator is ``;``); a UTF-8 byte-order mark; dates like ``2004-08-19``, ``08/19/2004``,
``19.08.2004`` or with times and timezones (the local date is kept).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.data.quality import clean_prices
from stockapp.data.series import PriceSeries, make_series
from stockapp.errors import DataError

_ALIASES = {
    "date": "Date",
    "datetime": "Date",
    "timestamp": "Date",
    "time": "Date",
    "day": "Date",
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adjclose": "Adj Close",
    "adjustedclose": "Adj Close",
    "volume": "Volume",
    "vol": "Volume",
}
#: Column names taken as the close only when there is no ``Close`` column.
_CLOSE_FALLBACKS = ("adjclose", "adjustedclose", "price", "last")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "#n/a"}
_DATE_FORMATS = (
    "ISO8601",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y%m%d",
    "%m/%d/%y",
)
_TZ_SUFFIX = re.compile(r"(?<=\d)\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_CURRENCY = r"[$€£\s]"
_SAMPLE_BYTES = 64 * 1024


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"CSV file {path} does not exist.")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"CSV file {path} cannot be read: {exc.strerror or exc}.") from exc
    if not data.strip():
        raise DataError(f"CSV file {path} is empty.")
    if b"\x00" in data[:_SAMPLE_BYTES]:
        raise DataError(f"{path} is not a text CSV file (it looks like binary data).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports in a Windows code page: every byte maps to some character.
        return data.decode("cp1252", errors="replace")


def _sniff_separator(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _rows(text: str, sep: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the file line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out = []
    line = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            out.append((line, [cell.strip() for cell in row]))
        line = reader.line_num + 1
    return out


def _split_header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], list]:
    """Column names and the data rows, undoing yfinance's three-row header."""
    names = list(rows[0][1])
    body = rows[1:]
    if names and _key(names[0]) == "price" and body and _key(body[0][1][0]) == "ticker":
        names[0] = "Date"
        body = body[1:]
        if body and _key(body[0][1][0]) == "date" and not any(body[0][1][1:]):
            body = body[1:]
    return names, body


def _map_columns(names: list[str], path: Path) -> dict[str, int]:
    keys = [_key(n) for n in names]
    columns: dict[str, int] = {}
    for i, key in enumerate(keys):
        canonical = _ALIASES.get(key)
        if canonical and canonical not in columns:
            columns[canonical] = i
    if "Close" not in columns:
        for fallback in _CLOSE_FALLBACKS:
            if fallback in keys:
                columns["Close"] = keys.index(fallback)
                columns.pop("Adj Close", None)
                break
    found = ", ".join(n or "(blank)" for n in names)
    if "Close" not in columns:
        raise DataError(f"{path} has no Close column (its columns are: {found}).")
    if "Date" not in columns:
        if 0 in columns.values():
            raise DataError(f"{path} has no Date column (its columns are: {found}).")
        columns["Date"] = 0  # an unnamed first column is tried as the dates
    return columns


def _parse_dates(cells: list[str]) -> pd.Series:
    """The dates, read with the one format that fits the most of them (NaT where none fits)."""
    values = pd.Series([_TZ_SUFFIX.sub("", c) for c in cells], dtype=object)
    best = None
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if best is None or parsed.notna().sum() > best.notna().sum():
            best = parsed
        if best.notna().all():
            break
    return best


def _parse_numbers(cells: list[str], column: str, lines: list[int], path: Path, comma: bool):
    text = pd.Series(cells, dtype=object)
    missing = text.str.lower().isin(_MISSING)
    cleaned = text.str.replace(_CURRENCY, "", regex=True)
    if comma:  # "1.234,56": dots group thousands, the comma is the decimal point
        grouped = cleaned.str.contains(",", regex=False)
        cleaned = cleaned.where(~grouped, cleaned.str.replace(".", "", regex=False))
        cleaned = cleaned.str.replace(",", ".", regex=False)
    else:  # "1,234.56"
        cleaned = cleaned.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(~missing, None), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"Column {column} of {path} has a value that is not a number in row {lines[i]}: "
            f"'{cells[i]}'."
        )
    return numbers.to_numpy(dtype=np.float64)


def read_price_table(path: Path) -> pd.DataFrame:
    """The file's recognised columns as a date-indexed float frame, not yet cleaned."""
    text = _read_text(path)
    sep = _sniff_separator(text)
    try:
        rows = _rows(text, sep)
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}.") from exc
    names, body = _split_header(rows)
    columns = _map_columns(names, path)
    if not body:
        raise DataError(f"{path} has a header but no data rows.")
    lines = [line for line, _ in body]
    width = len(names)
    for line, cells in body:
        if len(cells) > width and any(cells[width:]):
            raise DataError(
                f"Row {line} of {path} has {len(cells)} fields but the header has {width}."
            )
    comma = sep == ";" and any("," in c for _, cells in body[:20] for c in cells[1:])

    def cells_of(index: int) -> list[str]:
        return [cells[index] if index < len(cells) else "" for _, cells in body]

    date_index = columns["Date"]
    date_cells = cells_of(date_index)
    dates = _parse_dates(date_cells)
    if dates.isna().all() and _key(names[date_index]) not in _ALIASES:
        found = ", ".join(n or "(blank)" for n in names)
        raise DataError(f"{path} has no Date column (its columns are: {found}).")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        what = f"a date that cannot be read: '{date_cells[i]}'" if date_cells[i] else "no date"
        raise DataError(f"Row {lines[i]} of {path} has {what}.")
    data = {
        column: _parse_numbers(cells_of(index), column, lines, path, comma)
        for column, index in columns.items()
        if column != "Date"
    }
    return pd.DataFrame(data, index=pd.DatetimeIndex(dates))


def load_csv(path: str | os.PathLike) -> PriceSeries:
    """Load a price CSV as a validated :class:`PriceSeries` named after the file's stem.

    Raises
    ------
    DataError
        With one sentence naming the file (and the column or row) for every kind of bad input.
    """
    path = Path(path)
    frame, report = clean_prices(read_price_table(path), label=str(path))
    return make_series(frame, name=path.stem, source=f"CSV {path}", report=report)
