"""Candlesticks and volume bars drawn as one recorded picture each.

Twenty years of daily bars are ~5,000 candles; one graphics item per candle would make panning
crawl. Like pyqtgraph's own candlestick example, each item here records all its bars once into a
``QPicture`` (cosmetic pens, so outlines stay one pixel at any zoom) and replays it on paint.
``dataBounds`` honours the visible x range, so a view with ``setAutoVisible(y=True)`` rescales its
y axis to the bars on screen while the user zooms through time.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPicture

UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"


def bar_width(x: np.ndarray, fraction: float = 0.7) -> float:
    """A bar width as a fraction of the typical spacing between bars (1 for a single bar)."""
    if len(x) < 2:
        return fraction * 86400.0
    return fraction * float(np.median(np.diff(x)))


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

    def __len__(self) -> int:
        return len(self._x)

    def _store(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, width: float) -> None:
        self.prepareGeometryChange()
        self._x, self._low, self._high = x, low, high
        self._half = width / 2
        if len(x):
            self._rect = QRectF(
                float(x[0]) - self._half,
                float(low.min()),
                float(x[-1] - x[0]) + 2 * self._half,
                float(high.max() - low.min()),
            )
        else:
            self._rect = QRectF()
        self._picture = QPicture()
        painter = QPainter(self._picture)
        try:
            self._record(painter)
        finally:
            painter.end()
        self.update()

    def _record(self, painter: QPainter) -> None:
        """Draw every bar; each subclass knows its own bars."""
        raise NotImplementedError

    def paint(self, painter: QPainter, *args) -> None:
        self._picture.play(painter)

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
        return float(self._low[lo:hi].min()), float(self._high[lo:hi].max())


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

    def _record(self, painter: QPainter) -> None:
        up = self._close >= self._open
        for mask, color in ((up, UP_COLOR), (~up, DOWN_COLOR)):
            pen, brush = _pens(color)
            painter.setPen(pen)
            painter.setBrush(brush)
            xs, lo, hi = self._x[mask], self._low[mask], self._high[mask]
            op, cl = self._open[mask], self._close[mask]
            painter.drawLines(
                [QLineF(QPointF(x, a), QPointF(x, b)) for x, a, b in zip(xs, lo, hi, strict=True)]
            )
            bottom = np.minimum(op, cl)
            height = np.abs(cl - op)
            w = 2 * self._half
            painter.drawRects(
                [
                    QRectF(x - self._half, b, w, h)
                    for x, b, h in zip(xs, bottom, height, strict=True)
                ]
            )


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

    def _record(self, painter: QPainter) -> None:
        """Draw the bars in date order, one call per run of same-coloured days.

        Zoomed out, several bars share a pixel column and the last one drawn shows. Drawing
        all up bars and then all down bars would paint the whole pane red; in date order
        neither colour is favoured.
        """
        if not len(self._x):
            return
        styles = {}
        for up, color in ((True, UP_COLOR), (False, DOWN_COLOR)):
            fill = QColor(color)
            fill.setAlpha(150)
            pen = pg.mkPen(fill, width=1)
            pen.setCosmetic(True)
            styles[up] = (pen, fill)
        w = 2 * self._half
        rects = [
            QRectF(x - self._half, 0.0, w, v) for x, v in zip(self._x, self._high, strict=True)
        ]
        edges = np.flatnonzero(np.diff(self._up.astype(np.int8))) + 1
        starts = np.r_[0, edges]
        ends = np.r_[edges, len(self._x)]
        for start, end in zip(starts, ends, strict=True):
            pen, fill = styles[bool(self._up[start])]
            painter.setPen(pen)
            painter.setBrush(fill)
            painter.drawRects(rects[start:end])
