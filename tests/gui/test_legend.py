"""The legend under a plot: outside the data, and wrapped rather than wider than its plot."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from stockapp.gui.widgets.legend import legend_below

NAMES = ("Plain RNN (tanh)", "GRU", "LSTM")


def _plot(qtbot, width: int):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(width, 300)
    legend = legend_below(widget, columns=3)
    for name in NAMES:
        widget.plot(np.arange(60.0), np.linspace(1, 2, 60), name=name)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    return widget, legend


def test_a_narrow_plot_wraps_its_legend_instead_of_growing_past_its_widget(qtbot):
    """Three long entries side by side once made the Inside charts wider than their column,
    cutting off their right side (the latest lags)."""
    widget, legend = _plot(qtbot, 240)
    item = widget.getPlotItem()
    assert item.geometry().width() <= widget.width()
    assert legend.columnCount < 3
    assert legend.geometry().right() <= widget.width()


def test_a_wide_plot_lists_its_entries_on_one_row_under_the_data(qtbot):
    widget, legend = _plot(qtbot, 800)
    item = widget.getPlotItem()
    assert legend.columnCount == 3
    assert not legend.sceneBoundingRect().intersects(item.vb.sceneBoundingRect())
