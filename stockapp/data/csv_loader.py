"""Read a price CSV the way people actually have them, or say in one sentence why not.

Accepted: Yahoo Finance's own export (``Date,Open,High,Low,Close,Adj Close,Volume``); the
three-header-row file that ``yfinance.download(...).to_csv()`` writes (``Price,...`` /
``Ticker,...`` / ``Date,,,``); headers in any case or spelling (``adj close``, ``adj_close``,
``AdjClose``); just a date and a close; ``;``, tab or ``|`` separators (with a decimal comma when
the separator is ``;``); a UTF-8 byte-order mark; dates like ``2004-08-19``, ``08/19/2004``,
``19.08.2004`` or with times and timezones. Timestamps in one zone keep their local dates;
timestamps written in several UTC offsets are first brought to one of them. Dates that read both
as day/month and as month/day are read the way that gives a regular calendar, or refused.
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
from stockapp.errors import AmbiguousDates, DataError

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
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y%m%d",
    "%m/%d/%y",
    "%d/%m/%y",
)
#: Month-first formats and their day-first twins: a file may fit both.
_MONTH_FIRST = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S": "%d/%m/%Y %H:%M:%S",
    "%m/%d/%y": "%d/%m/%y",
}
_DAY_FIRST = {day: month for month, day in _MONTH_FIRST.items()}
#: A calendar is regular when its longest step between dates is at most this many times its
#: shortest: 3-day weekends and 5-day holidays in daily bars, 28..31-day months in monthly ones.
REGULAR_STEP_RATIO = 5
_TZ_SUFFIX = re.compile(r"(?<=\d)\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
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


def _offset_minutes(cell: str) -> float:
    """The UTC offset a timestamp is written with, in minutes; NaN when it has none."""
    suffix = _TZ_SUFFIX.search(cell)
    if suffix is None:
        return np.nan
    match = _OFFSET.search(suffix.group(0))
    if match is None:  # Z, UTC, GMT
        return 0.0
    sign = -1.0 if match.group(1) == "-" else 1.0
    return sign * (int(match.group(2)) * 60 + int(match.group(3)))


def _offset_text(minutes: float) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(int(abs(minutes)), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _one_zone(wall: pd.Series, offsets: np.ndarray) -> tuple[pd.Series, str | None]:
    """Timestamps written in several UTC offsets as wall times of one of them.

    A file whose offsets are one zone's standard and daylight-saving times (two, an hour
    apart) keeps its wall times: they are that zone's own dates. Otherwise every timestamp is
    converted to UTC and then to the file's offset that puts the fewest bars on a weekend (a
    16:00 New York close written for Tokyo falls on the next day), the most used of them on a
    tie.
    """
    if np.isnan(offsets).any():
        return wall, None
    distinct, counts = np.unique(offsets, return_counts=True)
    if len(distinct) == 1 or (len(distinct) == 2 and distinct[1] - distinct[0] == 60):
        return wall, None
    utc = wall - pd.to_timedelta(offsets, unit="min")

    def weekend_bars(minutes: float) -> int:
        local = utc + pd.Timedelta(minutes=float(minutes))
        return int((local.dt.day_of_week >= 5).sum())

    order = sorted(range(len(distinct)), key=lambda i: (weekend_bars(distinct[i]), -counts[i]))
    target = float(distinct[order[0]])
    name = "UTC" if target == 0 else f"UTC{_offset_text(target)}"
    listed = ", ".join(_offset_text(o) for o in distinct)
    note = (
        f"timestamps written in {len(distinct)} UTC offsets ({listed}) converted to {name} "
        "before taking their dates"
    )
    return utc + pd.Timedelta(minutes=target), note


def _regular(dates: pd.Series) -> bool:
    """Dates in file order that rise (or fall) with steps of similar length."""
    values = dates.to_numpy(dtype="datetime64[ns]")
    if len(values) < 2:
        return True
    steps = np.diff(values).astype(np.int64)
    if not ((steps > 0).all() or (steps < 0).all()):
        return False
    days = np.diff(values.astype("datetime64[D]")).astype(np.int64)
    days = np.abs(days[days != 0])  # several bars a day: compare the days only
    return len(days) == 0 or days.max() <= REGULAR_STEP_RATIO * days.min()


def _settle_day_month(
    values: pd.Series, fmt: str, best: pd.Series, path: Path
) -> tuple[pd.Series, str | None]:
    """Choose between reading the dates month first and day first when both fit every one."""
    twin = _MONTH_FIRST.get(fmt) or _DAY_FIRST.get(fmt)
    if twin is None:
        return best, None
    other = pd.to_datetime(values, format=twin, errors="coerce")
    differ = (other != best).to_numpy()
    if other.isna().any() or not differ.any():
        return best, None
    month_first, day_first = (best, other) if fmt in _MONTH_FIRST else (other, best)
    example = values.iloc[int(np.flatnonzero(differ)[0])]
    regular_month, regular_day = _regular(month_first), _regular(day_first)
    if regular_month == regular_day:
        which = "both readings give" if regular_month else "neither reading gives"
        i = int(np.flatnonzero(differ)[0])
        as_day, as_month = day_first.iloc[i], month_first.iloc[i]
        raise AmbiguousDates(
            f"{path} has dates such as {example} that read as day/month and as month/day "
            f"alike, and {which} a regular calendar; say whether the day or the month comes "
            "first, or write the dates as YYYY-MM-DD.",
            example=str(example),
            day_first=f"day first: {as_day.day} {as_day:%B %Y}",
            month_first=f"month first: {as_month.day} {as_month:%B %Y}",
        )
    chosen, word = (day_first, "day") if regular_day else (month_first, "month")
    when = chosen.iloc[int(np.flatnonzero(differ)[0])]
    note = (
        f"dates such as {example} read {word} first ({when.day} {when:%B %Y}): "
        "the reading that gives a regular calendar"
    )
    return chosen, note


def _parse_dates(
    cells: list[str], path: Path, dayfirst: bool | None = None
) -> tuple[pd.Series, list[str]]:
    """The dates, read with the one format that fits the most of them (NaT where none fits).

    Returns the dates (tz-naive wall times) and notes on what reading them took.
    """
    values = pd.Series([_TZ_SUFFIX.sub("", c) for c in cells], dtype=object)
    skip = () if dayfirst is None else (_MONTH_FIRST if dayfirst else _DAY_FIRST)
    best, best_fmt = None, None
    for fmt in (f for f in _DATE_FORMATS if f not in skip):
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if best is None or parsed.notna().sum() > best.notna().sum():
            best, best_fmt = parsed, fmt
        if best.notna().all():
            break
    notes = []
    if dayfirst is None and best.notna().all():
        best, note = _settle_day_month(values, best_fmt, best, path)
        notes += [note] if note else []
    if best.notna().all():
        offsets = np.array([_offset_minutes(c) for c in cells], dtype=np.float64)
        best, note = _one_zone(best, offsets)
        notes += [note] if note else []
    return best, notes


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


def read_price_table(path: Path, dayfirst: bool | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The file's recognised columns as a date-indexed float frame, not yet cleaned.

    Also returns notes on what reading the dates took (a day/month order chosen, timezones
    converted), for the quality report.
    """
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
    dates, notes = _parse_dates(date_cells, path, dayfirst)
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
    return pd.DataFrame(data, index=pd.DatetimeIndex(dates)), notes


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
    table, notes = read_price_table(path, dayfirst)
    frame, report = clean_prices(table, label=str(path), notes=tuple(notes))
    return make_series(frame, name=path.stem, source=f"CSV {path}", report=report)
