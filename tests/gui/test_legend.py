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


def test_a_legend_rewrapped_after_a_resize_stays_under_the_axis(qtbot):
    """Re-wrapping once moved the legend to the plot's top-left corner, over the curves."""
    widget, legend = _plot(qtbot, 800)
    widget.resize(240, 300)
    qtbot.wait(50)
    item = widget.getPlotItem()
    assert legend.columnCount < 3
    assert legend.geometry().top() >= item.getAxis("bottom").geometry().bottom() - 1
    assert not legend.sceneBoundingRect().intersects(item.vb.sceneBoundingRect())


def test_a_narrow_loss_chart_keeps_its_legend_under_the_axis(qtbot):
    """The Backtest settings page's small loss chart once drew its wrapped legend over the
    curves, at the plot's top-left corner."""
    from stockapp.gui.widgets.loss_chart import LossChart

    chart = LossChart()
    qtbot.addWidget(chart)
    chart.resize(300, 260)
    chart.set_history([1.0, 0.9, 0.95], [0.5, 0.48, 0.49], 2)
    chart.show()
    qtbot.waitExposed(chart)
    qtbot.wait(50)
    item = chart.plot.getPlotItem()
    legend = chart.legend
    assert legend.columnCount < 4
    assert legend.geometry().top() >= item.getAxis("bottom").geometry().bottom() - 1
