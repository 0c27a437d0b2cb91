"""The backtest charts, the score tables and the exported picture, on a synthetic result."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from stockapp.core.backtest import BacktestResult, assemble_result
from stockapp.core.trading import TradingRule
from stockapp.gui.backtest.metrics_table import (
    DM_COLUMN,
    FORECAST_COLUMNS,
    MetricsTable,
    fmt_number,
    fmt_p,
)
from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.pictures import render_backtest_png
from tests.gui.axis_labels import drawn_tick_labels

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def synthetic_result(n: int = 250, seed: int = 0) -> BacktestResult:
    """A random-walk close with a noisy "model" and the three baselines, scored for real."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-02", periods=n + 1)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n + 1)))
    previous, realised = close[:-1], close[1:]
    forecasts = {
        "model": previous * np.exp(rng.normal(0.0005, 0.004, n)),
        "persistence": previous.copy(),
        "drift": previous * np.exp(0.0003),
        "ar": previous * np.exp(rng.normal(0.0, 0.002, n)),
    }
    return assemble_result(
        dates[1:],
        realised,
        previous,
        forecasts,
        TradingRule(),
        refit_dates=[dates[1], dates[1 + n // 2]],
        fits=[],
    )


@pytest.fixture
def result() -> BacktestResult:
    return synthetic_result()


@pytest.fixture
def view(qtbot) -> BacktestView:
    w = BacktestView()
    qtbot.addWidget(w)
    return w


def test_view_holds_one_forecast_per_test_bar(view, result):
    assert view.forecast_count() == 0
    view.set_result(result, "LSTM")
    assert view.forecast_count() == result.n
    for key in ("realised", "persistence", "drift", "ar", "residual_model", "strategy"):
        assert view.series_points(key) == result.n
    assert view.series_points("refits") == 2  # one refit inside the span, drawn as a segment
    view.clear()
    assert view.forecast_count() == 0


def test_toggling_a_baseline_hides_it_and_keeps_the_checkbox_in_step(view, result, qtbot):
    view.set_result(result, "LSTM")
    assert view.is_series_visible("drift")
    with qtbot.waitSignal(view.series_toggled) as sig:
        view.set_series_visible("drift", False)
    assert sig.args == ["drift", False]
    assert not view.is_series_visible("drift")
    assert not view._checks["drift"].isChecked()
    assert "Drift" not in view.readout_text(10)
    view._checks["drift"].setChecked(True)  # the checkbox drives the curve too
    assert view.is_series_visible("drift")
    assert "Drift" in view.readout_text(10)


def test_persistence_residuals_start_hidden(view, result):
    view.set_result(result, "LSTM")
    assert view.is_series_visible("residual_model")
    assert not view.is_series_visible("residual_persistence")


def _sample_rows(sample) -> set[int]:
    """The pixel rows a legend sample paints on a transparent 20x20 image."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(20, 20, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    sample.paint(painter)
    painter.end()
    return {y for y in range(20) for x in range(20) if image.pixelColor(x, y).alpha() > 0}


def test_a_hidden_series_is_a_faded_line_in_its_legend(view, result):
    view.set_result(result, "LSTM")
    entries = {label.text: (sample, label) for sample, label in view.residual_plot.legend.items}
    sample, label = entries["Persistence"]
    hidden_rows = _sample_rows(sample)
    assert hidden_rows and max(hidden_rows) - min(hidden_rows) <= 3  # a line, not an icon
    assert label.opts["color"] != entries["LSTM"][1].opts["color"]  # greyed
    view.set_series_visible("residual_persistence", True)
    assert label.opts["color"] == entries["LSTM"][1].opts["color"]
    assert _sample_rows(sample) == hidden_rows  # the same line, now at full strength


def test_readout_gives_date_realised_and_errors(view, result):
    view.set_result(result, "GRU")
    text = view.readout_text(5)
    assert text.startswith(f"{result.dates[5]:%Y-%m-%d}")
    error = result.forecasts["model"][5] - result.realised[5]
    assert "GRU" in text
    assert f"(error {'+' if error >= 0 else '−'}{abs(error):.2f})" in text
    view.show_crosshair_at(5)
    assert "GRU" in view.readout.text()


def test_legend_is_renamed_for_the_model(view, result):
    view.set_result(result, "Transformer-ish")
    names = [label.text for _, label in view.price_plot.legend.items]
    assert "Transformer-ish" in names


def test_metrics_table_shows_every_forecaster_with_its_numbers(qtbot, result):
    table = MetricsTable()
    qtbot.addWidget(table)
    table.set_result(result, "LSTM")
    assert table.row_keys() == ["model", "persistence", "drift", "ar"]
    assert table.row_label("model") == "LSTM"
    assert table.row_label("persistence").startswith("Persistence")
    for key in table.row_keys():
        m = result.metrics[key]
        assert table.cell_text(key, "RMSE") == fmt_number(m.rmse)
        assert table.cell_text(key, "MAE") == fmt_number(m.mae)
        assert table.cell_text(key, "MAPE %") == f"{m.mape:.2f}"
    model = result.metrics["model"]
    # issue 18.1: the one-sided p for "smaller errors", coloured by the signed verdict
    assert table.cell_text("model", DM_COLUMN) == fmt_p(model.dm_better_pvalue)
    for row, key in enumerate(table.row_keys()):
        item = table.forecast_table.item(row, list(FORECAST_COLUMNS).index(DM_COLUMN))
        verdict = result.metrics[key].verdict
        colour = {"better": "#bbf7d0", "worse": "#fecaca"}.get(verdict or "")
        painted = item.background().style() != Qt.BrushStyle.NoBrush
        assert painted == (colour is not None)
        assert not painted or item.background().color().name() == colour
        if key != "persistence":
            assert item.toolTip().startswith(
                {"better": "better", "worse": "worse"}.get(verdict, "a tie")
            )
    assert table.cell_text("model", "Skill vs\npersistence") == f"{model.skill * 100:+.2f}%"
    assert table.cell_text("model", "Hit rate %") == f"{model.directional_accuracy * 100:.1f}%"
    assert table.cell_text("persistence", DM_COLUMN) == "–"  # persistence vs itself
    assert table.forecast_table.columnCount() == len(FORECAST_COLUMNS)


def test_metrics_table_trading_section_and_sentences(qtbot, result):
    table = MetricsTable()
    qtbot.addWidget(table)
    table.set_result(result, "LSTM")
    s, b = result.strategy.stats, result.buy_and_hold.stats
    assert table.trading_text("Total return") == f"{s.total_return * 100:.1f}%"
    assert table.trading_text("Sharpe", strategy=False) == f"{b.sharpe:.2f}"
    assert table.trading_text("Trades") == f"{s.trades:,}"
    assert table.trading_text("Trades", strategy=False) == "2"  # entry and exit
    for sentence in result.sentences("LSTM"):
        assert sentence in table.summary.text()
    assert "Diebold-Mariano" in table.as_text()
    table.clear()
    assert table.row_keys() == []


def test_render_backtest_png_writes_a_picture(qtbot, result, tmp_path):
    path = render_backtest_png(result, "LSTM", tmp_path / "chart.png", width=900, height=600)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 20_000  # three plots of lines, not a blank page


def test_many_bars_stay_a_single_curve(view):
    big = synthetic_result(n=5200, seed=3)  # ~20 years of daily bars
    view.set_result(big, "LSTM")
    assert view.forecast_count() == big.n
    curve = view._curves["model"]
    assert curve.opts["clipToView"] and curve.opts["autoDownsample"]
    refits = view._curves["refits"]
    assert not refits.opts["clipToView"] and not refits.opts["autoDownsample"]


def test_picture_legends_list_only_what_is_drawn(qtbot, result):
    from stockapp.gui.pictures import BacktestPicture

    def legend_names(picture) -> list[str]:
        return [label.text for _, label in picture.view.price_plot.legend.items]

    with_refit = BacktestPicture(result, "LSTM")
    qtbot.addWidget(with_refit)
    assert "Refit dates" in legend_names(with_refit)
    residuals = [label.text for _, label in with_refit.view.residual_plot.legend.items]
    assert residuals == ["LSTM"]  # persistence residuals are hidden, so not listed

    once = dataclasses.replace(result, refit_dates=[result.dates[0]])
    trained_once = BacktestPicture(once, "LSTM")
    qtbot.addWidget(trained_once)
    assert "Refit dates" not in legend_names(trained_once)


def test_crosshair_follows_the_mouse(qtbot, view, result):
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_result(result, "LSTM")
    x = view._x[40]
    y = float(result.realised[40])
    pos = view.price_plot.vb.mapViewToScene(pg.Point(x, y))
    view.graphics.scene().sigMouseMoved.emit(pos)
    assert view._crosshairs[0].value() == pytest.approx(x)
    assert f"{result.dates[40]:%Y-%m-%d}" in view.readout.text()
    assert view.crosshair_date() == f"{result.dates[40]:%Y-%m-%d}"  # also at the date axis
    view.clear()
    assert view.crosshair_date() is None


# ------------------------------------------------------------------ reading and zooming
def test_readout_prices_share_two_decimals(view, result):
    """Once "+0.8000" stood beside "+1.069": one number of decimals for every price and error."""
    view.set_result(result, "LSTM")
    for index in range(0, result.n, 17):
        text = view.readout_text(index)
        prices_and_errors = re.findall(
            r"(?<![\d-])[+−]?[\d,]+\.\d+(?=[ )]|$)", text.split("rule")[0]
        )
        assert prices_and_errors
        assert {len(p.split(".")[1]) for p in prices_and_errors} == {2}, text
    cheap = dataclasses.replace(
        result,
        realised=result.realised / 400,
        forecasts={k: v / 400 for k, v in result.forecasts.items()},
    )
    view.set_result(cheap, "LSTM")  # prices under one: four decimals, still for all of them
    text = view.readout_text(3).split("rule")[0]
    assert {len(p.split(".")[1]) for p in re.findall(r"\d+\.\d+", text)} == {4}


def test_readout_stays_on_one_line(qtbot, view, result):
    view.resize(420, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_result(result, "A long model name for a narrow window")
    view.show_crosshair_at(10)
    assert not view.readout.wordWrap()
    assert view.readout.height() < 2 * view.readout.fontMetrics().height()
    # and it never widens the view: its own length is ignored by the layout
    assert view.readout.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored
    assert "Drift" in view.readout.toolTip()  # the whole line, should the window cut it


def test_hiding_a_series_takes_it_out_of_the_readout_at_once(view, result):
    view.set_result(result, "LSTM")
    view.show_crosshair_at(10)
    assert "Drift" in view.readout.text()
    view.set_series_visible("drift", False)
    assert "Drift" not in view.readout.text()  # without waiting for the mouse to move


def test_unticking_the_model_hides_its_errors_too(view, result):
    view.set_result(result, "LSTM")
    view._checks["model"].setChecked(False)
    assert not view.is_series_visible("model")
    assert not view.is_series_visible("residual_model")
    view._checks["model"].setChecked(True)
    assert view.is_series_visible("residual_model")
    # persistence residuals, switched on, leave with persistence and come back with it
    view.set_series_visible("residual_persistence", True)
    view.set_series_visible("persistence", False)
    assert not view.is_series_visible("residual_persistence")
    assert view._checks["residual_persistence"].isChecked()  # still wanted
    view.set_series_visible("persistence", True)
    assert view.is_series_visible("residual_persistence")


def test_empty_view_says_how_to_get_results(qtbot, view, result):
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    assert view.is_empty() and view.empty_state.label.isVisible()
    assert "Run a backtest" in view.empty_state.text()
    assert not view.price_plot.legend.isVisible()
    for plot in (view.price_plot, view.residual_plot, view.equity_plot):
        assert drawn_tick_labels(plot.getAxis("left")) == []
    view.set_result(result, "LSTM")
    assert not view.is_empty() and view.price_plot.legend.isVisible()
    qtbot.waitUntil(
        lambda: len(drawn_tick_labels(view.price_plot.getAxis("left"))) >= 2, timeout=3000
    )
    view.clear()
    assert view.is_empty()


def test_wheel_zooms_time_and_y_follows_the_visible_data(qtbot, view, result):
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_result(result, "LSTM")
    for plot in (view.price_plot, view.residual_plot, view.equity_plot):
        assert plot.vb.state["mouseEnabled"] == [True, False]  # wheel and drag: x only
    tail = slice(result.n - 20, result.n)
    view.price_plot.setXRange(view._x[tail][0], view._x[tail][-1], padding=0)
    visible = np.concatenate([result.realised[tail]] + [f[tail] for f in result.forecasts.values()])
    low, high = float(visible.min()), float(visible.max())

    def fitted() -> bool:
        y0, y1 = view.price_plot.vb.viewRange()[1]
        return y0 <= low and y1 >= high and (y1 - y0) < 2 * (high - low)

    qtbot.waitUntil(fitted, timeout=3000)
    view.reset_button.click()
    x0, x1 = view.price_plot.vb.viewRange()[0]
    assert x0 <= view._x[0] and x1 >= view._x[-1]
    everything = np.concatenate([result.realised] + list(result.forecasts.values()))
    qtbot.waitUntil(lambda: view.price_plot.vb.viewRange()[1][0] <= everything.min(), timeout=3000)


def test_a_model_worse_than_persistence_is_red_and_said_worse(qtbot):
    """Issue 18.1: a significantly worse model must not look like a success."""
    from stockapp.core.backtest import assemble_result
    from stockapp.core.trading import TradingRule

    rng = np.random.default_rng(18)
    n = 400
    previous = 100 + np.cumsum(rng.normal(0, 1, n))
    realised = previous + rng.normal(0, 1, n)
    forecasts = {
        "model": previous + rng.normal(0, 0.6, n),  # persistence plus noise: larger errors
        "persistence": previous,
        "drift": previous + 0.01,
        "ar": previous - 0.01,
    }
    dates = pd.bdate_range("2020-01-01", periods=n)
    res = assemble_result(dates, realised, previous, forecasts, TradingRule(), [dates[0]], [])
    assert res.metrics["model"].verdict == "worse"
    table = MetricsTable()
    qtbot.addWidget(table)
    table.set_result(res, "LSTM")
    item = table.forecast_table.item(0, list(FORECAST_COLUMNS).index(DM_COLUMN))
    assert item.background().color().name() == "#fecaca"
    assert item.toolTip().startswith("worse than persistence")
    assert "LSTM is significantly worse than persistence" in table.summary.text()
    assert "better than persistence" not in table.summary.text()
