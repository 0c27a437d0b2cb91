"""Reading a CSV's date column: which format, day or month first, and UTC offsets.

:func:`parse_dates` is the careful reading of a whole column: every format of
:data:`DATE_FORMATS` is tried and the one that fits the most dates wins. :func:`fast_dates` is
what the fast reader does once a sample of the file has named the format (:func:`sample_plan`):
one parse of the column with that explicit format (two for timestamps with UTC offsets), and
``None`` whenever the column does not fit it, so the careful reading decides. Both end in the
same rules for day/month order (:func:`settle_day_month`) and several offsets
(:func:`one_zone`), so their answers are equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stockapp.errors import AmbiguousDates

DATE_FORMATS = (
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
MONTH_FIRST = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S": "%d/%m/%Y %H:%M:%S",
    "%m/%d/%y": "%d/%m/%y",
}
DAY_FIRST = {day: month for month, day in MONTH_FIRST.items()}
#: Explicit layouts that stand in for ``ISO8601`` when a sample's dates all have one of them
#: (zero-padded, so every date of the layout has the same length): each reads a subset of what
#: ``ISO8601`` reads, identically, and pandas parses it in one C pass.
ISO_LAYOUTS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y%m%d",
)
#: A calendar is regular when its longest step between dates is at most this many times its
#: shortest: 3-day weekends and 5-day holidays in daily bars, 28..31-day months in monthly ones.
REGULAR_STEP_RATIO = 5
TZ_SUFFIX = re.compile(r"(?<=\d)\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_SPLIT = re.compile(r"^(.*?)((?<=\d)\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$", re.IGNORECASE | re.S)
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
#: A suffix the fast reader takes without the careful split: ``Z``, ``+HH:MM`` or ``+HHMM``.
_PLAIN_OFFSET = re.compile(r"^(?:Z|[+-]\d{2}:?\d{2})$")


def offset_minutes(suffix: str) -> float:
    """The UTC offset a timestamp's suffix names, in minutes; NaN for no suffix."""
    if not suffix:
        return np.nan
    match = _OFFSET.search(suffix)
    if match is None:  # Z, UTC, GMT
        return 0.0
    sign = -1.0 if match.group(1) == "-" else 1.0
    return sign * (int(match.group(2)) * 60 + int(match.group(3)))


