"""Read a price CSV the way people actually have them, or say in one sentence why not.

Accepted: Yahoo Finance's own export (``Date,Open,High,Low,Close,Adj Close,Volume``); the
three-header-row file that ``yfinance.download(...).to_csv()`` writes (``Price,...`` /
``Ticker,...`` / ``Date,,,``); headers in any case or spelling (``adj close``, ``adj_close``,
``AdjClose``); just a date and a close; ``;``, tab or ``|`` separators (with a decimal comma when
the separator is ``;``); a UTF-8 byte-order mark; dates like ``2004-08-19``, ``08/19/2004``,
``19.08.2004`` or with times and timezones. Timestamps in one zone keep their local dates;
timestamps written in several UTC offsets are first brought to one of them. Dates that read both
as day/month and as month/day are read the way that gives a regular calendar, or refused.

How: the dialect (separator, header, columns, decimal mark, date format and offsets) is sniffed
once from the first lines (:mod:`stockapp.data.csv_dialect`), then pandas' C reader parses the
whole file in one pass: numbers straight to floats, the dates with their explicit format. Only
the cells it cannot read as numbers (currency signs, thousands separators, words for missing)
go through the careful cleaning (:mod:`stockapp.data.csv_careful`), and those rows are counted
(``QualityReport.careful_rows``). A file whose shape the fast reader does not take on (ragged
rows, blank-looking lines, dates that do not all fit one format...) and every file that is
refused are read row by row by the careful reader, which is also what names a bad row's line.
The two readers give equal answers (``tests/data/test_csv_fast_vs_careful.py``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.core.bars import bar_interval
from stockapp.core.data_source import DataSource
from stockapp.data.csv_careful import MISSING, clean_numbers, read_careful
from stockapp.data.csv_dates import fast_dates, parse_dates
from stockapp.data.csv_dialect import Dialect, sniff
from stockapp.data.quality import clean_prices
from stockapp.data.series import PriceSeries, make_series

#: Words for a missing value that pandas' C reader turns into NaN itself: the usual spellings
#: of :data:`~stockapp.data.csv_careful.MISSING` (any other spelling is cleaned carefully).
_NA_WORDS = sorted(
    {w for word in MISSING for w in (word, word.upper(), word.capitalize(), word.title())}
)
#: Date cells looked at for surrounding spaces before parsing the column.
_STRIP_PROBE = 64


class _Careful(Exception):
    """The fast reader met something only the careful reader answers for: read it row by row."""


def _read_fields(path: Path, dialect: Dialect) -> pd.DataFrame:
    """Every field of every data row, by position (``c0``, ``c1``, ...), in one C pass.

    No ``thousands`` separator is given: with one, pandas parses every number with a less
    precise routine (49.708517688106724 became 49.70851768810672); cells with separators go to
    the careful cleaning instead.
    """
    date = f"c{dialect.columns['Date']}"
    with warnings.catch_warnings():
        # A column that is numeric in one chunk of the file and text in another comes back as
        # objects of both kinds, which _numbers() handles; pandas warns about it.
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return pd.read_csv(
            path,
            sep=dialect.sep,
            header=None,
            names=[f"c{i}" for i in range(dialect.width)],
            index_col=False,
            skiprows=dialect.skip_lines,
            dtype={date: object},
            na_values=_NA_WORDS,
            keep_default_na=False,
            decimal="," if dialect.comma else ".",
            encoding=dialect.encoding,
            encoding_errors="replace",
            engine="c",
        )


def _numbers(column: pd.Series, comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """A column as float64, and the rows whose cells needed the careful cleaning."""
    kind = column.dtype.kind
    if kind in "fiu":
        return column.to_numpy(dtype=np.float64), np.zeros(len(column), dtype=bool)
    if kind not in "OT" and not pd.api.types.is_string_dtype(column.dtype):
        raise _Careful  # e.g. a column of True/False, which the careful reader refuses
    values = np.array(pd.to_numeric(column.astype(object), errors="coerce"), dtype=np.float64)
    odd = np.isnan(values) & column.notna().to_numpy()
    if odd.any():
        cells = column[odd].astype(str).str.strip()
        cleaned, bad = clean_numbers(cells, comma)
        if bad.any():
            raise _Careful  # a cell that is no number: the careful reader names its row
        values[odd] = cleaned
    return values, odd


def _dates(raw: pd.Series, dialect: Dialect, path: Path, dayfirst: bool | None):
    """The dates and their notes, read with the sample's plan or else the careful way, and
    whether it was the careful way."""
    if raw.isna().any():
        raise _Careful  # a row without a date, or a blank-looking line the careful reader skips
    first = raw.iloc[: len(dialect.sample_dates)]
    if first.str.strip().tolist() != list(dialect.sample_dates):
        raise _Careful  # the C reader's rows are not the careful reader's (line counting)
    if (first.iloc[:_STRIP_PROBE].str.strip() != first.iloc[:_STRIP_PROBE]).any():
        raw = raw.str.strip()
    if dialect.dates is not None:
        fast = fast_dates(raw, dialect.dates, path, dayfirst)
        if fast is not None:
            return fast[0], fast[1], False
    dates, notes = parse_dates(raw.str.strip(), path, dayfirst)
    if dates.isna().any():
        raise _Careful  # a date that cannot be read: the careful reader names its row
    return dates, notes, True


def _read_fast(
    path: Path, dialect: Dialect, dayfirst: bool | None
) -> tuple[pd.DataFrame, list[str], int]:
    try:
        fields = _read_fields(path, dialect)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        raise _Careful from exc  # e.g. a row with more fields than any in the sample
    if fields.empty:
        raise _Careful
    for extra in fields.columns[len(dialect.names) :]:
        cells = fields[extra]
        if cells.dtype.kind == "O" or pd.api.types.is_string_dtype(cells.dtype):
            cells = cells.astype(object).str.strip().replace("", np.nan)
        if cells.notna().any():
            raise _Careful  # a row with more fields than the header: the careful sentence
    date_index = dialect.columns["Date"]
    dates, notes, careful_dates = _dates(fields[f"c{date_index}"], dialect, path, dayfirst)
    careful = np.full(len(fields), careful_dates)
    data = {}
    for column, index in dialect.columns.items():
        if column != "Date":
            data[column], odd = _numbers(fields[f"c{index}"], dialect.comma)
            careful |= odd
    del fields
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(dates), copy=False)
    return frame, notes, int(careful.sum())


def read_fast(
    path: Path, dayfirst: bool | None = None
) -> tuple[pd.DataFrame, list[str], int] | None:
    """What :func:`read_price_table` returns, read by the fast reader; ``None`` when the file
    needs the careful reader (its shape, or something in it to refuse)."""
    dialect = sniff(path, dayfirst)
    if dialect is None:
        return None
    try:
        return _read_fast(path, dialect, dayfirst)
    except _Careful:
        return None


def read_price_table(
    path: Path, dayfirst: bool | None = None
) -> tuple[pd.DataFrame, list[str], int]:
    """The file's recognised columns as a date-indexed float frame, not yet cleaned.

    Also returns notes on what reading the dates took (a day/month order chosen, timezones
    converted), for the quality report, and how many rows the careful reader read (all of them
    when it read the whole file).
    """
    fast = read_fast(path, dayfirst)
    return fast if fast is not None else read_careful(path, dayfirst)


def load_csv(path: str | os.PathLike, dayfirst: bool | None = None) -> PriceSeries:
    """Load a price CSV as a validated :class:`PriceSeries` named after the file's stem.

    Parameters
    ----------
    path
        The CSV file.
    dayfirst
        How to read dates like ``01/02/1999``: ``True`` day first (1 February), ``False``
        month first (2 January), ``None`` (the default) decided from the file: a date that
        fits only one reading settles it; when every date fits both, the reading that gives a
        regular, ordered calendar is used (and named in the report), and a file regular both
        ways or neither way is refused.

    Raises
    ------
    DataError
        With one sentence naming the file (and the column or row) for every kind of bad input.
    """
    path = Path(path)
    table, notes, careful_rows = read_price_table(path, dayfirst)
    frame, report = clean_prices(table, label=str(path), notes=tuple(notes))
    report = replace(report, careful_rows=careful_rows)
    origin = DataSource(
        "csv", str(path), bar_interval(frame.index), "Adj Close" in frame.columns, dayfirst
    )
    return make_series(frame, path.stem, origin.describe(), report, origin)
