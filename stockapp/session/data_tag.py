"""Which data a result came from: a name, adjusted or raw prices, a span, and a fingerprint.

Every result the window shows (a trained model, a backtest, an opened run) carries a
:class:`DataTag`, so that it can say which data it belongs to, name its exported files after
it, and notice when the window has moved on to other data (the result is then *stale*).
No Qt here: the tag is plain data, read from a series or from a run's ``manifest.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd


def day_text(value: Any) -> str:
    """``2020-01-31`` (or a full timestamp when the value has a time of day)."""
    stamp = pd.Timestamp(value)
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else stamp.isoformat()


@dataclass(frozen=True)
class DataTag:
    """The identity of the prices a result was computed on.

    ``kind`` is how the data can be loaded again (``"sample"``, ``"csv"``, ``"ticker"`` or
    ``""`` when unknown) and ``where`` the sample name, file path or symbol.
    """

    name: str
    source: str
    fingerprint: str
    adjusted: bool
    first: str
    last: str

    @classmethod
    def of(cls, series: Any, adjusted: bool, first: Any = None, last: Any = None) -> DataTag:
        """The tag of ``series`` as modelled (``adjusted`` only counts when it has Adj Close);
        the span defaults to the whole series."""
        dates = series.dates
        return cls(
            name=str(series.name),
            source=str(series.source),
            fingerprint=str(series.fingerprint),
            adjusted=bool(adjusted and getattr(series, "has_adjusted", False)),
            first=day_text(dates[0] if first is None else first),
            last=day_text(dates[-1] if last is None else last),
        )

    @classmethod
    def from_manifest(cls, manifest: dict) -> DataTag | None:
        """The tag a run's ``manifest.json`` records, or None when it records no data."""
        data = manifest.get("data")
        if not isinstance(data, dict) or not data.get("name"):
            return None
        return cls(
            name=str(data.get("name")),
            source=str(data.get("source", "")),
            fingerprint=str(data.get("fingerprint", "")),
            adjusted=bool(data.get("adjusted", False)),
            first=str(data.get("first_date", ""))[:19],
            last=str(data.get("last_date", ""))[:19],
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
    def reload_choice(self) -> tuple[str, str] | None:
        """``("sample", "AAPL")``, ``("csv", path)`` or ``("ticker", "MSFT")`` when the source
        says how to load the data again; None otherwise."""
        source = self.source
        if source.startswith("sample "):
            return "sample", source.removeprefix("sample ").strip()
        if source.startswith("CSV "):
            return "csv", source.removeprefix("CSV ").strip()
        if source.startswith("Yahoo Finance "):
            return "ticker", self.name
        return None

    def reload_text(self) -> str:
        """The button text offering to load the data again: ``Load AAPL (sample)``."""
        choice = self.reload_choice()
        if choice is None:
            return ""
        kind, where = choice
        label = {"sample": "sample", "csv": "CSV", "ticker": "Yahoo Finance"}[kind]
        return f"Load {self.name} ({label})"
