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


def date_axis(orientation: str = "bottom") -> pg.DateAxisItem:
    """A date axis matching :func:`timestamps` (UTC, no local shift)."""
    return pg.DateAxisItem(orientation=orientation, utcOffset=0)


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
