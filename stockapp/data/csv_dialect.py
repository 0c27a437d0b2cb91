"""What a price CSV looks like, sniffed once from a sample of its first lines.

:func:`sniff` reads the first lines the careful way (:mod:`stockapp.data.csv_careful`): the
separator, the header (yfinance's three rows too), which column is which, whether a ``;`` file
writes decimal commas, and how its dates are written (:func:`~stockapp.data.csv_dates.sample_plan`);
it checks the whole file's encoding in chunks without decoding it into memory. The fast reader
then parses the file in one pass of pandas' C reader with what it found. Whenever the sample
shows something the fast reader does not take on, :func:`sniff` returns ``None`` and the careful
reader reads the whole file (it also says every sentence about a bad one).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from stockapp.data.csv_careful import (
    COMMA_ROWS,
    SAMPLE_BYTES,
    check_path,
    decimal_comma,
    map_columns,
    rows,
    sniff_separator,
    split_header,
)
from stockapp.data.csv_dates import DatePlan, sample_plan
from stockapp.errors import DataError

#: The most the sample grows to while looking for the header and COMMA_ROWS rows after it.
MAX_SAMPLE_BYTES = 16 * 1024 * 1024
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Dialect:
    """How to read one file with pandas' C reader."""

    encoding: str  # "utf-8" or "cp1252" (whole-file decoding, as the careful reader does)
    sep: str
    comma: bool  # decimal commas (a ";" file whose first rows have a comma in a cell)
    names: tuple[str, ...]  # the header's cells
    columns: dict[str, int]  # canonical name -> field index
    skip_lines: int  # physical lines before the first data row
    width: int  # fields per row the C reader expects: the header's, or more if rows have more
    dates: DatePlan | None  # None: the date column is read the careful way
    sample_dates: tuple[str, ...]  # the first rows' date cells as the careful reader reads them


def _encoding(path: Path) -> str:
    """``utf-8`` when the whole file decodes as UTF-8 (checked in chunks), else ``cp1252``."""
    decoder = None
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if decoder is None and chunk.isascii():
                continue
            decoder = decoder or codecs.getincrementaldecoder("utf-8")()
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "cp1252"
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _head(path: Path, size: int) -> tuple[bytes, bool]:
    """The first ``size`` bytes cut after their last line break, and whether that is all."""
    with path.open("rb") as handle:
        data = handle.read(size + 1)
    if len(data) <= size:
        return data, True
    cut = data.rfind(b"\n", 0, size)
    return (data[: cut + 1], False) if cut >= 0 else (b"", False)


def sniff(path: Path, dayfirst: bool | None) -> Dialect | None:
    """The file's dialect from a sample of its lines; ``None`` when the careful reader should
    read it (odd shapes, and every file that is refused, so that it says why)."""
    check_path(path)
    try:
        return _sniff(path, dayfirst)
    except (OSError, csv.Error, DataError, UnicodeDecodeError):
        return None


def _sniff(path: Path, dayfirst: bool | None) -> Dialect | None:
    first, _ = _head(path, SAMPLE_BYTES)
    if not first.strip() or b"\x00" in first:
        return None  # empty, or binary: the careful reader says which
    encoding = _encoding(path)
    size = SAMPLE_BYTES
    while True:
        data, whole = _head(path, size)
        text = (
            data.decode("utf-8-sig")
            if encoding == "utf-8"
            else data.decode("cp1252", errors="replace")
        )
        if text.strip():
            sep = sniff_separator(text)
            found = rows(text, sep)
            if not whole:
                found = found[:-1]  # the last row may go on past the sample
            if found:
                names, body = split_header(found)
                if whole or len(body) > COMMA_ROWS:
                    break
        if whole or size >= MAX_SAMPLE_BYTES:
            return None
        size *= 4
    columns = map_columns(names, path)
    if not body:
        return None
    header = found[: len(found) - len(body)]
    if any("\n" in cell or "\r" in cell for _, cells in header for cell in cells):
        return None  # a header cell across lines: leave the line counting to the careful reader
    date_index = columns["Date"]
    date_cells = [cells[date_index] if date_index < len(cells) else "" for _, cells in body]
    if not all(date_cells):
        return None
    return Dialect(
        encoding=encoding,
        sep=sep,
        comma=decimal_comma(sep, body),
        names=tuple(names),
        columns=columns,
        skip_lines=body[0][0] - 1,
        width=max(len(names), *(len(cells) for _, cells in body)),
        dates=sample_plan(date_cells, dayfirst),
        sample_dates=tuple(date_cells),
    )
