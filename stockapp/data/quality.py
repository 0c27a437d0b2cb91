"""Turn a raw price table into the validated frame of a PriceSeries, and say what it took.

Every loader (CSV, samples, Yahoo) ends in :func:`clean_prices`, so all sources obey the same
rules: sorted unique dates, finite positive prices, float64 columns in canonical order, daily
bars as dates (intraday ones keep their times). Fixable problems (duplicate dates, missing
values, infinite or absurdly large values, long gaps, bars whose High/Low do not contain their
Open/Close, closes more than five-fold away from the previous one) are repaired or only counted
in the :class:`QualityReport`; problems that would make a forecast meaningless (prices of zero
or below, too little data) raise :class:`DataError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockapp.data.series import (
    ABSURD_VALUE,
    EXTREME_MOVE,
    PRICE_COLUMNS,
    Gap,
    QualityReport,
)
from stockapp.errors import DataError

#: The fewest rows a usable series has: enough for a window and something to test on.
MIN_ROWS = 30
#: Calendar days between two bars beyond which the stretch is reported as a gap.
GAP_DAYS = 7
#: A column other than Close missing in more than this share of rows is dropped, not its rows.
SPARSE_COLUMN_SHARE = 0.1

_POSITIVE = ("Open", "High", "Low", "Close", "Adj Close")


def _normalise_index(frame: pd.DataFrame) -> pd.DataFrame:
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        # Keep the exchange's wall-clock date: a daily bar belongs to its local trading day.
        index = index.tz_localize(None)
    frame = frame.copy()
    frame.index = index.as_unit("ns").rename("Date")
    return frame


def _to_float(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in PRICE_COLUMNS if c in frame.columns]
    return frame[columns].apply(pd.to_numeric, errors="coerce").astype(np.float64)


def _absurd_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows holding an infinity or a value beyond :data:`ABSURD_VALUE` (NaN is only missing)."""
    values = np.abs(frame.to_numpy(dtype=np.float64))
    return (values > ABSURD_VALUE).any(axis=1)  # NaN compares False, inf True


def _dates_if_daily(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, bool]:
    """Daily or longer bars as dates; bars with several on one day keep their times."""
    days = index.normalize()
    if days.duplicated().any():
        return index, True
    return days, False


def extreme_moves(close: pd.Series) -> tuple[pd.Timestamp, ...]:
    """Dates whose close is more than :data:`EXTREME_MOVE` times above or below the previous."""
    if len(close) < 2:
        return ()
    moves = np.abs(np.diff(np.log(close.to_numpy(dtype=np.float64))))
    return tuple(close.index[1:][moves > np.log(EXTREME_MOVE)])


def _drop_sparse_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    for column in [c for c in frame.columns if c != "Close"]:
        missing = frame[column].isna().mean() if len(frame) else 0.0
        if missing > SPARSE_COLUMN_SHARE:
            frame = frame.drop(columns=column)
            notes.append(f"{column} column dropped: {missing:.0%} of its values are missing")
    return frame, notes


def _check_positive(frame: pd.DataFrame, label: str) -> None:
    prices = frame[[c for c in _POSITIVE if c in frame.columns]]
    bad = prices <= 0
    rows = bad.any(axis=1)
    if rows.any():
        date = rows.idxmax()
        column = bad.loc[date].idxmax()
        raise DataError(
            f"{label} has a {column} price of zero or below on {date:%Y-%m-%d}; "
            "prices must be positive."
        )


def count_ohlc_inconsistent(frame: pd.DataFrame) -> int:
    """Rows whose High is below, or Low above, another of the bar's prices."""
    present = [c for c in ("Open", "High", "Low", "Close") if c in frame.columns]
    if "High" not in present and "Low" not in present:
        return 0
    prices = frame[present]
    tolerance = 1e-9 * prices.abs().max(axis=1)
    bad = pd.Series(False, index=frame.index)
    if "High" in present:
        bad |= prices["High"] + tolerance < prices.max(axis=1)
    if "Low" in present:
        bad |= prices["Low"] - tolerance > prices.min(axis=1)
    return int(bad.sum())


