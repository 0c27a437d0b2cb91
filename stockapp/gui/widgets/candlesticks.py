"""Candlesticks and volume bars drawn from numpy arrays, a window of bars at a time.

Twenty years of daily bars are ~5,000 candles, a minute file a million; one graphics item (or one
Python object) per candle would freeze the window. Each item here turns its arrays into
``QPainterPath`` objects with :func:`pyqtgraph.arrayToQPath` (one vectorised pass: wicks as
point pairs, bodies as closed four-sided polygons), records them into a ``QPicture`` with cosmetic
pens (outlines stay one pixel at any zoom) and replays it on paint. Only the bars near the view
are recorded (refreshed when the view moves outside them), and with more than
:data:`WINDOW_BARS` on screen neighbouring bars are merged into coarser ones (as a longer
interval would draw them), so a million bars cost no more to paint than a few thousand.
``dataBounds`` honours the visible x range, so a view with ``setAutoVisible(y=True)`` rescales
its y axis to the bars on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPicture

UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"
#: Series up to this many bars are recorded whole, once (20+ years of daily bars).
ALL_BARS = 20_000
#: Most candles drawn for the bars on screen; beyond, neighbours merge into coarser candles
#: (thousands of candles are already narrower than a pixel each).
WINDOW_BARS = 4_000
#: Chunks of bars a volume picture draws in date order (each its up bars, then its down bars).
CHUNKS = 300


def bar_width(x: np.ndarray, fraction: float = 0.7) -> float:
    """A bar width as a fraction of the typical spacing between bars (1 for a single bar)."""
    if len(x) < 2:
        return fraction * 86400.0
    return fraction * float(np.median(np.diff(x)))


def segments_path(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> QPainterPath:
    """Vertical segments ``(x, y0)-(x, y1)`` as one path, built from arrays in one pass."""
    xs = np.repeat(np.asarray(x, np.float64), 2)
    ys = np.column_stack([y0, y1]).ravel().astype(np.float64)
    return pg.arrayToQPath(xs, ys, connect="pairs") if len(xs) else QPainterPath()


def rects_path(x: np.ndarray, bottom: np.ndarray, top: np.ndarray, half: float) -> QPainterPath:
    """Rectangles ``x ± half`` by ``bottom..top`` as one path of closed polygons (no loop)."""
    n = len(x)
    if not n:
        return QPainterPath()
    left, right = np.asarray(x, np.float64) - half, np.asarray(x, np.float64) + half
    xs = np.column_stack([left, right, right, left, left]).ravel()
    ys = np.column_stack([bottom, bottom, top, top, bottom]).ravel().astype(np.float64)
    connect = np.ones(5 * n, dtype=np.int32)
    connect[4::5] = 0  # each rectangle is its own closed polygon
    return pg.arrayToQPath(xs, ys, connect=connect)


class _PictureBars(pg.GraphicsObject):
    """Bars sorted by x, each spanning ``low..high``, drawn from one recorded picture."""

    def __init__(self) -> None:
        super().__init__()
        self._picture = QPicture()
        self._x = np.empty(0)
        self._low = np.empty(0)
        self._high = np.empty(0)
        self._half = 0.0
        self._rect = QRectF()
        self._recorded: tuple[int, int] | None = None  # bars [start, end) in the picture
        #: How many times a picture was recorded (tests read it: one per window, not per bar).
        self.recordings = 0

    def __len__(self) -> int:
        return len(self._x)

    def _store(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, width: float) -> None:
        self.prepareGeometryChange()
        self._x, self._low, self._high = x, low, high
        self._half = width / 2
        if len(x):
            self._rect = QRectF(
                float(x[0]) - self._half,
                float(np.nanmin(low)),
                float(x[-1] - x[0]) + 2 * self._half,
                float(np.nanmax(high) - np.nanmin(low)),
            )
        else:
            self._rect = QRectF()
        self._recorded = None  # recorded when first painted, for the bars then in view
        self._picture = QPicture()
        self.update()

    def _wanted_bars(self) -> tuple[int, int, int]:
        """``(start, end, step)``: the bars to record. Up to :data:`ALL_BARS` bars, all of them
        once; beyond, those around the view, and with more than :data:`WINDOW_BARS` on screen,
        groups of ``step`` bars merged into one (a coarser interval: first open, highest high,
        lowest low, last close)."""
        n = len(self._x)
        if n <= ALL_BARS:
            return 0, n, 1
        vb = self.getViewBox()
        if vb is None:
            return 0, min(n, WINDOW_BARS), 1
        x0, x1 = vb.viewRange()[0]
        lo = int(np.searchsorted(self._x, x0 - self._half, side="left"))
        hi = int(np.searchsorted(self._x, x1 + self._half, side="right"))
        step = 1
        while (hi - lo) / step > WINDOW_BARS:
            step *= 2
        rec = self._recorded
        if rec is not None and rec[2] == step and rec[0] <= lo and hi <= rec[1]:
            return rec
        span = 3 * max(hi - lo, WINDOW_BARS // 4)  # the view and as much again on each side
        start = max(min((lo + hi - span) // 2, n - span), 0) // step * step
        return start, min(start + span, n), step

    def picture(self) -> QPicture:
        """The recorded picture of the bars around the view (recording it when needed)."""
        wanted = self._wanted_bars()
        if wanted != self._recorded:
            self._picture = QPicture()
            painter = QPainter(self._picture)
            try:
                self._record(painter, *wanted)
            finally:
                painter.end()
            self._recorded = wanted
            self.recordings += 1
        return self._picture

    def _groups(self, start: int, end: int, step: int) -> tuple[np.ndarray, np.ndarray, float]:
        """First and last bar of each group of ``step`` bars in ``start:end``, and the half
        width of a group's bar."""
        first = np.arange(start, end, step)
        last = np.minimum(first + step - 1, end - 1)
        return first, last, self._half * step

    def _record(self, painter: QPainter, start: int, end: int, step: int) -> None:
        """Draw bars ``start`` to ``end`` in groups of ``step``; each subclass knows its bars."""
        raise NotImplementedError

    def paint(self, painter: QPainter, *args) -> None:
        self.picture().play(painter)

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        if not len(self._x):
            return None, None
        if ax == 0:
            return float(self._x[0]) - self._half, float(self._x[-1]) + self._half
        lo, hi = 0, len(self._x)
        if orthoRange is not None:
            lo = int(np.searchsorted(self._x, orthoRange[0] - self._half, side="left"))
            hi = int(np.searchsorted(self._x, orthoRange[1] + self._half, side="right"))
        if hi <= lo:
            return None, None
        return float(np.nanmin(self._low[lo:hi])), float(np.nanmax(self._high[lo:hi]))


