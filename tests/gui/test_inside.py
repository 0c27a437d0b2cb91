"""The Inside tab: follows the last backtest, explains any test bar, compares the three kinds."""

from __future__ import annotations

import numpy as np
import pytest

from stockapp.core.bars import format_dates
from stockapp.core.explain_text import completeness_text
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.inside.adapter import TAB_TITLE, InsideController
from stockapp.models.explain import explain_forecast
from stockapp.models.runner import run_backtest
from stockapp.models.trainer import TrainConfig

SPEC = FeatureSpec(window=10)
CFG = TrainConfig(hidden=4, layers=2, epochs=2, batch_size=32, device="cpu", patience=0)


@pytest.fixture
def outcome(aapl):
    return drain(run_backtest(aapl, SPEC, CFG, BacktestSettings(test_fraction=0.1)))


@pytest.fixture
def inside(window, outcome):
    """An Inside tab in the window, told about a finished backtest as the Backtest tab tells it."""
    from stockapp.gui.backtest.adapter import BacktestController
    from stockapp.gui.training.adapter import TrainingController

    training = TrainingController()
    training.attach(window)
    backtest = BacktestController()
    backtest.attach(window, training)
    ctl = InsideController()
    ctl.attach(window, backtest)
    return ctl, backtest


def _shown(qtbot, ctl: InsideController, date: str):
    qtbot.waitUntil(
        lambda: ctl.view.explanation is not None and ctl.view.explanation.date == date,
        timeout=20000,
    )
    return ctl.view.explanation


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_finished_backtest_is_explained_and_any_test_bar_can_be_picked(
    qtbot, window, inside, outcome, aapl
):
    ctl, backtest = inside
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert TAB_TITLE in titles
    backtest.backtest_finished.emit(outcome)
    dates = format_dates(outcome.result.dates)
    assert [ctl.view.date_box.itemText(i) for i in range(ctl.view.date_box.count())] == dates
    ex = _shown(qtbot, ctl, dates[-1])
    view = ctl.view
    assert view.gate_box.currentText() == "layer 0: forget"
    assert view.gate_box.count() == 2 * 6  # two LSTM layers x (i, f, g, o, c, h)
    assert view.gate_image.image.shape == (10, 4)  # time x units
    for label in (view.inputs_text, view.attr_text, view.flow_text, view.gate_text):
        assert label.text().endswith(".") and len(label.text()) > 20
    assert "forget gate stays near" in view.gate_text.text()
    view.gate_box.setCurrentText("layer 1: hidden")
    assert "hidden state" in view.gate_text.text()

    # picking another bar explains that forecast, with the numbers the core gives
    view.date_box.setCurrentText(dates[3])
    ex = _shown(qtbot, ctl, dates[3])
    prices = aapl.prices(SPEC.adjusted)
    first = int(prices.index.get_loc(outcome.result.dates[0]))
    direct = explain_forecast(outcome.forecaster, prices, first + 3 - 1, flow_before=first)
    np.testing.assert_array_equal(ex.attribution.attribution, direct.attribution.attribution)
    np.testing.assert_array_equal(ex.flow, direct.flow)
    assert ex.date in view.heading.text()
    a = ex.attribution
    said = f". Integrated gradients with {a.steps} steps add up to the forecast's change from"
    assert said in view.heading.text()
    tail = completeness_text(a.steps, a.completeness_error)
    assert view.heading.text().endswith(tail[:1].upper() + tail[1:] + ".")
    ctl._explain_worker.wait(5000)
    qtbot.wait(10)


@pytest.mark.usefixtures("no_leaked_threads")
def test_the_kinds_comparison_runs_in_the_background_and_can_be_cancelled(
    qtbot, inside, outcome, aapl
):
    ctl, backtest = inside
    backtest.backtest_finished.emit(outcome)
    _shown(qtbot, ctl, format_dates(outcome.result.dates)[-1])
    ctl._explain_worker.wait(5000)
    worker = ctl.compare()
    assert worker is not None and ctl.is_comparing()
    assert not ctl.view.compare_button.isEnabled() and ctl.view.cancel_button.isEnabled()
    assert ctl.compare() is None  # one at a time
    with qtbot.waitSignal(worker.done, timeout=60000):
        pass
    result = ctl.view.comparison
    assert set(result.flows) == {"rnn", "gru", "lstm"} and not result.cancelled
    assert ctl.view.kinds_text.text().startswith("At lag 10 the gradient is ")
    assert ctl.view.compare_button.isEnabled() and not ctl.view.progress.isVisible()

    worker = ctl.compare()
    with qtbot.waitSignal(worker.done, timeout=60000):
        ctl.view.cancel_button.click()
    assert worker.cancelled
    assert "Cancelled" in ctl.view.kinds_text.text()
    assert ctl.view.comparison is result  # the finished comparison stays on the chart
    assert worker.wait(5000)


