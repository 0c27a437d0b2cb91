"""What an axis would paint: its tick labels as pyqtgraph lays them out, for the chart tests."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter


def drawn_texts(axis) -> list[tuple[QRectF, str]]:
    """The tick labels the axis would paint now, with their rectangles."""
    image = QImage(20, 20, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [(rect, text) for rect, _, text in specs[2]]


def drawn_tick_labels(axis) -> list[str]:
    """The tick labels the axis would paint now (pyqtgraph's own layout of its ticks)."""
    return [text for _, text in drawn_texts(axis)]