def gap_threshold(index: pd.DatetimeIndex) -> int:
    """Calendar days between two bars beyond which the stretch is a gap.

    A week for daily (and intraday) bars; for sparser bars, twice their usual spacing, so the 31
    days between two monthly bars are not a gap but a missing month or more is.
    """
    if len(index) < MIN_ROWS:  # too few bars to tell their usual spacing
        return GAP_DAYS
    days = np.diff(index.normalize().values).astype("timedelta64[D]").astype(np.int64)
    return max(GAP_DAYS, 2 * int(np.median(days)))


def find_gaps(index: pd.DatetimeIndex, max_days: int | None = None) -> tuple[Gap, ...]:
    """Stretches of more than ``max_days`` calendar days between consecutive bars (by default
    :func:`gap_threshold` of the bars)."""
    if len(index) < 2:
        return ()
    if max_days is None:
        max_days = gap_threshold(index)
    days = np.diff(index.normalize().values).astype("timedelta64[D]").astype(np.int64)
    return tuple(
        Gap(start=index[i], end=index[i + 1], days=int(days[i]))
        for i in np.flatnonzero(days > max_days)
    )


def clean_prices(
    raw: pd.DataFrame, label: str, notes: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, QualityReport]:
    """Validate and tidy a price table; return the clean frame and what was found.

    Parameters
    ----------
    raw
        Rows indexed by date (a ``DatetimeIndex``, any timezone and unit) with columns drawn from
        :data:`~stockapp.data.series.PRICE_COLUMNS`; ``Close`` is required, others are dropped.
    label
        How error messages name the data for a person: a ticker or a file path.
    notes
        What the loader already did to the data (such as converting timezones), for the report.

    Returns
    -------
    frame, report
        ``frame`` is sorted, has unique tz-naive ``datetime64[ns]`` dates named ``Date``
        (midnight unless some day has several bars), float64 columns in canonical order and
        only finite, positive prices and volumes no larger than :data:`ABSURD_VALUE`. Rows
        with an infinite or larger value are dropped and counted (``1e300`` is dropped like
        ``inf``: either would overflow the first sum of squares it entered).

    Raises
    ------
    DataError
        When there is no Close column, a price is zero or negative, or fewer than
        :data:`MIN_ROWS` rows remain.
    """
    if "Close" not in raw.columns:
        raise DataError(f"{label} has no Close column.")
    frame = _to_float(_normalise_index(raw))
    frame = frame.sort_index(kind="stable")

    duplicated = frame.index.duplicated(keep="last")
    frame = frame[~duplicated]

    absurd = _absurd_rows(frame)
    first_absurd = frame.index[absurd][0] if absurd.any() else None
    frame = frame[~absurd]

    no_close = frame["Close"].isna()
    frame = frame[~no_close]
    frame, sparse_notes = _drop_sparse_columns(frame)
    incomplete = frame.isna().any(axis=1)
    frame = frame[~incomplete]

    _check_positive(frame, label)
    index, intraday = _dates_if_daily(pd.DatetimeIndex(frame.index))
    frame.index = index.rename("Date")
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"{label} has only {len(frame)} price rows; at least {MIN_ROWS} are needed."
        )
    report = QualityReport(
        rows=len(frame),
        first=frame.index[0],
        last=frame.index[-1],
        dropped_missing=int(no_close.sum() + incomplete.sum()),
        duplicates_removed=int(duplicated.sum()),
        gaps=find_gaps(frame.index),
        gap_days=gap_threshold(frame.index),
        ohlc_inconsistent=count_ohlc_inconsistent(frame),
        notes=(*notes, *sparse_notes),
        dropped_nonfinite=int(absurd.sum()),
        first_nonfinite=first_absurd,
        extreme_moves=extreme_moves(frame["Close"]),
        intraday=intraday,
    )
    return frame, report