def test_without_a_backtest_the_tab_says_what_to_do(qtbot, inside):
    ctl, _ = inside
    assert "Run a backtest" in ctl.view.heading.text()
    assert not ctl.view.compare_button.isEnabled()
    assert ctl.compare() is None and ctl.explain("2020-01-02") is None


@pytest.mark.usefixtures("no_leaked_threads")
def test_the_gradient_chart_draws_each_training_epoch_faintly_and_the_model_bold(
    qtbot, inside, outcome
):
    import pyqtgraph as pg

    ctl, backtest = inside
    curves = outcome.forecaster.last_result.gradient_flow_epochs
    assert len(curves) >= 1
    backtest.backtest_finished.emit(outcome)
    ex = _shown(qtbot, ctl, format_dates(outcome.result.dates)[-1])
    ctl._explain_worker.wait(5000)
    items = [i for i in ctl.view.flow_plot.getPlotItem().items if isinstance(i, pg.PlotDataItem)]
    assert len(items) == len(curves) + 1
    widths = [i.opts["pen"].widthF() for i in items]
    assert widths[-1] > max(widths[:-1])  # the trained model's curve is the bold one, drawn last
    np.testing.assert_allclose(items[0].yData, curves[0])
    np.testing.assert_allclose(items[-1].yData, ex.flow)
    assert "Faint line" in ctl.view.flow_text.text()
    qtbot.wait(10)


def test_the_empty_tab_is_one_sentence_without_axes(qtbot, inside):
    ctl, _ = inside
    ctl.view.show()
    assert ctl.view.is_empty()
    assert not ctl.view.charts.isVisible() and not ctl.view.date_box.isVisible()
    assert "Run a backtest" in ctl.view.heading.text()


def test_legends_sit_under_the_axes_not_over_the_curves(inside):
    from stockapp.gui.widgets.legend import LEGEND_ROW

    view = inside[0].view
    for plot in (view.attr_plot, view.flow_plot, view.kinds_plot):
        item = plot.getPlotItem()
        assert item.legend is not None and item.legend.opts["offset"] is None
        assert item.layout.itemAt(LEGEND_ROW, 1) is item.legend


@pytest.mark.usefixtures("no_leaked_threads")
def test_other_data_resets_the_tab_and_its_comparison(qtbot, window, inside, outcome, series_of):
    ctl, backtest = inside
    backtest.backtest_finished.emit(outcome)
    _shown(qtbot, ctl, format_dates(outcome.result.dates)[-1])
    ctl._explain_worker.wait(5000)
    qtbot.wait(10)
    assert not ctl.view.is_empty()
    ctl.view.comparison = object()  # as if a comparison were on the chart
    window.set_series(series_of("MSFT"))
    assert ctl.view.is_empty() and ctl.view.comparison is None
    assert ctl.view.date_box.count() == 0 and not ctl.view.compare_button.isEnabled()
    assert "Run a backtest" in ctl.view.heading.text()
    assert not ctl.view.kinds_plot.getPlotItem().listDataItems()


def test_the_comparison_progress_text_fits_its_bar(qtbot, inside):
    view = inside[0].view
    view.show()
    text = "Plain RNN (tanh) 3/3 · epoch 10/10"
    view.set_busy(True, 0.5, text)
    qtbot.wait(10)
    room = view.progress.contentsRect().width()
    assert view.progress.fontMetrics().horizontalAdvance(text) < room


def test_the_tab_is_built_when_first_shown_not_at_start_up(qtbot, window, inside):
    """The Inside charts cost ~0.2 s of the window's first paint; nobody sees them then."""
    ctl, _ = inside
    assert not ctl.page.is_built()
    window.show()
    window.tabs.setCurrentWidget(ctl.page)
    qtbot.waitUntil(ctl.page.is_built, timeout=3000)
    assert ctl.view.parent() is ctl.page and not ctl.view.compare_button.isEnabled()


@pytest.mark.usefixtures("no_leaked_threads")
def test_closing_the_window_mid_comparison_joins_its_thread(qtbot, window, inside, outcome):
    """Closing while RNN, GRU and LSTM train must not leave a thread inside PyTorch as the
    process exits (it aborts: "terminate called without an active exception")."""
    ctl, backtest = inside
    backtest.backtest_finished.emit(outcome)
    _shown(qtbot, ctl, format_dates(outcome.result.dates)[-1])
    ctl._explain_worker.wait(5000)
    worker = ctl.compare(epochs=50)
    assert worker is not None and worker.is_running()
    window.close()
    assert worker.cancelled and worker.wait(0)
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass
