"""Bands in the window (issue 12): the Model page's output head, the scores table's bands section
and vol-targeted column, a Student-t backtest run from the window, and its parity with the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from stockapp import cli
from stockapp.core.backtest import BacktestResult
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.backtest.metrics_table import (
    BAND_COLUMNS,
    BAND_ROWS,
    BINOMIAL_COLUMN,
    FORECAST_COLUMNS,
    TRADING_ROWS,
    MetricsTable,
)
from stockapp.gui.backtest.view import EMPTY_TEXT
from stockapp.gui.training.adapter import TrainingController
from stockapp.gui.training.model_panel import ModelPanel
from stockapp.models.trainer import TrainConfig
from tests.core.test_walkforward import MeanReversion, MeanReversionBands, _prices
from tests.gui.test_gui_cli_parity import CLI_ARGS, _type_settings

#: Column -> the ``metrics.json`` bands keys it shows (one per line), and how each is written.
COLUMN_KEYS = {
    "Held\n50 / 80 /\n95% band": tuple((f"coverage_{lv}", "percent") for lv in (50, 80, 95)),
    # one line per level: Kupiec, independence, conditional coverage
    "K · I · CC p\n50 / 80 /\n95% band": tuple(
        (f"{test}_pvalue_{lv}", "p")
        for lv in (50, 80, 95)
        for test in ("kupiec", "independence", "cc")
    ),
    "Interval\nscore\n80%": (("interval_score_80", "number"),),
    "Log score\np better\nvs GARCH": (
        ("log_score", "number"),
        ("dm_better_pvalue_log_score_vs_garch", "p"),
    ),
    # shown x 1000, as the README's tables write it (issue 20)
    "CRPS\n(x1e3)": (("crps", "thousandths"),),
}


def _assert_cell(text: str, entry: dict, shown: tuple) -> None:
    """A cell's lines (and the p-values of a line, space-separated) are the keys' values."""
    parts = [part for line in text.split("\n") for part in line.split(" ")]
    assert len(parts) == len(shown), text
    for part, (key, kind) in zip(parts, shown, strict=True):
        value = entry[key]
        if kind == "p" and part.startswith("."):
            part = "0" + part  # the compact p-values drop their leading zero
        if kind == "p" and part.startswith("<."):
            part = "<0" + part[1:]
        _assert_shows(part, math.nan if value is None else value, kind)


def _assert_shows(text: str, value: float, kind: str) -> None:
    """``text`` is ``value`` written to the precision shown (independent of the table's code)."""
    if not math.isfinite(value):
        assert text == "–"
        return
    if kind == "thousandths":
        value, kind = value * 1000, "number"
    if kind == "percent":
        assert text.endswith("%")
        assert float(text[:-1]) / 100 == pytest.approx(value, abs=0.0005 + 1e-12)
    elif kind == "p" and text.startswith("<"):
        assert value < float(text[1:])
    else:
        shown = float(text.replace(",", ""))
        digits = len(text.split(".")[1]) if "." in text else 0
        assert shown == pytest.approx(value, abs=0.5 * 10**-digits + 1e-12)
        if kind == "number":
            assert abs(value - shown) <= 5e-4 * abs(value)  # four significant digits at least


def _trading_value(field: str, stats: dict) -> tuple[float, str]:
    v = stats[field]
    if field == "trades":
        return v, "number"
    if field == "sharpe":
        return v, "p"  # plain two-decimal number
    return v, "percent"


def _check_bands_section(table: MetricsTable, result: BacktestResult, name: str) -> None:
    metrics = result.metrics_dict(name)
    bands = metrics["bands"]
    assert not table.bands_table.isHidden()
    assert table.band_keys() == ["model", "garch", "ewma", "rolling"]
    assert list(BAND_COLUMNS) == list(COLUMN_KEYS)
    for key in table.band_keys():
        entry = bands if key == "model" else bands[key]
        for column, shown in COLUMN_KEYS.items():
            _assert_cell(table.band_text(key, column), entry, shown)
        verdict = entry["verdict_log_score_vs_garch"]
        item = table.bands_table.item(
            table.band_keys().index(key), list(BAND_COLUMNS).index("Log score\np better\nvs GARCH")
        )
        colour = {"better": "#bbf7d0", "worse": "#fecaca"}.get(verdict)
        painted = item.background().style() != Qt.BrushStyle.NoBrush
        assert painted == (colour is not None) and (
            not painted or item.background().color().name() == colour
        )
    assert table.band_label("model") == name
    assert table.band_label("garch") == BAND_ROWS["garch"]
    assert bands["summary"] in table.summary.text()
    assert metrics["strategy_vol"]["summary"] in table.summary.text()  # realised beside target
    tip = table.bands_table.item(0, 1).toolTip().splitlines()
    assert [t[:15] for t in tip] == ["50% band: held ", "80% band: held ", "95% band: held "]
    assert all("Kupiec p" in t and "conditional coverage p" in t for t in tip)
    for label, field, _tip in TRADING_ROWS:
        value, kind = _trading_value(field, metrics["strategy_vol"])
        text = table.vol_target_text(label)
        if field == "trades":
            assert int(text.replace(",", "")) == value
        else:
            _assert_shows(text, value, kind)
    assert table.trading_table.columnCount() == 3
    assert "Vol" in table.trading_table.horizontalHeaderItem(2).text()


def _banded(forecaster) -> BacktestResult:
    prices = _prices()
    settings = BacktestSettings(test_start=str(prices.index[300].date()), refit_every=50)
    return drain(walk_forward(prices, FeatureSpec(window=10), forecaster, settings), lambda e: 0)


def test_scores_table_bands_section_and_vol_target_column(qtbot):
    table = MetricsTable()
    qtbot.addWidget(table)
    result = _banded(MeanReversionBands())
    table.set_result(result, "Stand-in")
    _check_bands_section(table, result, "Stand-in")
    # A point result afterwards hides the section and the column again.
    table.set_result(_banded(MeanReversion()), "Stand-in")
    assert table.bands_table.isHidden()
    assert table.band_keys() == []
    assert table.trading_table.columnCount() == 2
    table.set_result(result, "Stand-in")
    table.clear()
    assert table.bands_table.isHidden()


def test_binomial_tooltip_names_the_test_not_a_coin_flip():
    tip = FORECAST_COLUMNS[BINOMIAL_COLUMN]
    assert "coin" not in tip.lower()
    assert "hit rate vs 50% (binomial)" in tip
    assert "Pesaran-Timmermann" in tip


def test_empty_backtest_view_names_the_pages_as_they_are():
    assert "Backtest settings" in EMPTY_TEXT
    assert "File > Runs…" in EMPTY_TEXT
    assert "Backtest page" not in EMPTY_TEXT


def test_model_page_output_head_feeds_the_config_and_is_remembered(qtbot):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    combo = panel.head_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Point forecast",
        "Gaussian band",
        "Student-t band",
    ]
    tip = combo.toolTip()
    for ident in ("point", "gaussian", "student-t"):
        assert ident in tip
    assert "README" in tip
    assert panel.config().head == "point"
    combo.setCurrentIndex(combo.findData("student-t"))
    assert panel.config().head == "student-t"
    again = ModelPanel()  # a new launch reads the remembered settings
    qtbot.addWidget(again)
    assert again.config().head == "student-t"
    # An opened model's head is shown.
    again.set_values(FeatureSpec(), TrainConfig(head="gaussian"))
    assert again.head_combo.currentData() == "gaussian"
    assert again.config().head == "gaussian"


