"""Ctrl+0 (View > Reset zoom) fits the charts of whichever tab is on screen."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.widgets.loss_chart import LossChart
from stockapp.gui.widgets.price_chart import PriceChart
from stockapp.gui.widgets.zoom import reset_zoom_in
from tests.gui.test_backtest_view import synthetic_result


def _reset_action(window):
    actions = [a for a in window.view_menu.actions() if a.text() == "Reset zoom"]
    assert len(actions) == 1 and actions[0].shortcut().toString() == "Ctrl+0"
    return actions[0]


def test_reset_zoom_in_finds_nested_charts(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    charts = [LossChart(page), PriceChart(page)]
    assert reset_zoom_in(page) == len(charts)
    assert reset_zoom_in(None) == 0


def test_ctrl_0_resets_the_backtest_tab(qtbot, window):
    view = BacktestView()
    window.add_tab(view, "Backtest results")
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    result = synthetic_result()
    view.set_result(result, "LSTM")
    window.tabs.setCurrentWidget(view)
    view.price_plot.setXRange(view._x[100], view._x[120], padding=0)
    _reset_action(window).trigger()
    x0, x1 = view.price_plot.vb.viewRange()[0]
    assert x0 <= view._x[0] and x1 >= view._x[-1]


def test_ctrl_0_still_resets_the_prices_tab(qtbot, window):
    window.tabs.setCurrentWidget(window.chart)
    x = window.chart._x
    window.chart.price_plot.setXRange(x[10], x[30], padding=0)
    _reset_action(window).trigger()
    x0, x1 = window.chart.price_plot.vb.viewRange()[0]
    assert x0 <= x[0] and x1 >= x[-1]