def offset_text(minutes: float) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(int(abs(minutes)), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def split_suffixes(cells: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Each timestamp without its UTC suffix, and the offset in minutes (NaN where none).

    One regular-expression pass over the column; the offsets are worked out once per distinct
    suffix, not per row.
    """
    parts = cells.astype(object).str.extract(_SPLIT)
    suffix = parts[1].fillna("")
    distinct = pd.unique(suffix.to_numpy(dtype=object))
    minutes = {s: offset_minutes(s) for s in distinct}
    offsets = suffix.map(minutes).to_numpy(dtype=np.float64)
    return parts[0].astype(object), offsets


def one_zone(wall: pd.Series, offsets: np.ndarray) -> tuple[pd.Series, str | None]:
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
    name = "UTC" if target == 0 else f"UTC{offset_text(target)}"
    listed = ", ".join(offset_text(o) for o in distinct)
    note = (
        f"timestamps written in {len(distinct)} UTC offsets ({listed}) converted to {name} "
        "before taking their dates"
    )
    return utc + pd.Timedelta(minutes=target), note


def regular(dates: pd.Series) -> bool:
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


def settle_day_month(
    values: pd.Series, fmt: str, best: pd.Series, path: Path
) -> tuple[pd.Series, str | None]:
    """Choose between reading the dates month first and day first when both fit every one."""
    twin = MONTH_FIRST.get(fmt) or DAY_FIRST.get(fmt)
    if twin is None:
        return best, None
    other = pd.to_datetime(values, format=twin, errors="coerce")
    differ = (other != best).to_numpy()
    if other.isna().any() or not differ.any():
        return best, None
    month_first, day_first = (best, other) if fmt in MONTH_FIRST else (other, best)
    example = values.iloc[int(np.flatnonzero(differ)[0])]
    regular_month, regular_day = regular(month_first), regular(day_first)
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


def _formats(dayfirst: bool | None) -> tuple[str, ...]:
    skip = () if dayfirst is None else (MONTH_FIRST if dayfirst else DAY_FIRST)
    return tuple(f for f in DATE_FORMATS if f not in skip)


def parse_dates(
    cells: pd.Series, path: Path, dayfirst: bool | None = None
) -> tuple[pd.Series, list[str]]:
    """The dates, read with the one format that fits the most of them (NaT where none fits).

    ``cells`` are the stripped date cells. Returns the dates (tz-naive wall times) and notes on
    what reading them took.
    """
    values, offsets = split_suffixes(cells.reset_index(drop=True))
    best, best_fmt = None, None
    for fmt in _formats(dayfirst):
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if best is None or parsed.notna().sum() > best.notna().sum():
            best, best_fmt = parsed, fmt
        if best.notna().all():
            break
    notes = []
    if dayfirst is None and best.notna().all():
        best, note = settle_day_month(values, best_fmt, best, path)
        notes += [note] if note else []
    if best.notna().all():
        best, note = one_zone(best, offsets)
        notes += [note] if note else []
    return best, notes


@dataclass(frozen=True)
class DatePlan:
    """How the fast reader parses a date column, from a sample of it."""

    fmt: str  # the careful reading's format: the first of DATE_FORMATS that fits the sample
    layout: str  # the explicit format parsed (an ISO_LAYOUTS entry stands in for ISO8601)
    width: int | None  # every date's length without its suffix (zoned plans only)
    zoned: bool  # every date carries a UTC offset (ISO layouts only)


def sample_plan(cells: list[str], dayfirst: bool | None) -> DatePlan | None:
    """The plan that reads the sample's dates (stripped cells) as :func:`parse_dates` would.

    ``None`` when no format fits every date of the sample, when only some dates carry a UTC
    suffix, or when the suffixes are not plain offsets (``Z``, ``+HH:MM``, ``+HHMM``) on an
    ISO layout: the careful reading handles those.
    """
    if not cells:
        return None
    walls, offsets = split_suffixes(pd.Series(cells, dtype=object))
    zoned = bool(~np.isnan(offsets).all())
    if zoned and np.isnan(offsets).any():
        return None
    fmt = next(
        (
            f
            for f in _formats(dayfirst)
            if pd.to_datetime(walls, format=f, errors="coerce").notna().all()
        ),
        None,
    )
    if fmt is None:
        return None
    if fmt != "ISO8601":
        return None if zoned else DatePlan(fmt, fmt, None, False)
    # An explicit ISO layout is parsed by the same C routine as "ISO8601", only restricted to
    # that layout: whatever it reads, "ISO8601" reads the same.
    reference = pd.to_datetime(walls, format="ISO8601")
    for layout in ISO_LAYOUTS:
        parsed = pd.to_datetime(walls, format=layout, errors="coerce")
        if parsed.notna().all() and (parsed == reference).all():
            break
    else:
        return None
    if not zoned:
        return DatePlan(fmt, layout, None, False)
    if "%f" in layout:  # fractions of varying length: leave the suffixes to the careful split
        return None
    lengths = walls.str.len()
    if lengths.nunique() != 1:
        return None
    width = int(lengths.iloc[0])
    if not pd.Series(cells, dtype=object).str[width:].str.fullmatch(_PLAIN_OFFSET).all():
        return None
    return DatePlan(fmt, layout, width, True)


def fast_dates(
    cells: pd.Series, plan: DatePlan, path: Path, dayfirst: bool | None
) -> tuple[pd.Series, list[str]] | None:
    """The whole column read with the sample's plan: equal to :func:`parse_dates`, or ``None``
    when some date does not fit the plan (then the careful reading decides)."""
    if plan.zoned:
        return _fast_zoned(cells, plan)
    parsed = pd.to_datetime(cells, format=plan.layout, errors="coerce")
    if parsed.isna().any():
        return None
    notes = []
    if dayfirst is None:
        parsed, note = settle_day_month(cells, plan.fmt, parsed, path)
        notes += [note] if note else []
    return parsed, notes


def _lengths(cells: pd.Series) -> np.ndarray:
    """Each cell's length (``len`` mapped in C: a quarter of the time of ``.str.len()``)."""
    return np.fromiter(map(len, cells.to_numpy(dtype=object)), dtype=np.int64, count=len(cells))


def _fast_zoned(cells: pd.Series, plan: DatePlan) -> tuple[pd.Series, list[str]] | None:
    """Timestamps that all end in ``Z``, ``+HH:MM`` or ``+HHMM``: UTC instants and wall times
    from two C parses, the offset of each row their difference."""
    utc = pd.to_datetime(cells, format=plan.layout + "%z", utc=True, errors="coerce")
    if utc.isna().any():
        return None
    wall = pd.to_datetime(cells, format=plan.layout, exact=False, errors="coerce")
    if wall.isna().any():
        return None
    # pandas' %z also reads +HH, which the careful reading does not take as an offset. A wall
    # time is at most plan.width long (shorter only if unpadded), so a row plan.width + 5 or
    # + 6 long ends in +HHMM or +HH:MM, and one plan.width + 1 long must end in Z.
    suffix = _lengths(cells) - plan.width
    if not np.isin(suffix, (1, 5, 6)).all():
        return None
    wall = wall.astype("datetime64[ns]")
    offsets = (wall - utc.dt.tz_localize(None).astype("datetime64[ns]")).to_numpy()
    offsets = offsets.astype("timedelta64[s]").astype(np.int64) / 60.0
    single = suffix == 1
    if single.any():
        if (offsets[single] != 0).any() or not cells[single].str.endswith(("Z", "z")).all():
            return None
    dates, note = one_zone(wall, offsets)
    return dates, [note] if note else []
