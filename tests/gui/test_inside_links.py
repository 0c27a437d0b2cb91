"""The Inside tab is reached from the backtest: a clicked forecast, a run opened from disk."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from stockapp.gui.backtest_view import BacktestView
from tests.gui.test_backtest_view import synthetic_result


def _click_at(qtbot, view: BacktestView, plot: pg.PlotItem, x: float, y: float) -> None:
    scene = plot.vb.mapViewToScene(pg.Point(x, y))
    pos = view.graphics.mapFromScene(scene)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_clicking_a_forecast_emits_the_nearest_test_bars_date(qtbot):
    view = BacktestView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    result = synthetic_result()
    view.set_result(result, "LSTM")
    x = view._x
    # a little nearer bar 40 than bar 41, on the price chart
    with qtbot.waitSignal(view.forecast_clicked, timeout=2000) as got:
        _click_at(qtbot, view, view.price_plot, x[40] + 0.3 * (x[41] - x[40]),
                  float(result.realised[40]))  # fmt: skip
    assert got.args == [result.dates[40]]
    # the equity chart below shares the dates
    with qtbot.waitSignal(view.forecast_clicked, timeout=2000) as got:
        _click_at(qtbot, view, view.equity_plot, x[101] - 0.2 * (x[101] - x[100]),
                  float(result.strategy.equity[101]))  # fmt: skip
    assert got.args == [result.dates[101]]
    # nothing shown: nothing to click
    view.clear()
    with qtbot.assertNotEmitted(view.forecast_clicked):
        _click_at(qtbot, view, view.price_plot, x[40], float(result.realised[40]))
