"""A log-scale value axis labelled with plain numbers, with at least three ticks at any zoom.

pyqtgraph's own log axis labels decades ("10⁻¹") and, with its automatic SI prefix, rescales them
("8·10²" under "loss (x0.001)"). A loss that moves between 0.78 and 0.83 spans no decade at all,
so that axis shows one tick or none. :func:`log_ticks` picks ticks the way a person would: whole
decades on a wide range, 1-2-5 steps on a medium one and evenly spaced plain numbers on a narrow
one, always at least three of them; :func:`tick_labels` writes them as ordinary decimals, or,
when the axis reaches below 1e-4 (or above 1e9), every label in one exponent form ("2e-5").
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

#: Mantissas per decade, coarsest first: decades, 1-2-5, then every digit.
_MANTISSAS = ((1.0,), (1.0, 2.0, 5.0), tuple(float(m) for m in range(1, 10)))
#: Linear steps tried within a decade on a narrow range (times a power of ten).
_LINEAR_STEPS = (1.0, 2.0, 2.5, 5.0)
#: Pixels a tick label needs along a vertical axis before the next one.
_PIXELS_PER_TICK = 28.0
#: Tick labels are written with an exponent on an axis with a value under SCIENTIFIC_BELOW or
#: from SCIENTIFIC_FROM up: "0.00001" is hard to count, and one axis takes one form.
SCIENTIFIC_BELOW, SCIENTIFIC_FROM = 1e-4, 1e6
#: Half a tick label's height in pixels (pyqtgraph hides a label that would stick out).
_LABEL_HALF_HEIGHT = 10.0


def _linear_ticks(lo: float, hi: float, wanted: int, most: int) -> np.ndarray:
    """Evenly spaced round numbers in ``[lo, hi]``: the coarsest step giving ``wanted`` ticks."""
    span = hi - lo
    exponent = math.floor(math.log10(span)) + 1
    best = np.empty(0)
    for power in range(exponent, exponent - 4, -1):
        for step in sorted((m * 10.0**power for m in _LINEAR_STEPS), reverse=True):
            ticks = np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1) * step
            ticks = ticks[ticks > 0]
            if len(ticks) > most and len(best):
                return best
            best = ticks
            if len(ticks) >= wanted:
                return ticks
    return best


def log_ticks(log_lo: float, log_hi: float, size: float = 300.0, wanted: int = 3) -> np.ndarray:
    """Tick positions (as log10 values) for a log axis showing ``10**log_lo .. 10**log_hi``.

    ``size`` is the axis length in pixels; it caps how many ticks fit. The coarsest set with at
    least ``wanted`` ticks wins: decades, then 1-2-5 per decade, then every digit, then evenly
    spaced plain numbers (for a range narrower than a few percent of itself).
    """
    if not (math.isfinite(log_lo) and math.isfinite(log_hi)):
        return np.empty(0)
    log_lo, log_hi = sorted((log_lo, log_hi))
    if log_hi - log_lo < 1e-12:
        return np.empty(0)
    most = max(wanted, int(size // _PIXELS_PER_TICK))
    first, last = math.floor(log_lo), math.ceil(log_hi)
    if last - first <= 60:  # beyond sixty decades, fall through to the linear fallback
        for mantissas in _MANTISSAS:
            values = np.log10(
                np.array([m * 10.0**d for d in range(first, last + 1) for m in mantissas])
            )
            values = values[(values >= log_lo - 1e-9) & (values <= log_hi + 1e-9)]
            if len(values) > most:
                if len(mantissas) == 1:  # too many decades for the axis: every k-th one
                    return values[:: math.ceil(len(values) / most)]
                break  # finer sets only get denser
            if len(values) >= wanted:
                return values
    lo, hi = 10.0**log_lo, 10.0**log_hi
    return np.log10(_linear_ticks(lo, hi, wanted, most))


def plain_number(value: float, decimals: int | None = None) -> str:
    """``0.0004 -> "0.0004"``, ``800 -> "800"``: no exponent, no SI scale factor.

    With ``decimals=None`` the fewest decimals that write ``value`` exactly (to 1 part in a
    million) are used.
    """
    if not math.isfinite(value):
        return "n/a"
    if value != 0 and not 1e-6 <= abs(value) < 1e12:
        return f"{value:.3g}"  # beyond any loss or price: an exponent is the readable form
    if decimals is None:
        decimals = _decimals_of(value)
    return f"{value:,.{decimals}f}"


def tick_labels(values: np.ndarray) -> list[str]:
    """Plain-number labels for linear tick ``values``, with one number of decimals for all.

    The decimals are the fewest that tell every neighbouring pair apart and write each value
    exactly (1-2-5 ticks across decades: "0.005", "0.010", "0.020"; a narrow range: "0.80",
    "0.81", "0.82"). Across more than two decades each label gets its own decimals instead, so
    that "100" is not written "100.000". An axis reaching under :data:`SCIENTIFIC_BELOW` (a
    gradient fading to 1e-7) or up to :data:`SCIENTIFIC_FROM` writes every label with an
    exponent (:func:`scientific_labels`).
    """
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return []
    size = np.abs(values[(values != 0) & np.isfinite(values)])
    if len(size) and (size.min() < SCIENTIFIC_BELOW or size.max() >= SCIENTIFIC_FROM):
        return scientific_labels(values)
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > 100:
        return [plain_number(v) for v in values]
    decimals = max(_decimals_of(v) for v in values)
    return [plain_number(v, decimals) for v in values]


def scientific_labels(values: np.ndarray) -> list[str]:
    """``[1e-7, 1e-5, 0.001] -> ["1e-7", "1e-5", "1e-3"]``: every label with an exponent and
    the fewest mantissa digits that write each value (to 1 part in a million) and tell them
    apart, so that one axis never mixes "0.00001" with "1e-07"."""
    values = np.asarray(values, dtype=np.float64)
    for digits in range(7):
        text = [_exponent_form(v, digits) for v in values]
        exact = all(
            math.isclose(float(t), v, rel_tol=1e-6) for t, v in zip(text, values, strict=True)
        )
        if exact and len(set(text)) == len(text):
            return text
    return text


def _exponent_form(value: float, digits: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _decimals_of(value: float) -> int:
    for decimals in range(13):
        if math.isclose(round(value, decimals), value, rel_tol=1e-6, abs_tol=1e-15):
            return decimals
    return 12


class PlainLogAxis(pg.AxisItem):
    """A value axis for a log-scaled view (``setLogMode(y=True)``) with plain-number labels."""

    def __init__(self, orientation: str = "left", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        # A label centred on a tick closer than half its height to either end would be cut by
        # the axis' bounds, and pyqtgraph skips it: choose ticks from the inner range only.
        lo, hi = sorted((minVal, maxVal))
        inset = (hi - lo) * _LABEL_HALF_HEIGHT / size if size > 4 * _LABEL_HALF_HEIGHT else 0.0
        values = log_ticks(lo + inset, hi - inset, size)
        spacing = float(np.min(np.diff(values))) if len(values) > 1 else 1.0
        return [(spacing, values.tolist())]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        return tick_labels(10.0 ** np.asarray(values, dtype=np.float64))
