"""The Inside tab is reached from the backtest: a clicked forecast, a run opened from disk."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from stockapp.gui.backtest.view import BacktestView
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


# ------------------------------------------------------------------ wired into the window
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from stockapp.core.bars import format_dates  # noqa: E402
from stockapp.models.explain import explain_forecast  # noqa: E402
from stockapp.models.forecaster import RecurrentForecaster  # noqa: E402
from tests.gui.test_inside import CFG, SPEC, _shown  # noqa: E402


@pytest.fixture
def outcome(aapl):
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.models.runner import run_backtest

    return drain(run_backtest(aapl, SPEC, CFG, BacktestSettings(test_fraction=0.1)))


@pytest.fixture
def inside(window):
    """The window's Backtest and Inside tabs, wired as the app wires them."""
    from stockapp.gui.backtest.adapter import BacktestController
    from stockapp.gui.inside.adapter import InsideController
    from stockapp.gui.training.adapter import TrainingController

    training = TrainingController()
    training.attach(window)
    backtest = BacktestController()
    backtest.attach(window, training)
    ctl = InsideController()
    ctl.attach(window, backtest)
    return ctl, backtest


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_clicked_forecast_opens_the_inside_tab_at_its_date(qtbot, window, inside, outcome):
    ctl, backtest = inside
    backtest._on_finished(outcome)  # as when the backtest's worker finishes
    dates = format_dates(outcome.result.dates)
    _shown(qtbot, ctl, dates[-1])
    assert window.tabs.currentWidget() is backtest.tab
    backtest.view.forecast_clicked.emit(outcome.result.dates[5])
    assert window.tabs.currentWidget() is ctl.page
    assert ctl.view.date_box.currentText() == dates[5]
    _shown(qtbot, ctl, dates[5])
    ctl._explain_worker.wait(5000)
    qtbot.wait(10)


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_run_opened_from_disk_is_explained_with_its_saved_model(
    qtbot, window, inside, outcome, tmp_path
):
    ctl, backtest = inside
    folder = tmp_path / "run"
    outcome.save(folder)
    assert backtest.open_run_from(folder)
    dates = format_dates(outcome.result.dates)
    ex = _shown(qtbot, ctl, dates[-1])
    ctl._explain_worker.wait(5000)
    # the model is the one read back from the run's model/ folder, not one in memory
    assert ctl._forecaster is not outcome.forecaster
    saved = RecurrentForecaster.load(folder / "model")
    prices = window.series.prices(SPEC.adjusted)
    first = int(prices.index.get_loc(outcome.result.dates[0]))
    direct = explain_forecast(saved, prices, first + len(dates) - 2, flow_before=first)
    np.testing.assert_array_equal(ex.attribution.attribution, direct.attribution.attribution)
    np.testing.assert_array_equal(ex.flow, direct.flow)
    qtbot.wait(10)


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_run_on_other_data_says_so_and_offers_to_load_its_data(
    qtbot, window, inside, tmp_path, short_aapl_csv
):
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.models.runner import run_backtest

    ctl, backtest = inside
    assert window.data_panel.load_csv_path(short_aapl_csv)  # data that can be loaded again
    name = window.series.name
    outcome = drain(run_backtest(window.series, SPEC, CFG, BacktestSettings(test_fraction=0.1)))
    folder = tmp_path / "run"
    outcome.save(folder)
    window.data_panel.load_sample("MSFT")
    assert backtest.open_run_from(folder)
    view = ctl.view
    assert view.explanation is None and view.date_box.count() == 0
    assert not view.compare_button.isEnabled()
    text = view.heading.text()
    assert f"made on {name}" in text and "MSFT" in text and text.endswith(".")
    assert not view.load_button.isHidden()
    assert view.load_button.text() == f"Load {name} (CSV)"
    # a click on the chart still brings the tab forward, which says why there is nothing yet
    backtest.view.forecast_clicked.emit(outcome.result.dates[3])
    assert window.tabs.currentWidget() is ctl.page

    view.load_button.click()
    assert window.series.name == name
    _shown(qtbot, ctl, format_dates(outcome.result.dates)[3])  # the bar clicked meanwhile
    assert view.load_button.isHidden() and view.compare_button.isEnabled()
    ctl._explain_worker.wait(5000)
    qtbot.wait(10)


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_run_without_its_model_says_there_is_nothing_to_look_inside(
    qtbot, window, inside, outcome, tmp_path
):
    import shutil

    ctl, backtest = inside
    folder = tmp_path / "run"
    outcome.save(folder)
    shutil.rmtree(folder / "model")
    backtest._on_finished(outcome)  # starts explaining the last bar of the backtest just run
    worker = ctl._explain_worker
    assert backtest.open_run_from(folder)  # ...but the run opened meanwhile has no model
    assert worker.wait(20000)
    qtbot.wait(50)  # the late explanation of the other model arrives, and is not shown
    assert "without its model" in ctl.view.heading.text()
    assert ctl.view.explanation is None and not ctl.view.compare_button.isEnabled()


@pytest.mark.usefixtures("no_leaked_threads")
def test_each_forecast_is_explained_with_the_fit_that_made_it(
    qtbot, window, inside, aapl, tmp_path
):
    """Issue 18.2: after refits, the Inside tab explained the last refit's model whatever the
    bar; now the fit that made each forecast, live and reopened, with that fit's epoch curves."""
    from stockapp.core.progress import drain
    from stockapp.core.walkforward import BacktestSettings
    from stockapp.models.runner import run_backtest

    ctl, backtest = inside
    settings = BacktestSettings(test_fraction=0.1, refit_every=20, refit_epochs=2)
    refitted = drain(run_backtest(aapl, SPEC, CFG, settings))
    result = refitted.result
    assert len(result.refit_dates) == 2 and result.n == 40
    assert len(refitted.forecaster.last_result.gradient_flow_epochs) == 2  # the last refit's
    dates = format_dates(result.dates)
    backtest._on_finished(refitted)
    _shown(qtbot, ctl, dates[-1])
    ctl._explain_worker.wait(5000)
    assert "after each of the 2 training epochs" in ctl.view.flow_text.text()
    assert ctl.view.flow_text.text().endswith("Recorded during fit 2's training.")
    second = result.fits[1].trained_through
    assert ctl.view.heading.text().endswith(f"Made by fit 2 of 2, trained through {second}.")

    def check(bars):
        for i in bars:  # the first bar of each segment, one inside, the last
            ctl.view.date_box.setCurrentText(dates[i])
            ex = _shown(qtbot, ctl, dates[i])
            ctl._explain_worker.wait(5000)
            assert ex.forecast_price == pytest.approx(result.forecasts["model"][i], rel=1e-6), i
            k = 1 if i >= 20 else 0
            assert f"Made by fit {k + 1} of 2, trained through {result.fits[k].trained_through}" \
                in ctl.view.heading.text()  # fmt: skip

    check([0, 7, 20, 39])
    # the first fit's curves are its own: one per epoch of its training, no catch-up epochs
    ctl.view.date_box.setCurrentText(dates[3])
    _shown(qtbot, ctl, dates[3])
    ctl._explain_worker.wait(5000)
    assert ctl.view.flow_text.text().endswith("Recorded during fit 1's training.")

    folder = tmp_path / "run"
    refitted.save(folder)
    assert backtest.open_run_from(folder)
    _shown(qtbot, ctl, dates[-1])
    ctl._explain_worker.wait(5000)
    assert ctl._forecaster is not refitted.forecaster and ctl._forecaster.fit_count == 2
    check([0, 20])
    qtbot.wait(10)