def _window_backtest(qtbot, csv, folder, calibration: str = "aci"):
    """Pick Student-t (and its Bands calibration) on the Model page and run a tiny backtest
    from the window."""
    window = create_main_window(csv=str(csv), quiet=True)
    qtbot.addWidget(window)
    training = window.findChild(TrainingController)
    backtest = window.findChild(BacktestController)
    _type_settings(training.panel)
    training.panel.head_combo.setCurrentIndex(training.panel.head_combo.findData("student-t"))
    assert training.panel.config().head == "student-t"
    assert training.panel.calibration_combo.isEnabled()
    training.panel.calibration_combo.set_method(calibration)
    backtest.panel.set_settings(BacktestSettings(test_fraction=0.2))
    with qtbot.waitSignal(backtest.backtest_finished, timeout=120000) as done:
        assert backtest.start_backtest()
    assert backtest.wait(5000)
    assert done.args[0] is not None, window.last_error
    assert backtest.save_run_to(folder)
    return window, backtest


def test_student_t_backtest_from_the_window_shows_its_bands(qtbot, short_aapl_csv, tmp_path):
    window, backtest = _window_backtest(qtbot, short_aapl_csv, tmp_path / "gui_run")
    result = backtest.result
    assert result is not None and result.bands is not None
    assert backtest.tab.bands_shown()
    assert not backtest.view.bands.controls.isHidden()
    name = backtest.model_name
    _check_bands_section(backtest.table, result, name)
    assert backtest.bands_view.sentence.text() == result.metrics_dict(name)["bands"]["summary"]
    mu, sigma, _ = result.bands.dists["model"]
    np.testing.assert_allclose(backtest.bands_view.sigma.yData, sigma)
    # On a 1280x800 screen the charts and the scores share the Forecasts page, the price chart
    # keeps half of the charts' height, and the calibration charts have a page of their own.
    window.resize(1280, 800)
    window.show()
    window.tabs.setCurrentWidget(backtest.tab)
    qtbot.waitExposed(window)
    chart, scores = backtest.splitter.sizes()
    assert chart >= 300 and scores >= 150, (chart, scores)
    view = backtest.view
    heights = [p.sceneBoundingRect().height() for p in (view.price_plot, view.residual_plot,
                                                          view.equity_plot)]  # fmt: skip
    assert heights[0] >= 0.5 * sum(heights) and heights[0] >= 120, heights
    assert backtest.table.scroll.horizontalScrollBar().maximum() == 0
    for table in (backtest.table.forecast_table, backtest.table.trading_table):
        assert table.content_width() <= table.width(), table  # no column off the right edge
    backtest.tab.show_page("Bands")
    qtbot.waitUntil(lambda: backtest.bands_view.isVisible())
    assert backtest.bands_view.calibration.sceneBoundingRect().height() >= 150


