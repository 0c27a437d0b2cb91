"""The one validated price-series type that the whole app passes around."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockapp.core.data_source import DataSource

#: Canonical column names, in the order they are stored.
PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")
#: Values beyond this are not prices or volumes but errors, and are dropped like infinities:
#: the dearest share trades near 1e6, the busiest days near 1e10 shares, while 1e300 overflows
#: the first square or sum it enters.
ABSURD_VALUE = 1e15
#: A close more than this many times above or below the previous one is a quality warning:
#: almost always a bad tick or an unadjusted split.
EXTREME_MOVE = 5.0


@dataclass(frozen=True)
class Gap:
    """A stretch of more than a week without bars."""

    start: pd.Timestamp  # last date before the gap
    end: pd.Timestamp  # first date after the gap
    days: int  # calendar days between them


@dataclass(frozen=True)
class QualityReport:
    """What loading found in the data; produced on every load.

    ``rows`` counts the rows kept. Problems that make the data unusable are raised as
    :class:`stockapp.errors.DataError` instead of being reported here.
    """

    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    dropped_missing: int = 0
    duplicates_removed: int = 0
    gaps: tuple[Gap, ...] = ()
    ohlc_inconsistent: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    dropped_nonfinite: int = 0  # rows with an infinite or absurdly large value
    first_nonfinite: pd.Timestamp | None = None
    extreme_moves: tuple[pd.Timestamp, ...] = ()  # bars whose close moved more than 5x
    intraday: bool = False  # bars carry a time of day (several bars on some day)
    gap_days: int = 7  # calendar days between bars beyond which a stretch counts as a gap
    # Rows of a CSV read by the careful reader: cells pandas' C reader could not take as
    # numbers (currency signs, thousands separators...), or the whole file when its shape
    # needed the careful reader. Not a problem with the data, so not a warning.
    careful_rows: int = 0

    def _when(self, stamp: pd.Timestamp) -> str:
        return stamp.isoformat() if self.intraday else f"{stamp:%Y-%m-%d}"

    @property
    def warnings(self) -> list[str]:
        """One short sentence per problem worth a user's attention."""
        out: list[str] = []
        if self.dropped_missing:
            out.append(f"{self.dropped_missing} rows dropped for missing prices")
        if self.dropped_nonfinite:
            first = f", the first on {self._when(self.first_nonfinite)}"
            out.append(
                f"{self.dropped_nonfinite} rows dropped for infinite or absurdly large values "
                f"(beyond {ABSURD_VALUE:.0e}){first if self.first_nonfinite is not None else ''}"
            )
        if self.duplicates_removed:
            out.append(f"{self.duplicates_removed} duplicate dates removed")
        if self.gaps:
            longest = max(self.gaps, key=lambda g: g.days)
            out.append(
                f"{len(self.gaps)} gaps longer than "
                + ("a week" if self.gap_days == 7 else f"{self.gap_days} days")
                + " "
                f"(longest {longest.days} days after {longest.start:%Y-%m-%d})"
            )
        if self.ohlc_inconsistent:
            out.append(f"{self.ohlc_inconsistent} rows with Open/High/Low inconsistent with Close")
        if self.extreme_moves:
            out.append(
                f"{len(self.extreme_moves)} bars closed more than {EXTREME_MOVE:g}x above or below "
                f"the previous close, the first on {self._when(self.extreme_moves[0])}; "
                "check for a bad price or an unadjusted split"
            )
        out.extend(self.notes)
        return out

    def summary_lines(self) -> list[str]:
        """The report as lines of text, for the CLI and tooltips."""
        lines = [
            f"rows: {self.rows}",
            f"first date: {self._when(self.first)}",
            f"last date: {self._when(self.last)}",
        ]
        if self.careful_rows:
            lines.append(f"rows read cell by cell: {self.careful_rows}")
        warnings = self.warnings
        lines.append("warnings: " + ("none" if not warnings else "; ".join(warnings)))
        return lines

    def to_dict(self) -> dict:
        """The report as plain JSON types (for a run's ``manifest.json``).

        Dates are ISO strings: ``YYYY-MM-DD`` for daily and longer bars, full timestamps
        (``YYYY-MM-DDTHH:MM:SS``) for intraday ones.
        """
        return {
            "rows": int(self.rows),
            "first_date": self._when(self.first),
            "last_date": self._when(self.last),
            "intraday": bool(self.intraday),
            "dropped_missing": int(self.dropped_missing),
            "dropped_nonfinite": int(self.dropped_nonfinite),
            "duplicates_removed": int(self.duplicates_removed),
            "gaps": len(self.gaps),
            "longest_gap_days": max((int(g.days) for g in self.gaps), default=0),
            "ohlc_inconsistent": int(self.ohlc_inconsistent),
            "extreme_moves": len(self.extreme_moves),
            "extreme_move_dates": [self._when(d) for d in self.extreme_moves],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            # only when some were: the key is new, and reports of other sources never have any
            **({"careful_rows": int(self.careful_rows)} if self.careful_rows else {}),
        }


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """A SHA-256 of the dates, column names and values: equal data, equal fingerprint."""
    h = hashlib.sha256()
    h.update(",".join(frame.columns).encode())
    h.update(frame.index.values.astype("datetime64[ns]").astype(np.int64).tobytes())
    h.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class PriceSeries:
    """Daily (or weekly) bars, validated.

    ``frame`` has a tz-naive ``DatetimeIndex`` named ``Date`` (``datetime64[ns]``, sorted, unique)
    and float64 columns drawn from :data:`PRICE_COLUMNS`, ``Close`` always among them. Prices are
    finite and > 0. Build one with :func:`make_series` (or the loaders), not by hand.

    ``data_source`` says, as typed data, how to load the same prices again (the loaders set
    it); ``source`` is the same in words for people, and is never parsed back.
    """

    frame: pd.DataFrame
    name: str  # short label: a ticker or a file stem
    source: str  # where it came from, for people: "sample AAPL", "CSV /x/y.csv", ...
    report: QualityReport
    fingerprint: str
    data_source: DataSource = field(default_factory=DataSource)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.frame.index  # type: ignore[return-value]

    @property
    def has_adjusted(self) -> bool:
        return "Adj Close" in self.frame.columns

    @property
    def has_ohlc(self) -> bool:
        return all(c in self.frame.columns for c in ("Open", "High", "Low"))

    @property
    def has_volume(self) -> bool:
        return "Volume" in self.frame.columns

    def close(self, adjusted: bool = False) -> pd.Series:
        """The close: split+dividend adjusted when asked and available, else the raw close."""
        if adjusted and self.has_adjusted:
            return self.frame["Adj Close"].rename("Close")
        return self.frame["Close"]

    def prices(self, adjusted: bool = False) -> pd.DataFrame:
        """Open/High/Low/Close(/Volume) with ``Close`` adjusted when asked.

        When adjusting, Open/High/Low are scaled by the same factor as the close so that bars stay
        consistent; Volume is left as it is. The ``Adj Close`` column is not included.
        """
        cols = [c for c in ("Open", "High", "Low", "Close", "Volume") if c in self.frame.columns]
        out = self.frame[cols].copy()
        if adjusted and self.has_adjusted:
            factor = self.frame["Adj Close"] / self.frame["Close"]
            for c in ("Open", "High", "Low", "Close"):
                if c in out.columns:
                    out[c] = out[c] * factor
        return out


def make_series(
    frame: pd.DataFrame,
    name: str,
    source: str,
    report: QualityReport,
    data_source: DataSource | None = None,
) -> PriceSeries:
    """Wrap an already-cleaned frame (see :mod:`stockapp.data.quality`) with its fingerprint;
    without a ``data_source`` the series cannot say how to load it again (``unknown``)."""
    return PriceSeries(
        frame=frame,
        name=name,
        source=source,
        report=report,
        fingerprint=fingerprint_frame(frame),
        data_source=data_source or DataSource(adjusted="Adj Close" in frame.columns),
    )
