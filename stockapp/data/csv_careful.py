"""The careful CSV reader: every row through Python's ``csv`` module, every cell cleaned.

This is the reference reading of a price CSV and the source of every sentence about a bad file
(it knows each row's line). The fast reader (:mod:`stockapp.data.csv_loader`) uses it for the
rows its C parse rejects (:func:`parse_numbers` on just those cells) and for whole files whose
shape it does not take on (then :func:`read_careful`); the two must give equal answers, which
``tests/data/test_csv_fast_vs_careful.py`` checks on many awkward generated files.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.data.csv_dates import parse_dates
from stockapp.errors import DataError

ALIASES = {
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
MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "#n/a"}
_CURRENCY = r"[$€£\s]"
SAMPLE_BYTES = 64 * 1024
#: Body rows whose cells decide whether ``;`` files write decimal commas.
COMMA_ROWS = 20


def key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


def check_path(path: Path) -> None:
    if not path.exists():
        raise DataError(f"CSV file {path} does not exist.")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file.")


def read_text(path: Path) -> str:
    check_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"CSV file {path} cannot be read: {exc.strerror or exc}.") from exc
    if not data.strip():
        raise DataError(f"CSV file {path} is empty.")
    if b"\x00" in data[:SAMPLE_BYTES]:
        raise DataError(f"{path} is not a text CSV file (it looks like binary data).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports in a Windows code page: every byte maps to some character.
        return data.decode("cp1252", errors="replace")


def sniff_separator(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def rows(text: str, sep: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the file line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out = []
    line = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            out.append((line, [cell.strip() for cell in row]))
        line = reader.line_num + 1
    return out


def split_header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], list]:
    """Column names and the data rows, undoing yfinance's three-row header."""
    names = list(rows[0][1])
    body = rows[1:]
    if names and key(names[0]) == "price" and body and key(body[0][1][0]) == "ticker":
        names[0] = "Date"
        body = body[1:]
        if body and key(body[0][1][0]) == "date" and not any(body[0][1][1:]):
            body = body[1:]
    return names, body


def map_columns(names: list[str], path: Path) -> dict[str, int]:
    keys = [key(n) for n in names]
    columns: dict[str, int] = {}
    for i, k in enumerate(keys):
        canonical = ALIASES.get(k)
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


def decimal_comma(sep: str, body: list) -> bool:
    """Whether a ``;`` file writes decimal commas: a comma in a cell of its first rows."""
    return sep == ";" and any("," in c for _, cells in body[:COMMA_ROWS] for c in cells[1:])


def clean_numbers(text: pd.Series, comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stripped cells as numbers: currency signs and spaces dropped, thousands separators
    removed, decimal commas read. Returns the numbers (NaN where missing) and where a cell is
    neither a number nor a word for missing."""
    text = text.astype(object)
    missing = text.str.lower().isin(MISSING)
    cleaned = text.str.replace(_CURRENCY, "", regex=True)
    if comma:  # "1.234,56": dots group thousands, the comma is the decimal point
        grouped = cleaned.str.contains(",", regex=False)
        cleaned = cleaned.where(~grouped, cleaned.str.replace(".", "", regex=False))
        cleaned = cleaned.str.replace(",", ".", regex=False)
    else:  # "1,234.56"
        cleaned = cleaned.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(~missing, None), errors="coerce")
    bad = (numbers.isna() & ~missing).to_numpy()
    return numbers.to_numpy(dtype=np.float64), bad


def parse_numbers(cells: list[str], column: str, lines: list[int], path: Path, comma: bool):
    numbers, bad = clean_numbers(pd.Series(cells, dtype=object), comma)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Column {column} of {path} has a value that is not a number in row {lines[i]}: "
            f"'{cells[i]}'."
        )
    return numbers


def read_careful(path: Path, dayfirst: bool | None = None) -> tuple[pd.DataFrame, list[str], int]:
    """The file's recognised columns as a date-indexed float frame, read row by row.

    Returns the frame, notes on what reading the dates took, and the number of data rows.
    """
    text = read_text(path)
    sep = sniff_separator(text)
    try:
        found = rows(text, sep)
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}.") from exc
    names, body = split_header(found)
    columns = map_columns(names, path)
    if not body:
        raise DataError(f"{path} has a header but no data rows.")
    lines = [line for line, _ in body]
    width = len(names)
    for line, cells in body:
        if len(cells) > width and any(cells[width:]):
            raise DataError(
                f"Row {line} of {path} has {len(cells)} fields but the header has {width}."
            )
    comma = decimal_comma(sep, body)

    def cells_of(index: int) -> list[str]:
        return [cells[index] if index < len(cells) else "" for _, cells in body]

    date_index = columns["Date"]
    date_cells = cells_of(date_index)
    dates, notes = parse_dates(pd.Series(date_cells, dtype=object), path, dayfirst)
    if dates.isna().all() and key(names[date_index]) not in ALIASES:
        found_names = ", ".join(n or "(blank)" for n in names)
        raise DataError(f"{path} has no Date column (its columns are: {found_names}).")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        what = f"a date that cannot be read: '{date_cells[i]}'" if date_cells[i] else "no date"
        raise DataError(f"Row {lines[i]} of {path} has {what}.")
    data = {
        column: parse_numbers(cells_of(index), column, lines, path, comma)
        for column, index in columns.items()
        if column != "Date"
    }
    return pd.DataFrame(data, index=pd.DatetimeIndex(dates)), notes, len(body)
