"""The price chart shows every row, switches styles, follows the mouse and zooms in time."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint

from stockapp.gui.widgets.price_chart import PriceChart
from tests.gui.axis_labels import drawn_texts


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
    assert len(chart.price_plot.items) < 16  # (plus crosshair, spans and their labels)
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


# ------------------------------------------------------------- states a newcomer sees
def test_empty_chart_says_how_to_load_prices_and_shows_no_numbers(chart, series_of, qtbot):
    assert chart.is_empty() and chart.empty_state.label.isVisible()
    assert "Data page" in chart.empty_state.text()
    for plot in (chart.price_plot, chart.volume_plot):
        for name in ("right", "bottom"):
            assert drawn_texts(plot.getAxis(name)) == []
    chart.set_series(series_of("INTC"))
    assert not chart.is_empty() and not chart.empty_state.label.isVisible()
    qtbot.waitUntil(lambda: len(drawn_texts(chart.price_plot.getAxis("right"))) >= 3, timeout=3000)
    chart.set_series(None)
    assert chart.is_empty()


def test_without_volume_the_price_pane_carries_the_dates(
    chart, close_only_series, series_of, qtbot
):
    chart.set_series(close_only_series)
    assert not chart.is_volume_shown()
    bottom = chart.price_plot.getAxis("bottom")
    assert bottom.isVisible()
    qtbot.waitUntil(lambda: len(drawn_texts(bottom)) >= 2, timeout=3000)
    # no blank band where the volume pane was: the price pane fills the chart's height
    height = chart.graphics.viewport().height()
    qtbot.waitUntil(
        lambda: chart.price_plot.sceneBoundingRect().height() > 0.9 * height, timeout=3000
    )
    chart.set_series(series_of("AAPL"))  # volumes again: back below the prices, with the dates
    assert chart.is_volume_shown() and chart.volume_plot.isVisible()
    assert not chart.price_plot.getAxis("bottom").isVisible()
    qtbot.waitUntil(
        lambda: chart.price_plot.sceneBoundingRect().height() < 0.9 * height, timeout=3000
    )


@pytest.mark.parametrize("days", [12, 20, 75, 400, 3000])
def test_date_labels_never_run_together(chart, series_of, qtbot, days):
    series = series_of("AAPL")
    chart.set_series(series)
    end = series.dates[-1].timestamp()
    chart.price_plot.setXRange(end - days * 86400.0, end, padding=0)
    axis = chart.volume_plot.getAxis("bottom")
    qtbot.waitUntil(lambda: axis.range[1] - axis.range[0] < days * 86400.0 * 1.01, timeout=3000)
    texts = drawn_texts(axis)
    assert len(texts) >= 2
    for _, text in texts:  # "Aug 02", "Aug 2021" or "2021": words and numbers apart
        assert re.fullmatch(r"[A-Z][a-z]{2} \d{2}|[A-Z][a-z]{2} \d{4}|\d{4}", text), text
    rects = sorted((rect for rect, _ in texts), key=lambda r: r.left())
    for left, right in itertools.pairwise(rects):
        assert left.right() + 4 <= right.left()  # a visible gap between neighbours


def test_crosshair_labels_its_date_and_price_at_the_axes(chart, series_of, qtbot):
    series = series_of("MSFT")
    chart.set_series(series)
    assert chart.crosshair_labels() is None
    rect = chart.price_plot.vb.sceneBoundingRect()
    # not the centre, where an earlier test may have left the (offscreen) cursor: no move then
    point = chart.graphics.mapFromScene(
        rect.topLeft() + (rect.bottomRight() - rect.topLeft()) * 0.4
    )
    qtbot.mouseMove(chart.graphics.viewport(), QPoint(point.x(), point.y()))
    qtbot.waitUntil(lambda: chart.crosshair_labels() is not None, timeout=3000)
    date, price = chart.crosshair_labels()
    index = [t.timestamp() for t in series.dates].index(chart._vline.value())
    assert date == f"{series.dates[index]:%Y-%m-%d}"
    assert price == f"{chart._hline.value():,.2f}"
    # the date sits on the lowest pane's bottom edge, the price on the right edge
    assert chart._date_label.getViewBox() is chart.volume_plot.vb
    assert chart._date_label.pos().y() == pytest.approx(chart.volume_plot.vb.viewRange()[1][0])
    assert chart._price_label.pos().x() == pytest.approx(chart.price_plot.vb.viewRange()[0][1])


def test_spans_shade_what_the_backtest_forecasts_and_validates(chart, series_of):
    chart.set_series(series_of("AAPL"))
    assert chart.spans() == {}
    test, val = pd.Timestamp("2016-01-04"), pd.Timestamp("2015-06-01")
    chart.set_spans(test, val)
    spans = chart.spans()
    assert (
        spans["test"][0] == test.timestamp() and spans["test"][1] > pd.Timestamp("2018").timestamp()
    )
    assert spans["validation"] == (val.timestamp(), test.timestamp())
    assert chart._test_label.isVisible() and chart._validation_label.isVisible()
    chart.set_spans(test, pd.Timestamp("2017-01-02"))  # "validation" after the test start: none
    assert set(chart.spans()) == {"test"}
    chart.set_spans(None)
    assert chart.spans() == {} and not chart._test_label.isVisible()


def test_volume_bars_are_coloured_by_up_and_down_days_when_zoomed_out(chart, series_of, qtbot):
    series = series_of("SPY")
    chart.set_series(series)  # 2,519 bars, far narrower than a pixel each
    up, down = chart.volume.colours()
    assert up + down == len(series) and up > 100 and down > 100
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()
    rect = chart.graphics.mapFromScene(chart.volume_plot.vb.sceneBoundingRect()).boundingRect()
    pixels = [
        image.pixelColor(x, y)
        for x in range(rect.left() + 2, rect.right() - 2, 2)
        for y in range(rect.top() + 2, rect.bottom() - 2, 2)
    ]
    reds = sum(c.red() > c.green() + 40 and c.red() > c.blue() + 40 for c in pixels)
    teals = sum(c.green() > c.red() + 40 and c.blue() > c.red() + 20 for c in pixels)
    assert reds > 20 and teals > 20


def test_reset_zoom_shows_every_row_again(chart, series_of, qtbot):
    series = series_of("AAPL")
    chart.set_series(series)
    end = series.dates[-1].timestamp()
    chart.price_plot.setXRange(end - 30 * 86400.0, end, padding=0)
    chart.reset_zoom()
    x0, x1 = chart.price_plot.vb.viewRange()[0]
    assert x0 <= series.dates[0].timestamp() and x1 >= end
