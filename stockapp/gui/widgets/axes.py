"""Axis items for the price charts: calendar dates and compact large numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg


def timestamps(dates: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since 1970 (as floats) for tz-naive dates, the x coordinate of every chart.

    The dates are read as UTC midnights and :func:`date_axis` shows them with a zero UTC offset,
    so a bar dated 2015-03-04 is labelled 2015-03-04 whatever the computer's time zone.
    """
    return dates.values.astype("datetime64[s]").astype(np.int64).astype(np.float64)


#: Calendar steps from fine to coarse: (unit, count, label format). Days label as "Aug 02",
#: months as "Aug 2021", years as "2021"; one step (one level) per zoom, so two labels can
#: never run together the way pyqtgraph's month level ("Aug") and day level ("02") did.
DATE_STEPS: tuple[tuple[str, int, str], ...] = (
    ("D", 1, "%b %d"),
    ("D", 2, "%b %d"),
    ("W", 1, "%b %d"),
    ("W", 2, "%b %d"),
    ("M", 1, "%b %Y"),
    ("M", 2, "%b %Y"),
    ("M", 3, "%b %Y"),
    ("M", 6, "%b %Y"),
    ("Y", 1, "%Y"),
    ("Y", 2, "%Y"),
    ("Y", 5, "%Y"),
    ("Y", 10, "%Y"),
    ("Y", 20, "%Y"),
    ("Y", 50, "%Y"),
    ("Y", 100, "%Y"),
)
_SECONDS = {"D": 86400.0, "W": 7 * 86400.0, "M": 30.44 * 86400.0, "Y": 365.25 * 86400.0}
_EPOCH_MONDAY = np.datetime64("1970-01-05")


def date_ticks(lo: float, hi: float, min_spacing: float) -> tuple[np.ndarray, str]:
    """Calendar ticks in ``[lo, hi]`` (seconds since 1970, UTC) at least ``min_spacing`` apart.

    Returns the tick positions and the strftime format for their labels: the finest calendar
    step (days, weeks from Mondays, months, years) whose spacing is at least ``min_spacing``.
    """
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.empty(0), "%Y-%m-%d"
    lo, hi = max(lo, -2e10), min(hi, 2e10)  # dates from ~1336 to ~2603: numpy's safe range
    unit, count, fmt = next(
        (step for step in DATE_STEPS if _SECONDS[step[0]] * step[1] >= min_spacing),
        DATE_STEPS[-1],
    )
    first = np.datetime64(int(np.floor(lo)), "s")
    last = np.datetime64(int(np.ceil(hi)), "s")
    if unit in ("D", "W"):
        days = np.arange(first.astype("datetime64[D]"), last.astype("datetime64[D]") + 1)
        index = (days - _EPOCH_MONDAY).astype(np.int64)
        stride = count * (7 if unit == "W" else 1)
        days = days[index % stride == 0]
    elif unit == "M":
        months = np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1)
        months = months[months.astype(np.int64) % count == 0]
        days = months.astype("datetime64[D]")
    else:
        years = np.arange(first.astype("datetime64[Y]"), last.astype("datetime64[Y]") + 1)
        years = years[(years.astype(np.int64) + 1970) % count == 0]
        days = years.astype("datetime64[D]")
    ticks = days.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    return ticks[(ticks >= lo) & (ticks <= hi)], fmt


class DateAxis(pg.AxisItem):
    """A time axis for :func:`timestamps`: calendar ticks, one level, labels that never touch."""

    #: Pixels a label may take ("Aug 2021" plus a gap) when choosing the step.
    LABEL_PIXELS = 78.0

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self._format = "%Y-%m-%d"

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        lo, hi = sorted((float(minVal), float(maxVal)))
        if size <= 0:
            return []
        ticks, self._format = date_ticks(lo, hi, (hi - lo) / size * self.LABEL_PIXELS)
        spacing = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 86400.0
        return [(spacing, ticks.tolist())]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [date_label(v, self._format) for v in values]


def date_label(seconds: float, fmt: str = "%Y-%m-%d") -> str:
    """``date_label(1627862400.0, "%b %d") == "Aug 02"``: a timestamp as a UTC calendar date."""
    return pd.Timestamp(int(seconds), unit="s").strftime(fmt)


def date_axis(orientation: str = "bottom") -> DateAxis:
    """A date axis matching :func:`timestamps` (UTC, no local shift)."""
    return DateAxis(orientation=orientation)


def compact_number(value: float) -> str:
    """``31_520_000 -> "31.5M"``: volumes and other large counts, short enough for an axis."""
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{value / limit:.2f}".rstrip("0").rstrip(".")
            return text + suffix
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


class CompactAxis(pg.AxisItem):
    """A value axis labelled with :func:`compact_number` instead of SI scale factors."""

    def __init__(self, orientation: str = "right", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [compact_number(v * scale) for v in values]
