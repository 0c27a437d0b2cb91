"""Has Yahoo rewritten a ticker's history since it was cached, and why?

Yahoo re-adjusts its whole history after a split (Close and Adj Close) or a dividend (Adj
Close). Cached bars that no longer match a new download's mean the cache is stale; the sentence
says which split or dividend did it, told from how the two downloads differ.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from stockapp.data.yahoo_download import Bars

#: Cached and new bars differing by more than this share are a rewrite of the history. Yahoo's
#: prices carry float32 rounding (about 6e-8 relative); the smallest dividend adjustments are
#: about 1e-4 (a quarterly dividend of 0.01% of the price).
REWRITE_RTOL = 1e-6


def mismatch(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per common date and for Close / Adj Close: do the two downloads disagree?"""
    common = old.index.intersection(new.index)
    columns = [c for c in ("Close", "Adj Close") if c in old.columns and c in new.columns]
    a = old.loc[common, columns].to_numpy()
    b = new.loc[common, columns].to_numpy()
    # A value missing on either side says nothing about a re-adjustment.
    known = np.isfinite(a) & np.isfinite(b)
    differ = ~np.isclose(a, b, rtol=REWRITE_RTOL, atol=0.0) & known
    return pd.DataFrame(differ, common, columns)


def disagrees(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    return bool(mismatch(old, new).to_numpy().any())


def _ratio_text(ratio: float) -> str:
    fraction = Fraction(ratio).limit_denominator(20)
    return f"{fraction.numerator}-for-{fraction.denominator}"


def _event_dates(bad: pd.DataFrame, actions: pd.DataFrame, column: str) -> list[pd.Timestamp]:
    """When the events behind a rewrite happened, as far as can be told.

    The bars from an event on are unchanged, so when cached bars after the disagreement agree
    again, the first of them is the event's date. When the disagreement runs to the last cached
    bar, the event is later: Yahoo's own list of them (``column`` of ``actions``) names it.
    """
    rows = bad.any(axis=1).to_numpy()
    last_bad = bad.index[rows][-1]
    agreeing = bad.index[bad.index > last_bad]
    if len(agreeing):
        return [agreeing[0]]
    if column not in actions.columns:
        return []
    events = actions[column]
    return list(events.index[(events.index > last_bad) & (events.to_numpy() > 0)])


def rewrite_sentence(symbol: str, old: pd.DataFrame, new: Bars) -> str:
    """Why Yahoo's history no longer matches the cached one, told from how they differ.

    Yahoo divides every price before a split by its ratio (Close and Adj Close alike) and
    scales only Adj Close before a dividend's ex-date; in both cases every bar before the event
    changes by the same factor and none after it.
    """
    bad = mismatch(old, new.prices)
    rows = bad.any(axis=1).to_numpy()
    if not rows.any():
        return f"{symbol} history re-downloaded: Yahoo revised its prices."
    first_bad, last_bad = bad.index[rows][0], bad.index[rows][-1]
    before_event = rows[: int(np.flatnonzero(rows)[-1]) + 1].all()
    close = bad["Close"].to_numpy()
    ratios = (old["Close"] / new.prices["Close"]).loc[bad.index[rows]].to_numpy()
    prefix = f"{symbol} history re-downloaded: Yahoo adjusted it for"
    if before_event and close[rows].all() and np.allclose(ratios, ratios[0], rtol=1e-3):
        dates = _event_dates(bad, new.actions, "Stock Splits")
        when = f"on {dates[-1]:%Y-%m-%d}" if dates else f"after {last_bad:%Y-%m-%d}"
        return f"{prefix} a {_ratio_text(float(np.median(ratios)))} split {when}."
    if before_event and not close.any():
        dates = _event_dates(bad, new.actions, "Dividends")
        if len(dates) > 1:
            return f"{prefix} {len(dates)} dividends, the last on {dates[-1]:%Y-%m-%d}."
        when = f"on {dates[-1]:%Y-%m-%d}" if dates else f"after {last_bad:%Y-%m-%d}"
        return f"{prefix} a dividend {when}."
    return (
        f"{symbol} history re-downloaded: Yahoo's prices from {first_bad:%Y-%m-%d} to "
        f"{last_bad:%Y-%m-%d} changed since they were cached."
    )
