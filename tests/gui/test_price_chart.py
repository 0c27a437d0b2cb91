"""The price chart shows every row, switches styles, follows the mouse and zooms in time."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from stockapp.gui.price_chart import PriceChart


@pytest.fixture
def chart(qtbot):
    widget = PriceChart()
    widget.resize(1000, 600)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_all_rows_shown_and_view_spans_them(chart, series_of, qtbot):
    series = series_of("AAPL")
    chart.set_series(series)
    assert chart.point_count() == len(series) == 3379
    x0, x1 = chart.price_plot.vb.viewRange()[0]
    first, last = (t.timestamp() for t in (series.dates[0], series.dates[-1]))
    assert x0 <= first and x1 >= last
    assert "2018-01-19" in chart.readout_text()  # the last bar, before the mouse moves
    chart.set_style("candles")
    assert chart.point_count() == len(series)


def test_style_switch_is_announced_and_candles_are_one_item(chart, series_of, qtbot):
    chart.set_series(series_of("SPY"))
    with qtbot.waitSignal(chart.style_changed) as blocker:
        chart.candles_button.click()
    assert blocker.args == ["candles"]
    assert chart.candles.isVisible() and not chart.curve.isVisible()
    # one picture item for 2,519 candles, not an item per bar
    assert len(chart.price_plot.items) < 10
    with pytest.raises(ValueError):
        chart.set_style("bars")


def test_adjusted_prices_are_plotted_when_asked(chart, series_of):
    series = series_of("AAPL")
    chart.set_series(series, adjusted=False)
    raw = chart.curve.getOriginalDataset()[1][-1]
    chart.set_series(series, adjusted=True)
    adjusted = chart.curve.getOriginalDataset()[1][0]
    assert raw == pytest.approx(series.frame["Close"].iloc[-1])
    assert adjusted == pytest.approx(series.frame["Adj Close"].iloc[0])
    assert "adjusted" in chart.title.text()


def test_close_only_series_falls_back_to_a_line_without_volume(chart, close_only_series):
    chart.set_style("candles")
    chart.set_series(close_only_series)
    assert not chart.candles_button.isEnabled()
    assert chart.curve.isVisible() and not chart.candles.isVisible()
    assert not chart.volume_plot.isVisible()
    assert chart.point_count() == 56


def test_zooming_in_time_refits_the_price_axis(chart, series_of, qtbot):
    series = series_of("AAPL")
    chart.set_series(series)
    chart.set_style("candles")
    x = np.array([t.timestamp() for t in series.dates[-60:]])
    chart.price_plot.setXRange(x[0], x[-1], padding=0)
    recent = series.frame.iloc[-60:]
    low, high = recent["Low"].min(), recent["High"].max()

    def fitted() -> bool:
        y0, y1 = chart.price_plot.vb.viewRange()[1]
        return y0 <= low and y1 >= high and (y1 - y0) < 2 * (high - low)

    qtbot.waitUntil(fitted, timeout=3000)
    chart.reset_button.click()
    qtbot.waitUntil(
        lambda: chart.price_plot.vb.viewRange()[1][1] - chart.price_plot.vb.viewRange()[1][0] > 100,
        timeout=3000,
    )


def test_crosshair_follows_the_mouse(chart, series_of, qtbot):
    series = series_of("MSFT")
    chart.set_series(series)
    viewport = chart.graphics.viewport()
    rect = chart.price_plot.vb.sceneBoundingRect()
    centre = chart.graphics.mapFromScene(rect.center())
    qtbot.mouseMove(viewport, QPoint(centre.x(), centre.y()))
    qtbot.waitUntil(lambda: chart._vline.isVisible(), timeout=3000)
    shown_x = chart._vline.value()
    dates = [t.timestamp() for t in series.dates]
    index = dates.index(shown_x)  # snapped onto a bar
    assert f"{series.dates[index]:%Y-%m-%d}" in chart.readout_text()
    assert 0 < index < len(series) - 1


def test_show_bar_reads_out_that_row(chart, series_of):
    series = series_of("GOOG")
    chart.set_series(series)
    chart.show_bar(10)
    row = series.frame.iloc[10]
    text = chart.readout_text()
    assert f"{series.dates[10]:%Y-%m-%d}" in text
    assert f"C {row['Close']:,.2f}" in text


def test_clearing_the_chart(chart, series_of):
    chart.set_series(series_of("INTC"))
    chart.set_series(None)
    assert chart.point_count() == 0
    assert "No prices" in chart.readout_text()
