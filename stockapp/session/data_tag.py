"""Which data a result came from: a name, adjusted or raw prices, a span, and a fingerprint.

Every result the window shows (a trained model, a backtest, an opened run) carries a
:class:`DataTag`, so that it can say which data it belongs to, name its exported files after
it, and notice when the window has moved on to other data (the result is then *stale*).
No Qt here: the tag is plain data, read from a series or from a run's ``manifest.json``. How to
load the data again is the series' typed :class:`~stockapp.core.data_source.DataSource`, never
read back from the words in ``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stockapp.core.data_source import DataSource
from stockapp.core.manifest import RunManifest


def day_text(value: Any) -> str:
    """``2020-01-31`` (or a full timestamp when the value has a time of day)."""
    stamp = pd.Timestamp(value)
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else stamp.isoformat()


@dataclass(frozen=True)
class DataTag:
    """The identity of the prices a result was computed on.

    ``source`` is where they came from in words, for people; ``data_source`` the same as typed
    data (how to load them again), with ``adjusted`` as modelled.
    """

    name: str
    source: str
    fingerprint: str
    adjusted: bool
    first: str
    last: str
    data_source: DataSource = field(default_factory=DataSource)

    @classmethod
    def of(cls, series: Any, adjusted: bool, first: Any = None, last: Any = None) -> DataTag:
        """The tag of ``series`` as modelled (``adjusted`` only counts when it has Adj Close);
        the span defaults to the whole series."""
        dates = series.dates
        effective = bool(adjusted and getattr(series, "has_adjusted", False))
        origin = getattr(series, "data_source", None) or DataSource()
        return cls(
            name=str(series.name),
            source=str(series.source),
            fingerprint=str(series.fingerprint),
            adjusted=effective,
            first=day_text(dates[0] if first is None else first),
            last=day_text(dates[-1] if last is None else last),
            data_source=origin.modelled(effective),
        )

    @classmethod
    def from_manifest(cls, manifest: RunManifest | None) -> DataTag | None:
        """The tag a run's manifest records, or None when it records no data."""
        data = None if manifest is None else manifest.data
        if data is None or not data.name:
            return None
        return cls(
            name=data.name,
            source=data.source,
            fingerprint=data.fingerprint,
            adjusted=data.adjusted,
            first=data.first_date[:19],
            last=data.last_date[:19],
            data_source=data.data_source,
        )

    # ------------------------------------------------------------------ words
    @property
    def prices_word(self) -> str:
        return "adjusted" if self.adjusted else "raw prices"

    def text(self) -> str:
        """``AAPL · adjusted · 2004-08-19 to 2006-03-20``."""
        span = f"{self.first} to {self.last}" if self.first else ""
        return " · ".join(p for p in (self.name, self.prices_word, span) if p)

    def slug(self) -> str:
        """A file-name-safe form: ``AAPL_adjusted_2004-08-19_2006-03-20``."""
        words = [self.name, "adjusted" if self.adjusted else "raw", self.first[:10], self.last[:10]]
        raw = "_".join(w for w in words if w)
        return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-_") or "data"

    def same_data(self, series: Any, adjusted: bool) -> bool:
        """Whether ``series`` modelled with ``adjusted`` is the data this tag names."""
        if series is None:
            return False
        effective = bool(adjusted and getattr(series, "has_adjusted", False))
        return series.fingerprint == self.fingerprint and effective == self.adjusted

    # ------------------------------------------------------------------ loading again
    def reload_text(self) -> str:
        """The button text offering to load the data again: ``Load AAPL (sample)``."""
        return self.data_source.reload_text(self.name)