def _pens(color: str) -> tuple[pg.QtGui.QPen, pg.QtGui.QBrush]:
    pen = pg.mkPen(color, width=1)
    pen.setCosmetic(True)
    return pen, pg.mkBrush(color)


class CandlestickItem(_PictureBars):
    """Open/high/low/close candles: a wick from low to high and a body from open to close."""

    def set_data(
        self,
        x: np.ndarray,
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        width: float | None = None,
    ) -> None:
        self._open, self._close = np.asarray(open_, float), np.asarray(close, float)
        x = np.asarray(x, float)
        self._store(x, np.asarray(low, float), np.asarray(high, float), width or bar_width(x))

    def _record(self, painter: QPainter, start: int, end: int, step: int) -> None:
        first, last, half = self._groups(start, end, step)
        x = (self._x[first] + self._x[last]) / 2
        op, cl = self._open[first], self._close[last]
        at = first - start
        low = np.minimum.reduceat(self._low[start:end], at)
        high = np.maximum.reduceat(self._high[start:end], at)
        up = cl >= op
        for mask, color in ((up, UP_COLOR), (~up, DOWN_COLOR)):
            pen, brush = _pens(color)
            painter.setPen(pen)
            painter.setBrush(brush)
            painter.drawPath(segments_path(x[mask], low[mask], high[mask]))
            o, c = op[mask], cl[mask]
            painter.drawPath(rects_path(x[mask], np.minimum(o, c), np.maximum(o, c), half))


class VolumeBarsItem(_PictureBars):
    """Volume bars from zero, coloured by whether the bar closed up or down.

    Zoomed out to years of daily bars, a bar is narrower than a pixel; its one-pixel cosmetic
    outline keeps it visible, and the colours still show runs of up and down days.
    """

    def __init__(self) -> None:
        super().__init__()
        self._up = np.empty(0, bool)

    def set_data(
        self, x: np.ndarray, volume: np.ndarray, up: np.ndarray, width: float | None = None
    ) -> None:
        self._up = np.asarray(up, bool)
        x = np.asarray(x, float)
        volume = np.asarray(volume, float)
        self._store(x, np.zeros_like(volume), volume, width or bar_width(x))

    def colours(self) -> tuple[int, int]:
        """How many bars are drawn in the up colour and in the down colour."""
        return int(self._up.sum()), int((~self._up).sum())

    def _record(self, painter: QPainter, start: int, end: int, step: int) -> None:
        """Draw the bars (groups of ``step`` averaged) in date order, chunk by chunk.

        Zoomed out, several bars share a pixel column and the last one drawn shows: drawn in
        two passes, the second colour would win everywhere. The bars are drawn in date order in
        :data:`CHUNKS` short chunks instead (one vectorised path per colour, the colour drawn
        last taking turns from chunk to chunk), so neither colour wins.
        """
        if end <= start:
            return
        styles = {}
        for up, color in ((True, UP_COLOR), (False, DOWN_COLOR)):
            fill = QColor(color)
            fill.setAlpha(150)
            pen = pg.mkPen(fill, width=1)
            pen.setCosmetic(True)
            styles[up] = (pen, fill)
        first, last, half = self._groups(start, end, step)
        x = (self._x[first] + self._x[last]) / 2
        # Merged bars show the mean volume per bar: the axis (fitted to single bars) still reads.
        v = np.add.reduceat(np.nan_to_num(self._high[start:end]), first - start)
        v = v / (last - first + 1)
        up = self._up[last]
        # Chunk by chunk in date order, one colour then the other, the first colour taking
        # turns (so neither always lands on top): one stable sort, then contiguous groups.
        chunk = np.minimum(np.arange(len(x)) * CHUNKS // len(x), CHUNKS - 1)
        second = up ^ (chunk % 2 == 1)  # even chunks: up bars first; odd chunks: down first
        key = 2 * chunk + second.astype(np.int64)
        order = np.argsort(key, kind="stable")
        x, v, up, key = x[order], v[order], up[order], key[order]
        bounds = np.r_[0, np.flatnonzero(np.diff(key)) + 1, len(x)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            pen, fill = styles[bool(up[a])]
            painter.setPen(pen)
            painter.setBrush(fill)
            painter.drawPath(rects_path(x[a:b], np.zeros(b - a), v[a:b], half))