def test_the_model_pages_bands_choice_is_the_command_lines_calibrate(
    qtbot, short_aapl_csv, tmp_path
):
    """Issue 22: the GUI's head choice gets --calibrate's option; "none" keeps the head's own
    bands, exactly as the command line's --calibrate none writes them."""
    gui_folder = tmp_path / "gui_none"
    _window, backtest = _window_backtest(qtbot, short_aapl_csv, gui_folder, calibration="none")
    bands = backtest.result.bands
    assert bands.calibration == "none" and bands.raw is None
    assert "uncalibrated" in backtest.bands_view.heading.text()
    cli_folder = tmp_path / "cli_none"
    assert cli.main(["backtest", "--csv", str(short_aapl_csv), *CLI_ARGS, "--head", "student-t",
                     "--calibrate", "none", "--out", str(cli_folder)]) == 0  # fmt: skip
    gui = pd.read_csv(gui_folder / "forecasts.csv")
    expected = pd.read_csv(cli_folder / "forecasts.csv")
    assert "raw_sigma" not in gui.columns
    pd.testing.assert_frame_equal(gui, expected, check_exact=False, rtol=1e-12, atol=0.0)


def test_the_bands_choice_follows_the_head_and_is_remembered(qtbot):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    combo = panel.head_combo
    combo.setCurrentIndex(combo.findData("point"))
    assert not panel.calibration_combo.isEnabled()  # a point forecast has no bands
    combo.setCurrentIndex(combo.findData("gaussian"))
    assert panel.calibration_combo.isEnabled() and panel.calibration() == "aci"  # the default
    panel.calibration_combo.set_method("none")
    again = ModelPanel()
    qtbot.addWidget(again)
    assert again.calibration() == "none"


def test_window_bands_equal_the_command_lines(qtbot, short_aapl_csv, tmp_path):
    gui_folder = tmp_path / "gui_run"
    _window_backtest(qtbot, short_aapl_csv, gui_folder)
    cli_folder = tmp_path / "cli_run"
    assert cli.main(["backtest", "--csv", str(short_aapl_csv), *CLI_ARGS, "--head", "student-t",
                     "--out", str(cli_folder)]) == 0  # fmt: skip
    gui = pd.read_csv(gui_folder / "forecasts.csv")
    expected = pd.read_csv(cli_folder / "forecasts.csv")
    for column in ("sigma", "lower_80", "upper_80", "garch_sigma", "garch_lower_80"):
        assert column in gui.columns
        assert gui[column].notna().all()
    pd.testing.assert_frame_equal(gui, expected, check_exact=False, rtol=1e-12, atol=0.0)
