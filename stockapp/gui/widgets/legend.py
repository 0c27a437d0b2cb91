"""A legend under a plot's bottom axis, so that no curve ever passes beneath its text.

pyqtgraph's ``addLegend`` floats the legend over the data, where it hides whatever curve runs
through that corner (a loss curve falling to the bottom right, a gradient rising to lag 1).
:func:`legend_below` gives a plot a legend in a row of its own layout under the x axis, its
entries side by side and wrapped onto more rows when the plot is narrow (a legend wider than its
plot would widen the plot past its widget, which then cuts off its right side). Items added to
the plot with a ``name`` are listed as with ``addLegend``; ``plot.clear()`` removes them again.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

#: The row of a ``PlotItem``'s layout under its bottom axis (title 0, top 1, view 2, bottom 3).
LEGEND_ROW = 4
#: Pixels between two entries side by side.
ENTRY_GAP = 12


class WrappingLegend(pg.LegendItem):
    """A frameless legend laid out in a plot's own layout, with as many entries to a row as fit
    its width (at most ``columns``)."""

    def __init__(self, columns: int = 4) -> None:
        super().__init__(offset=None, frame=False, colCount=columns, horSpacing=ENTRY_GAP)
        self.most_columns = columns
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)  # the plot, not the legend, decides the width

    def addItem(self, item, name) -> None:  # noqa: N802 - pyqtgraph's name
        super().addItem(item, name)
        self.fit_columns(self.geometry().width())

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        # pyqtgraph's own moves a floating legend to (0, 0) at its content's size; this one
        # lives in the plot's layout, which places and sizes it once told it changed.
        self.updateGeometry()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_columns(event.newSize().width())

    def entry_width(self) -> float:
        """The widest entry: its sample, its label and the gap after it."""
        return max(
            (s.boundingRect().width() + lab.item.boundingRect().width() + ENTRY_GAP + 6)
            for s, lab in self.items
        )

    def fit_columns(self, width: float) -> None:
        """As many entries to a row as ``width`` holds (one at least)."""
        if not self.items or width <= 0:
            return
        columns = max(1, min(self.most_columns, int(width // self.entry_width())))
        if columns != self.columnCount:
            self.setColumnCount(columns)
            self.updateGeometry()


def legend_below(plot: pg.PlotItem | pg.PlotWidget, columns: int = 4) -> WrappingLegend:
    """Give ``plot`` a frameless legend under its x axis, at most ``columns`` entries to a row."""
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    legend = WrappingLegend(columns)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignLeft)
    item.legend = legend  # PlotItem.addItem lists named items in ``item.legend``
    return legend
