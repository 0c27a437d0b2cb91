"""When a bar closes: the exchange's trading calendar, or what can be said without one.

A forward forecast counts only if it was issued before its target bar closed. Where the data
source names an exchange, :class:`BarClock` reads the close from that exchange's calendar in
``exchange_calendars`` (sessions, holidays, early closes, time zones; the calendars ship with
the package, so no network is needed): US tickers, US indices and the bundled samples (all
NYSE/NASDAQ trading days) use ``XNYS``, whose sessions and hours NASDAQ shares. A CSV names no
exchange; its target bar is the next weekday (the next day when the file has weekend bars; the
next week for weekly bars) and the check is weaker: issued before the target date has ended
everywhere on Earth (24:00 at UTC-12, i.e. 12:00 UTC the next day; for weekly bars, the end of
the seventh day from the bar's date), and from data that ended before the target date.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from stockapp.errors import StockappError

#: Yahoo Finance symbol suffix -> ISO 10383 code of the exchange's calendar.
SUFFIXES = {
    ".L": "XLON",
    ".TO": "XTSE",
    ".DE": "XETR",
    ".PA": "XPAR",
    ".AS": "XAMS",
    ".HK": "XHKG",
    ".T": "XTKS",
    ".AX": "XASX",
}
#: Yahoo symbols of US indices, computed over XNYS sessions.
US_INDICES = {"^GSPC", "^SPX", "^DJI", "^IXIC", "^NDX", "^RUT", "^NYA", "^VIX"}
#: Without a calendar a bar is taken to have closed once its date has ended everywhere: at
#: 24:00 in the last time zone (UTC-12), 12:00 UTC on the next day.
LAST_MIDNIGHT = pd.Timedelta(hours=36)


def exchange_for(kind: str, symbol: str) -> str | None:
    """The calendar of a data source: ``kind`` is ``"sample"``, ``"yahoo"`` or ``"csv"``."""
    if kind == "sample":
        return "XNYS"
    if kind != "yahoo":
        return None
    s = symbol.upper()
    if "=" in s:  # currencies and futures trade around the clock
        return None
    if s.startswith("^"):
        return "XNYS" if s in US_INDICES else None
    if "." in s:  # Yahoo writes share classes with "-" (BRK-B): a dot starts an exchange suffix
        return SUFFIXES.get("." + s.rsplit(".", 1)[1])  # an exchange not listed: no calendar
    return "XNYS"


@lru_cache(maxsize=8)
def _calendar(code: str, first_year: int, last_year: int):
    try:
        import exchange_calendars as xc
    except ImportError:
        raise StockappError(
            f"The {code} trading calendar needs the exchange_calendars package, which is missing;"
            " install it with: pip install exchange-calendars"
        ) from None
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values, which pandas 3.1 deprecates: noise to users
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray", category=DeprecationWarning
        )
        return xc.get_calendar(code, start=f"{first_year}-01-01", end=f"{last_year}-12-31")


@dataclass(frozen=True)
class BarClock:
    """Target bars and their closes for one data source.

    ``exchange`` is a calendar code or ``None``; ``weekly`` bars are weeks dated by their first
    day (Yahoo's Monday); ``weekends`` says whether a calendar-less daily series trades on
    weekends.
    """

    exchange: str | None
    weekly: bool = False
    weekends: bool = False

    def _cal(self, *days: pd.Timestamp):
        years = [pd.Timestamp(d).year for d in days]
        return _calendar(self.exchange, min(years) - 1, max(years) + 1)

    def next_bar(self, after: pd.Timestamp) -> pd.Timestamp:
        """The date of the bar after the one dated ``after``."""
        after = pd.Timestamp(after).normalize()
        if self.weekly:
            start = after + pd.Timedelta(days=7)
            if self.exchange is None:
                return start
            while not len(self._sessions_of_week(start)):  # a week without a session
                start += pd.Timedelta(days=7)
            return start
        if self.exchange is None:
            step = pd.Timedelta(days=1)
            day = after + step
            while not self.weekends and day.weekday() >= 5:
                day += step
            return day
        cal = self._cal(after)
        return pd.Timestamp(cal.date_to_session(after + pd.Timedelta(days=1), direction="next"))

    def _sessions_of_week(self, start: pd.Timestamp) -> pd.DatetimeIndex:
        end = start + pd.Timedelta(days=6)
        return self._cal(start, end).sessions_in_range(start, end)

    def closes_at(self, day: pd.Timestamp) -> pd.Timestamp:
        """When the bar dated ``day`` has closed (UTC): its session's close, the last session's
        of its week, or without a calendar the end of its date (week) at UTC-12.

        Raises ``ValueError`` when the exchange has no session on ``day`` (or in its week).
        """
        day = pd.Timestamp(day).normalize()
        if self.exchange is None:
            extra = pd.Timedelta(days=6) if self.weekly else pd.Timedelta(0)
            return (day + extra + LAST_MIDNIGHT).tz_localize("UTC")
        if self.weekly:
            sessions = self._sessions_of_week(day)
            if not len(sessions):
                raise ValueError(f"{self.exchange} has no session in the week of {day:%Y-%m-%d}")
            day = sessions[-1]
        cal = self._cal(day)
        if not cal.is_session(day):
            raise ValueError(f"{day:%Y-%m-%d} is not a trading day of {self.exchange}")
        return pd.Timestamp(cal.session_close(day)).tz_convert("UTC")

    def closed(self, dates: pd.DatetimeIndex, now: pd.Timestamp) -> pd.Series:
        """Whether each bar has closed by ``now`` (UTC); without a calendar every bar dated
        before ``now``'s date counts as closed, and so does one dated today (a CSV's last row
        is taken as written after its close)."""
        now = pd.Timestamp(now).tz_convert("UTC")
        if self.exchange is None:
            return pd.Series(dates.normalize() <= now.tz_localize(None).normalize(), index=dates)
        flags = []
        for day in dates[-10:]:  # only the newest bars can still be open
            try:
                flags.append(self.closes_at(day) <= now)
            except ValueError:
                flags.append(True)  # not a session: the data says it traded; leave it be
        head = [True] * (len(dates) - len(flags))
        return pd.Series(head + flags, index=dates)

    def describe(self) -> str:
        """What the issued-before-close check of this source compares, in words."""
        if self.exchange is not None:
            what = "the last session of its week" if self.weekly else "its session"
            return (
                f"issued before {what} closed on the {self.exchange} calendar (exchange_calendars)"
            )
        span = "the seventh day from its date" if self.weekly else "its date"
        return (
            f"issued before {span} had ended everywhere (24:00 at UTC-12) and from data that "
            "ended before its date (a CSV names no exchange, so its close time is unknown)"
        )
