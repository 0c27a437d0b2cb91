"""A chart's empty state: no axis numbers, and one centred sentence saying what will appear.

An empty pyqtgraph plot shows the default range 0..1 with ticks "0.1 ... 0.9", which reads as
data. :class:`EmptyState` hides the tick labels of the plots it is given and lays a centred,
word-wrapped note over the chart widget until :meth:`EmptyState.set_empty` is told otherwise.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget


class EmptyState(QObject):
    """The empty look of one chart widget.

    Parameters
    ----------
    host
        The widget the note covers (the chart's graphics view).
    plots
        The plots whose axes lose their numbers (and grid lines) while empty.
    text
        What will appear there and how to get it.
    """

    def __init__(self, host: QWidget, plots: list[pg.PlotItem], text: str) -> None:
        super().__init__(host)
        self._host = host
        self._plots = plots
        self._empty: bool | None = None
        self.label = QLabel(text, host)
        self.label.setObjectName("emptyChartNote")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        # A light card, so that axis lines behind the sentence do not cross its words.
        self.label.setStyleSheet(
            "color: #555555; font-size: 11pt; background: rgba(250, 250, 250, 235);"
            "border: 1px solid #d8d8d8; border-radius: 6px; padding: 10px 16px;"
        )
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        host.installEventFilter(self)
        self._place()

    def text(self) -> str:
        return self.label.text()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self._place()

    def is_empty(self) -> bool:
        return bool(self._empty)

    def set_empty(self, empty: bool) -> None:
        """Show the note and blank the axes (``True``), or give the axes back their numbers."""
        if empty == self._empty:
            return
        self._empty = empty
        self.label.setVisible(empty)
        for plot in self._plots:
            for name in ("left", "right", "bottom"):
                axis = plot.getAxis(name)
                # An empty level list means no ticks at all (and so no grid lines); None
                # hands the ticks back to the axis' own tickValues().
                axis.setTicks([[], []] if empty else None)
        if empty:
            self._place()
            self.label.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        """Centre the card, at most 560 pixels wide and 24 pixels in from every edge."""
        area = self._host.rect().adjusted(24, 24, -24, -24)
        width = max(120, min(560, area.width()))
        height = min(max(self.label.heightForWidth(width), 40), max(area.height(), 40))
        self.label.setGeometry(
            area.center().x() - width // 2, area.center().y() - height // 2, width, height
        )
