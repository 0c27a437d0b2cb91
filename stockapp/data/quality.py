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


def _float_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The price columns as float64 (anything else as NaN) on a tz-naive ``ns`` index, in one
    new frame (columns already float64 are not converted again)."""
    index = pd.DatetimeIndex(raw.index)
    if index.tz is not None:
        # Keep the exchange's wall-clock date: a daily bar belongs to its local trading day.
        index = index.tz_localize(None)
    columns = {
        c: raw[c].to_numpy(dtype=np.float64, copy=True)
        if raw[c].dtype == np.float64
        else pd.to_numeric(raw[c], errors="coerce").to_numpy(dtype=np.float64)
        for c in PRICE_COLUMNS
        if c in raw.columns
    }
    return pd.DataFrame(columns, index=index.as_unit("ns").rename("Date"))


def _absurd_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows holding an infinity or a value beyond :data:`ABSURD_VALUE` (NaN is only missing)."""
    absurd = np.zeros(len(frame), dtype=bool)
    for column in frame.columns:  # NaN compares False, inf True
        absurd |= np.abs(frame[column].to_numpy(dtype=np.float64)) > ABSURD_VALUE
    return absurd


def _dates_if_daily(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, bool]:
    """Daily or longer bars as dates; bars with several on one day keep their times.

    ``index`` is sorted, so two bars share a day exactly where consecutive days are equal.
    """
    days = index.normalize()
    if len(days) > 1 and (days.asi8[1:] == days.asi8[:-1]).any():
        return index, True
    return days, False


def extreme_moves(close: pd.Series) -> tuple[pd.Timestamp, ...]:
    """Dates whose close is more than :data:`EXTREME_MOVE` times above or below the previous."""
    if len(close) < 2:
        return ()
    moves = np.abs(np.diff(np.log(close.to_numpy(dtype=np.float64))))
    return tuple(close.index[1:][moves > np.log(EXTREME_MOVE)])


def _drop_sparse_columns(frame: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` without the columns (but Close) missing in more than
    :data:`SPARSE_COLUMN_SHARE` of the ``rows`` (a mask), and a note for each."""
    notes = []
    count = int(rows.sum())
    for column in [c for c in frame.columns if c != "Close"]:
        missing = (np.isnan(frame[column].to_numpy()) & rows).sum() / count if count else 0.0
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
    prices = [frame[c].to_numpy(dtype=np.float64) for c in present]
    # fmax/fmin skip NaN as pandas' row max/min do (NaN only where a whole row is)
    highest, lowest = np.fmax.reduce(prices), np.fmin.reduce(prices)
    tolerance = 1e-9 * np.fmax.reduce([np.abs(p) for p in prices])
    bad = np.zeros(len(frame), dtype=bool)
    if "High" in present:
        bad |= frame["High"].to_numpy(dtype=np.float64) + tolerance < highest
    if "Low" in present:
        bad |= frame["Low"].to_numpy(dtype=np.float64) - tolerance > lowest
    return int(bad.sum())


def _day_steps(index: pd.DatetimeIndex) -> np.ndarray:
    """Calendar days between consecutive bars."""
    return np.diff(index.normalize().values).astype("timedelta64[D]").astype(np.int64)


def _threshold(steps: np.ndarray) -> int:
    if len(steps) < MIN_ROWS - 1:  # too few bars to tell their usual spacing
        return GAP_DAYS
    if steps.min() >= 0 and steps.max() < len(steps):  # the median from counts, no sort
        counts = np.cumsum(np.bincount(steps))
        median = float(
            np.median([np.searchsorted(counts, k, side="right") for k in _middle(len(steps))])
        )
    else:
        median = float(np.median(steps))
    return max(GAP_DAYS, 2 * int(median))


def _middle(n: int) -> tuple[int, ...]:
    """0-based positions of the middle element(s) of ``n`` sorted values."""
    return ((n - 1) // 2,) if n % 2 else (n // 2 - 1, n // 2)


def gap_threshold(index: pd.DatetimeIndex) -> int:
    """Calendar days between two bars beyond which the stretch is a gap.

    A week for daily (and intraday) bars; for sparser bars, twice their usual spacing, so the 31
    days between two monthly bars are not a gap but a missing month or more is.
    """
    if len(index) < MIN_ROWS:
        return GAP_DAYS
    return _threshold(_day_steps(index))


def find_gaps(index: pd.DatetimeIndex, max_days: int | None = None) -> tuple[Gap, ...]:
    """Stretches of more than ``max_days`` calendar days between consecutive bars (by default
    :func:`gap_threshold` of the bars)."""
    if len(index) < 2:
        return ()
    steps = _day_steps(index)
    if max_days is None:
        max_days = _threshold(steps) if len(index) >= MIN_ROWS else GAP_DAYS
    return _gaps(index, steps, max_days)


def _gaps(index: pd.DatetimeIndex, steps: np.ndarray, max_days: int) -> tuple[Gap, ...]:
    return tuple(
        Gap(start=index[i], end=index[i + 1], days=int(steps[i]))
        for i in np.flatnonzero(steps > max_days)
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
    frame = _float_frame(raw)
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")

    # Each rule looks at the rows the earlier ones kept; the rows are cut once, at the end.
    duplicated = frame.index.duplicated(keep="last")
    keep = ~duplicated
    absurd = _absurd_rows(frame) & keep
    first_absurd = frame.index[absurd][0] if absurd.any() else None
    keep &= ~absurd
    no_close = np.isnan(frame["Close"].to_numpy()) & keep
    keep &= ~no_close
    frame, sparse_notes = _drop_sparse_columns(frame, keep)
    incomplete = np.zeros(len(frame), dtype=bool)
    for column in frame.columns:
        incomplete |= np.isnan(frame[column].to_numpy())
    incomplete &= keep
    keep &= ~incomplete
    frame = frame[keep]

    _check_positive(frame, label)
    index, intraday = _dates_if_daily(pd.DatetimeIndex(frame.index))
    frame.index = index.rename("Date")
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"{label} has only {len(frame)} price rows; at least {MIN_ROWS} are needed."
        )
    steps = _day_steps(frame.index)
    gap_days = _threshold(steps)
    report = QualityReport(
        rows=len(frame),
        first=frame.index[0],
        last=frame.index[-1],
        dropped_missing=int(no_close.sum() + incomplete.sum()),
        duplicates_removed=int(duplicated.sum()),
        gaps=_gaps(frame.index, steps, gap_days),
        gap_days=gap_days,
        ohlc_inconsistent=count_ohlc_inconsistent(frame),
        notes=(*notes, *sparse_notes),
        dropped_nonfinite=int(absurd.sum()),
        first_nonfinite=first_absurd,
        extreme_moves=extreme_moves(frame["Close"]),
        intraday=intraday,
    )
    return frame, report
