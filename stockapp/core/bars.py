"""What size the bars of a series are, and how their timestamps are written and read back.

Daily and longer bars are written as dates (``2024-01-02``); intraday bars keep their time of
day (``2024-01-02T09:30:00``), or seven hourly bars of one day would all be written as the same
date. The bar size also names the persistence baseline: "tomorrow = today" is only true of
daily bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Bar size -> how persistence reads for bars of that size.
PERSISTENCE_PHRASES: dict[str, str] = {
    "intraday": "next bar = this bar",
    "daily": "tomorrow = today",
    "weekly": "next week = this week",
    "monthly": "next month = this month",
    "quarterly": "next quarter = this quarter",
    "yearly": "next year = this year",
}


def median_spacing_days(dates: pd.DatetimeIndex) -> float:
    """The median time between consecutive bars in days; NaN for fewer than two bars."""
    idx = pd.DatetimeIndex(dates)
    if idx.size < 2:
        return math.nan
    return float(np.median((idx[1:] - idx[:-1]).total_seconds())) / 86_400.0


def bar_size_for_spacing(days: float) -> str:
    """``"intraday"``, ``"daily"``, ..., ``"yearly"`` for a median spacing in days.

    Daily bars are 1 to 4 days apart (weekends and holidays), weekly up to 10, monthly up to 45,
    quarterly up to 135; a spacing that cannot be measured counts as daily.
    """
    if math.isnan(days):
        return "daily"
    if days < 1.0:
        return "intraday"
    if days <= 4.0:
        return "daily"
    if days <= 10.0:
        return "weekly"
    if days <= 45.0:
        return "monthly"
    if days <= 135.0:
        return "quarterly"
    return "yearly"


def bar_size(dates: pd.DatetimeIndex) -> str:
    """The bar size of a series, from the median spacing of its dates (see above).

    Daily closes stamped with a time (``16:00``) are still daily bars.
    """
    return bar_size_for_spacing(median_spacing_days(dates))


#: Bar size -> its interval in Yahoo's words.
INTERVALS = {"daily": "1d", "weekly": "1wk", "monthly": "1mo", "quarterly": "3mo", "yearly": "1y"}


def bar_interval(dates: pd.DatetimeIndex) -> str:
    """The bars' interval in Yahoo's words: ``1d``, ``1wk``, ``1mo``...; intraday bars by their
    median spacing in minutes or hours (``5m``, ``1h``)."""
    size = bar_size(dates)
    if size != "intraday":
        return INTERVALS[size]
    minutes = max(1, int(round(median_spacing_days(dates) * 24 * 60)))
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def is_intraday(dates: pd.DatetimeIndex) -> bool:
    """True when any bar has a time of day other than midnight or two bars are under a day apart.

    Such timestamps are written in full, so no two bars can ever share a written date.
    """
    idx = pd.DatetimeIndex(dates)
    if idx.size == 0:
        return False
    if bool((idx != idx.normalize()).any()):
        return True
    return idx.size > 1 and float(np.min((idx[1:] - idx[:-1]).total_seconds())) < 86_400.0


def format_dates(dates: pd.DatetimeIndex, intraday: bool | None = None) -> list[str]:
    """ISO text for each bar: dates only, or full timestamps when the bars are intraday.

    ``intraday`` defaults to :func:`is_intraday` of ``dates``; pass it to write a few timestamps
    (the first and last, the refit starts) the way the whole series is written. Timestamps with a
    time zone keep their UTC offset.
    """
    idx = pd.DatetimeIndex(dates)
    if intraday is None:
        intraday = is_intraday(idx)
    if not intraday:
        return list(idx.strftime("%Y-%m-%d"))
    return [ts.isoformat() for ts in idx]


def parse_dates(values: Sequence[str]) -> pd.DatetimeIndex:
    """Inverse of :func:`format_dates` (dates or ISO timestamps, with or without an offset).

    Raises ``ValueError`` for text that is not an ISO date.
    """
    values = list(values)
    try:
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"))
    except ValueError:
        # offsets that differ (summer and winter time) need a common zone to fit one index
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601", utc=True))
