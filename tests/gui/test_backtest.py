"""Backtesting from the window: run, cancel, save and reopen a run, export CSV and PNG."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QDate

from stockapp.core.features import FeatureSpec
from stockapp.core.trading import TradingRule
from stockapp.core.walkforward import BacktestSettings
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.backtest.panel import BacktestPanel
from stockapp.gui.training.adapter import TrainingController
from stockapp.models.runner import BacktestOutcome
from stockapp.models.trainer import TrainConfig
from tests.contracts import FORECAST_COLUMNS
from tests.gui.conftest import SHORT_BARS as BARS  # 320 bars to train on, 80 to test

TINY_SPEC = FeatureSpec(window=10, features=("log_return",))
TINY_CFG = TrainConfig(hidden=4, layers=1, epochs=2, batch_size=32, device="cpu", patience=0)


@pytest.fixture
def training(window) -> TrainingController:
    ctl = TrainingController()
    ctl.attach(window)
    ctl.panel.set_values(TINY_SPEC, TINY_CFG)
    return ctl


@pytest.fixture
def backtest(window, training) -> BacktestController:
    ctl = BacktestController()
    ctl.attach(window, training)
    ctl.panel.set_settings(BacktestSettings(test_fraction=0.2))
    return ctl


def _run(qtbot, ctl: BacktestController, timeout: int = 60000):
    with qtbot.waitSignal(ctl.backtest_finished, timeout=timeout) as done:
        assert ctl.start_backtest()
        assert ctl.is_running()
    assert ctl.wait(5000)
    return done.args[0]


@pytest.mark.usefixtures("no_leaked_threads")
def test_train_then_backtest_shows_one_forecast_per_test_bar(qtbot, window, training, backtest):
    with qtbot.waitSignal(training.training_ended, timeout=30000):
        assert training.start_training()
    assert training.wait(5000)
    assert training.forecaster is not None
    pages = window.side_tabs
    assert pages.currentWidget().isAncestorOf(training.panel)  # training kept the Model page
    assert "Run backtest" in window.message_label.text()  # and points at the next step

    outcome = _run(qtbot, backtest)
    assert pages.currentWidget().isAncestorOf(backtest.panel)
    assert isinstance(outcome, BacktestOutcome)
    assert backtest.outcome is outcome
    n_test = BARS - int(BARS * (1 - 0.2))
    assert outcome.result.n == n_test
    assert backtest.view.forecast_count() == n_test
    assert backtest.table.row_keys() == ["model", "persistence", "drift", "ar"]
    assert backtest.table.row_label("model") == outcome.model_name
    for sentence in outcome.result.sentences(outcome.model_name):
        assert sentence in backtest.table.summary.text()
    assert backtest.panel.progress_bar.value() == backtest.panel.progress_bar.maximum()
    assert backtest.panel.loss_chart.epoch_count() == TINY_CFG.epochs
    assert backtest.panel.run_button.isEnabled()
    assert not backtest.panel.cancel_button.isEnabled()
    assert backtest.save_action.isEnabled() and backtest.csv_action.isEnabled()
    assert window.last_error is None


def test_save_and_reopen_show_the_same_numbers(qtbot, window, training, backtest, tmp_path):
    outcome = _run(qtbot, backtest)
    before = backtest.table.as_text()
    folder = tmp_path / "run"
    assert backtest.save_run_to(folder)
    for name in ("manifest.json", "forecasts.csv", "metrics.json", "backtest.png"):
        assert (folder / name).is_file(), name
    assert (folder / "model").is_dir()
    assert (folder / "backtest.png").read_bytes().startswith(b"\x89PNG")

    fresh = BacktestController()
    fresh.attach(window, training)
    assert fresh.open_run_from(folder)
    assert fresh.outcome is None
    assert fresh.model_name == outcome.model_name
    assert fresh.table.as_text() == before
    assert fresh.view.forecast_count() == outcome.result.n
    for key, m in outcome.result.metrics.items():
        again = fresh.result.metrics[key]
        assert again.rmse == pytest.approx(m.rmse, rel=1e-12)
        assert again.dm_pvalue == pytest.approx(m.dm_pvalue, rel=1e-9, nan_ok=True)
    assert fresh.result.strategy.stats.total_return == pytest.approx(
        outcome.result.strategy.stats.total_return, rel=1e-12
    )

    # Saving the reopened run elsewhere keeps everything, the model included.
    copy = tmp_path / "copy"
    assert fresh.save_run_to(copy)
    assert (copy / "model").is_dir() and (copy / "backtest.png").is_file()
    assert json.loads((copy / "metrics.json").read_text())["rmse"] == pytest.approx(
        outcome.result.metrics["model"].rmse
    )


def _one_sentence(text: str | None) -> None:
    assert text
    assert "\n" not in text and "Traceback" not in text
    assert text.endswith(".")


@pytest.mark.parametrize("damage", ["empty", "bad_json", "no_forecasts"])
def test_a_broken_run_folder_gives_one_sentence(qtbot, window, backtest, tmp_path, damage):
    folder = tmp_path / "broken"
    folder.mkdir()
    if damage == "bad_json":
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "no_forecasts":
        (folder / "manifest.json").write_text(json.dumps({"format": 1}), encoding="utf-8")
    assert not backtest.open_run_from(folder)
    _one_sentence(window.last_error)
    assert str(folder) in window.last_error
    assert backtest.result is None
    assert backtest.view.forecast_count() == 0


def test_export_csv_has_the_required_columns(qtbot, backtest, tmp_path):
    outcome = _run(qtbot, backtest)
    path = tmp_path / "forecasts.csv"
    assert backtest.export_csv_to(path)
    table = pd.read_csv(path)
    assert set(FORECAST_COLUMNS) <= set(table.columns)
    assert len(table) == outcome.result.n
    np.testing.assert_allclose(table["forecast"], outcome.result.forecasts["model"])
    png = tmp_path / "chart.png"
    assert backtest.export_png_to(png)
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000


def test_refits_are_marked_on_the_chart(qtbot, backtest):
    backtest.panel.set_settings(BacktestSettings(test_fraction=0.2, refit_every=40))
    outcome = _run(qtbot, backtest)
    assert len(outcome.result.fits) == 2
    assert backtest.view.series_points("refits") == 2  # one vertical line, two end points
    assert backtest.view.forecast_count() == outcome.result.n


@pytest.mark.usefixtures("no_leaked_threads")
def test_cancel_keeps_nothing(qtbot, backtest):
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000) as done:
        assert backtest.start_backtest()
        backtest.cancel()
    assert backtest.wait(5000)
    assert done.args[0] is None
    assert backtest.outcome is None and backtest.result is None
    assert "cancelled" in backtest.panel.status_label.text()
    assert not backtest.save_action.isEnabled()


def test_without_data_running_explains_what_to_do(qtbot, training):
    from stockapp.gui.main_window import MainWindow

    empty = MainWindow(quiet=True)
    qtbot.addWidget(empty)
    ctl = BacktestController()
    ctl.attach(empty, training)
    assert not ctl.panel.run_button.isEnabled()
    assert not ctl.start_backtest()
    _one_sentence(empty.last_error)
    assert not ctl.export_csv_to("x.csv")


def test_a_test_start_after_the_data_fails_with_one_sentence(qtbot, window, backtest):
    backtest.panel.span_combo.setCurrentIndex(1)  # from a date...
    backtest.panel.start_edit.setDate(QDate(2099, 1, 4))  # ...after the last bar
    assert _run(qtbot, backtest) is None
    _one_sentence(window.last_error)
    assert "2099-01-04" in window.last_error
    assert backtest.outcome is None
    assert backtest.panel.run_button.isEnabled()


def test_panel_settings_are_remembered(qtbot):
    chosen = BacktestSettings(
        test_fraction=0.3,
        refit_every=25,
        refit_mode="rolling",
        rolling_bars=500,
        refit_epochs=3,
        rule=TradingRule(mode="long_short", threshold=0.001, cost_bps=2.5),
    )
    panel = BacktestPanel()
    qtbot.addWidget(panel)
    panel.set_settings(chosen)
    assert panel.settings() == chosen
    again = BacktestPanel()
    qtbot.addWidget(again)
    assert again.settings() == chosen
    again.epochs_spin.setValue(7)  # a user's edit is remembered too
    third = BacktestPanel()
    qtbot.addWidget(third)
    assert third.settings().refit_epochs == 7


def test_the_greyed_test_from_shows_where_the_share_starts(window, backtest, training):
    """Issue 20: with "last share of bars" the disabled Test from showed 2015-01-02, not the
    test span's first bar."""
    backtest.panel.fraction_spin.setValue(25.0)
    assert not backtest.panel.start_edit.isEnabled()
    test = pd.Timestamp(window.chart.spans()["test"][0], unit="s")
    shown = backtest.panel.start_edit.date().toString("yyyy-MM-dd")
    assert shown == f"{test:%Y-%m-%d}"
    assert backtest.panel.settings().test_start is None  # still a share, not a date


