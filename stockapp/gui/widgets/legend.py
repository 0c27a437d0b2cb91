"""A legend under a plot's bottom axis, so that no curve ever passes beneath its text.

pyqtgraph's ``addLegend`` floats the legend over the data, where it hides whatever curve runs
through that corner (a loss curve falling to the bottom right, a gradient rising to lag 1).
:func:`legend_below` gives a plot a legend in a row of its own layout under the x axis, with
its entries side by side; items added to the plot with a ``name`` are listed as with
``addLegend``, and ``plot.clear()`` removes them again.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

#: The row of a ``PlotItem``'s layout under its bottom axis (title 0, top 1, view 2, bottom 3).
LEGEND_ROW = 4


def legend_below(plot: pg.PlotItem | pg.PlotWidget, columns: int = 4) -> pg.LegendItem:
    """Give ``plot`` a frameless legend under its x axis, ``columns`` entries to a row."""
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    legend = pg.LegendItem(offset=None, frame=False, colCount=columns, horSpacing=12)
    # Ignored width: a long legend on a narrow chart is cut at the right instead of widening
    # the whole plot past its widget.
    legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignLeft)
    item.legend = legend  # PlotItem.addItem lists named items in ``item.legend``
    return legend
