"""The bands in the GUI: shaded around the forecast, toggleable, and the calibration charts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.return_distribution import interval
from stockapp.core.walkforward import BacktestSettings, walk_forward
from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.bands.view import CALIBRATION_LEVELS, BandsView, observed_coverage
from tests.core.test_walkforward import MeanReversion, MeanReversionBands, _prices
from tests.gui.axis_labels import drawn_texts


def _result(forecaster):
    prices = _prices()
    settings = BacktestSettings(test_start=str(prices.index[300].date()), refit_every=50)
    return drain(walk_forward(prices, FeatureSpec(window=10), forecaster, settings), lambda e: 0)


@pytest.fixture(scope="module")
def banded():
    return _result(MeanReversionBands())


def test_bands_shaded_around_the_forecast_and_toggled(qtbot, banded):
    view = BacktestView()
    qtbot.addWidget(view)
    view.set_result(banded, "Stand-in")
    overlay = view.bands
    assert not overlay.controls.isHidden()
    assert overlay.is_shown("50") and overlay.is_shown("80")
    assert not overlay.is_shown("95") and not overlay.is_shown("garch")
    lo, hi = overlay._lines["80"]
    # The calibrated bands, level by level, as forecasts.csv saves them (issue 22).
    want_lo, want_hi = banded.bands.band("model", 0.8)
    assert banded.bands.bounds is not None and "calibrated" in overlay.title.text()
    np.testing.assert_allclose(lo.yData, banded.previous * np.exp(want_lo))
    np.testing.assert_allclose(hi.yData, banded.previous * np.exp(want_hi))
    assert np.all(lo.yData < banded.forecasts["model"]) and np.all(
        hi.yData > banded.forecasts["model"]
    )
    overlay.checks["95"].setChecked(True)
    overlay.checks["garch"].setChecked(True)
    overlay.checks["50"].setChecked(False)
    assert overlay.is_shown("95") and overlay.is_shown("garch") and not overlay.is_shown("50")
    view.clear()
    assert overlay.controls.isHidden()


def test_price_pane_keeps_half_the_charts_with_bands_on(qtbot, banded):
    """At a laptop screen's share of the Forecasts page the price pane stays readable (issue 20:
    it was 25 pixels tall with the bands shown)."""
    view = BacktestView()
    qtbot.addWidget(view)
    view.resize(870, 470)  # the view's height on a 1280x800 screen
    view.show()
    qtbot.waitExposed(view)
    view.set_result(banded, "Stand-in")
    qtbot.wait(50)
    plots = (view.price_plot, view.residual_plot, view.equity_plot)
    heights = [p.sceneBoundingRect().height() for p in plots]
    assert heights[0] >= 0.5 * sum(heights), heights
    for plot in plots:  # legends in rows of their own: none covers a plot
        assert not plot.legend.sceneBoundingRect().intersects(plot.vb.sceneBoundingRect())
        _assert_no_overlap(plot.getAxis("left"))


def _assert_no_overlap(axis) -> None:
    """The tick labels the axis paints: at least two, none over another (issue 20: "160" over
    "140" on a 25-pixel price chart)."""
    drawn = drawn_texts(axis)
    assert len(drawn) >= 2, [t for _, t in drawn]
    for (a, ta), (b, tb) in itertools.combinations(drawn, 2):
        assert not a.intersects(b), (ta, tb)


def test_the_still_picture_draws_no_band_check_boxes(qtbot, banded):
    """Issue 20: the static backtest.png drew the Bands check boxes; it shades the bands only."""
    from stockapp.gui.pictures import BacktestPicture

    picture = BacktestPicture(banded, "Stand-in")
    qtbot.addWidget(picture)
    assert picture.view.bands.controls.isHidden()
    assert picture.view.bands.is_shown("80")  # the bands themselves are still drawn
    picture.view.set_result(banded, "Stand-in")  # and stay unclickable after a redraw
    assert picture.view.bands.controls.isHidden()


def test_point_results_show_no_band_controls(qtbot):
    view = BacktestView()
    qtbot.addWidget(view)
    view.set_result(_result(MeanReversion()), "Stand-in")
    assert view.bands.controls.isHidden()


def test_calibration_pit_and_volatility_charts(qtbot, banded):
    view = BandsView()
    qtbot.addWidget(view)
    view.set_result(banded, "Stand-in")
    x, y = view.curves["model"].getData()
    np.testing.assert_array_equal(x, CALIBRATION_LEVELS)
    # At the scored levels the curve is the calibrated bands' coverage, the table's number;
    # elsewhere the calibrated distribution's central interval.
    assert y[7] == pytest.approx(banded.bands.scores["model"].coverage_80)
    assert y[4] == pytest.approx(banded.bands.scores["model"].coverage_50)
    assert y[9] == pytest.approx(banded.bands.scores["model"].coverage_95)
    mu, sigma, nu = banded.bands.dists["model"]
    lo, hi = interval(0.6, mu, sigma, nu)
    y_ret = banded.bands.realised_return
    assert y[5] == pytest.approx(np.mean((y_ret >= lo) & (y_ret <= hi)))
    raw = banded.bands.raw
    assert raw is not None
    _, raw_y = view.raw_curve.getData()
    assert raw_y[7] == pytest.approx(raw.scores["model"].coverage_80)
    np.testing.assert_allclose(y, observed_coverage(banded.bands, "model", CALIBRATION_LEVELS))
    opts = view.bars.opts
    widths = np.asarray(opts["x1"]) - np.asarray(opts["x0"])
    assert float(np.sum(np.asarray(opts["height"]) * widths)) == pytest.approx(1.0)
    assert view.sigma.getData()[1].size == banded.n
    assert view.sentence.text().startswith("Stand-in's 80% bands held")
    view.set_result(_result(MeanReversion()), "Stand-in")
    assert view.is_empty() and "distribution head" in view.empty_state.text()
    for plot in (view.calibration, view.pit, view.vol):  # a sentence, no axis numbers
        assert plot.getAxis("left")._tickLevels == [[], []]


def test_coverage_by_regime_names_calibrated_and_raw(qtbot, banded):
    view = BandsView()
    qtbot.addWidget(view)
    view.set_result(banded, "Stand-in")
    table = view.regimes
    assert table.row_names() == [
        "Stand-in, calibrated", "GARCH(1,1)-t, calibrated", "EWMA 0.94, calibrated",
        "Rolling vol., calibrated", "Stand-in, own (raw)", "GARCH(1,1)-t, own (raw)",
    ]  # fmt: skip
    metrics = banded.bands.metrics_dict("Stand-in", banded.dates)["bands"]
    for row, entry in enumerate(
        (metrics, metrics["garch"], metrics["ewma"], metrics["rolling"],
         metrics["uncalibrated"], metrics["uncalibrated"]["garch"])
    ):  # fmt: skip
        want = [entry["coverage_80"], *entry["coverage_80_by_tercile"],
                entry["coverage_80_after_jump"]]  # fmt: skip
        for col, value in enumerate(want):
            text = table.cell_text(row, col)
            if not np.isfinite(value):
                assert text == "–"
            else:
                assert float(text.rstrip("%")) == pytest.approx(value * 100, abs=0.051)
    table.level.setCurrentIndex(table.level.findData("95"))
    assert float(table.cell_text(0, 1).rstrip("%")) == pytest.approx(
        metrics["coverage_95_by_tercile"][0] * 100, abs=0.051
    )
    assert "calibrated (aci)" in view.heading.text()
    assert view.calibration_note.text().startswith("Calibrated online")


def test_bands_legends_stand_outside_their_charts(qtbot, banded):
    view = BandsView()
    qtbot.addWidget(view)
    view.resize(870, 640)  # the Bands page on a 1280x800 screen
    view.show()
    qtbot.waitExposed(view)
    view.set_result(banded, "Stand-in")
    qtbot.wait(50)
    for legend, plot in (
        (view.calibration_legend, view.calibration), (view.vol_legend, view.vol)
    ):  # fmt: skip
        assert legend.isVisible() and len(legend.items) >= 3
        box = plot.vb.sceneBoundingRect()
        assert not legend.sceneBoundingRect().intersects(box), (legend, plot)
    for axis in ("left", "bottom"):
        _assert_no_overlap(view.calibration.getAxis(axis))
    _assert_no_overlap(view.vol.getAxis("left"))


def test_results_tab_shows_the_bands_view_only_for_a_distribution(qtbot, banded):
    from stockapp.gui.backtest.adapter import BacktestController

    controller = BacktestController()
    qtbot.addWidget(controller.tab)
    controller._show(banded, "Stand-in")
    assert controller.tab.bands_shown()  # a page of its own, beside the forecasts (issue 20)
    assert controller.bands_view.sentence.text().startswith("Stand-in's 80% bands")
    controller._show(_result(MeanReversion()), "Stand-in")
    assert not controller.tab.bands_shown()


def test_empty_results_draw_a_sentence_not_axes(qtbot, banded):
    """Issue 20: empty states draw no axes and no empty grids, a sentence instead."""
    from stockapp.gui.backtest.results_tab import ResultsTab

    tab = ResultsTab()
    qtbot.addWidget(tab)
    tab.show_results(None)
    view, table = tab.view, tab.table
    assert view.is_empty() and view.empty_state.text().startswith("Run a backtest")
    for plot in (view.price_plot, view.residual_plot, view.equity_plot):
        assert not plot.getAxis("left").isVisible() and not plot.legend.isVisible()
    assert view._toggle_row.isHidden()
    assert table.forecast_table.isHidden() and table.trading_table.isHidden()
    assert table.summary.text() == "No backtest yet."
    from stockapp.session.state import Results

    tab.show_results(Results(banded, "Stand-in"))
    assert not view.is_empty() and not view._toggle_row.isHidden()
    assert view.price_plot.getAxis("left").isVisible()
    assert not table.forecast_table.isHidden() and not table.trading_table.isHidden()