def test_the_backtest_share_is_the_training_share(backtest, training):
    backtest.panel.fraction_spin.setValue(25.0)
    assert training.test_fraction == pytest.approx(0.25)


@pytest.mark.usefixtures("no_leaked_threads")
def test_closing_the_window_mid_run_stops_the_backtest(qtbot, window, backtest):
    assert backtest.start_backtest()
    assert backtest._worker in window.running_workers()
    window.close()  # cancels and waits for registered workers
    assert backtest.wait(5000)
    with qtbot.waitSignal(backtest.backtest_finished, timeout=10000) as done:
        pass
    assert done.args[0] is None


def test_a_backtest_says_how_long_its_first_fits_epochs_take(window, backtest):
    """The first fit's epoch-time estimate (issue 21) goes under the progress bar and into the
    status bar; a refit's (a short fine-tune) does not."""
    from stockapp.core.walkforward import BacktestProgress
    from stockapp.gui.backtest.progress import always_sent as _always_sent
    from stockapp.models.trainer import EpochEstimate

    estimate = EpochEstimate(20, 12_500, 800_000, 0.02, 8, 3.0, "CPU")
    assert _always_sent(estimate)  # never dropped by the worker's pacing
    backtest._on_progress(BacktestProgress(1, 3, pd.Timestamp("2020-01-02"), False))
    backtest._on_progress(estimate)
    assert backtest.panel.controls.status_label.text() == estimate.sentence()
    assert window.message_label.text() == estimate.sentence()
    backtest._on_progress(BacktestProgress(2, 3, pd.Timestamp("2020-06-01"), True))
    refit = EpochEstimate(1, 9, 500, 0.02, 8, 0.0, "CPU")
    backtest._on_progress(refit)
    assert refit.sentence() not in backtest.panel.controls.status_label.text()
    assert window.message_label.text() == estimate.sentence()
