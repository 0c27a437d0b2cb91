"""Durations and scores in the words the window and the command line both print."""

from __future__ import annotations

import math


def eta_text(seconds: float | None) -> str:
    """``ETA 12 s``, ``ETA 4.2 min``; ``ETA --`` while unknown."""
    if seconds is None:
        return "ETA --"
    return f"ETA {seconds / 60:.1f} min" if seconds >= 60 else f"ETA {seconds:.0f} s"


def clock_text(seconds: float | None) -> str:
    """``0:12``, ``12:05`` or ``1:02:03``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def runs_text(n: int) -> str:
    """``1 run``, ``3 runs``."""
    return f"{n} run{'s' * (n != 1)}"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def ratio_text(v: float | None) -> str:
    """An RMSE ratio in a column: four decimals, blank when missing."""
    return "" if _missing(v) else f"{v:.4f}"


def p_text(v: float | None) -> str:
    """A p-value in a column: three decimals, ``<0.001`` below that (never "0.000": a p-value
    is never zero), blank when untested."""
    if _missing(v):
        return ""
    return "<0.001" if v < 0.001 else f"{v:.3f}"
