"""Training from the window: progress, cancel, close mid-run, save and open a model."""

from __future__ import annotations

import dataclasses

import pytest

from stockapp.core.features import FeatureSpec
from stockapp.data.series import PriceSeries, make_series
from stockapp.gui.training.adapter import TrainingController, training_prices
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.trainer import TrainConfig, TrainResult

TINY_SPEC = FeatureSpec(window=10, features=("log_return",))
TINY_CFG = TrainConfig(hidden=4, layers=1, epochs=3, batch_size=32, device="cpu", patience=0)


def _short(series: PriceSeries, bars: int) -> PriceSeries:
    frame = series.frame.iloc[:bars]
    return make_series(frame, series.name, series.source, series.report)


@pytest.fixture
def controller(window) -> TrainingController:
    ctl = TrainingController()
    ctl.attach(window)
    ctl.panel.set_values(TINY_SPEC, TINY_CFG)
    return ctl


def _train(qtbot, ctl: TrainingController, timeout: int = 30000) -> TrainResult:
    with qtbot.waitSignal(ctl.training_ended, timeout=timeout):
        assert ctl.start_training()
    assert ctl.wait(5000)
    return ctl.result


def test_training_past_is_everything_before_the_test_span(aapl):
    prices = training_prices(aapl, TINY_SPEC, test_fraction=0.2)
    assert len(prices) == 320
    assert prices.index[-1] == aapl.dates[319]


@pytest.mark.usefixtures("no_leaked_threads")
def test_train_finishes_with_one_point_per_epoch(qtbot, controller):
    with qtbot.waitSignal(controller.model_trained, timeout=30000) as trained:
        assert controller.start_training()
        assert controller.is_running()
        assert not controller.panel.train_button.isEnabled()
    assert controller.wait(5000)
    assert isinstance(trained.args[0], RecurrentForecaster)
    assert controller.forecaster is trained.args[0]
    assert controller.result.stop_reason == "completed"
    assert controller.chart.epoch_count() == 3
    assert controller.chart.best_epoch() == controller.result.best_epoch
    assert not controller.is_running()
    assert controller.panel.train_button.isEnabled()
    assert not controller.panel.cancel_button.isEnabled()
    assert "Completed 3 epochs" in controller.panel.result_label.text()
    assert "Forecast for the bar after" in controller.summary.text()
    bar = controller.panel.progress_bar
    assert bar.value() == bar.maximum() and bar.format() == "done"
    assert "CPU" in controller.summary.text()
    assert controller.save_action.isEnabled()


@pytest.mark.usefixtures("no_leaked_threads")
def test_cancel_returns_to_idle_and_keeps_the_best_weights(qtbot, controller):
    controller.panel.set_values(TINY_SPEC, dataclasses.replace(TINY_CFG, epochs=100000))
    with qtbot.waitSignal(controller.epochs_shown, timeout=30000):
        assert controller.start_training()
    assert controller.panel.cancel_button.isEnabled()
    with qtbot.waitSignal(controller.training_ended, timeout=5000):
        controller.panel.cancel_button.click()
    assert controller.wait(5000)
    assert controller.result.stop_reason == "cancelled"
    assert controller.result.best_epoch >= 1
    assert controller.forecaster is not None
    assert controller.panel.train_button.isEnabled()
    assert not controller.panel.cancel_button.isEnabled()
    assert controller.chart.epoch_count() == len(controller.result.train_losses)


def test_new_series_does_not_disturb_a_running_job(qtbot, controller, window, aapl):
    controller.panel.set_values(TINY_SPEC, dataclasses.replace(TINY_CFG, epochs=100000))
    with qtbot.waitSignal(controller.epochs_shown, timeout=30000):
        assert controller.start_training()
    window.set_series(_short(aapl, 200))
    assert controller.is_running()
    with qtbot.waitSignal(controller.training_ended, timeout=5000):
        controller.cancel()
    assert controller.wait(5000)
    assert controller.result.stop_reason == "cancelled"


def test_training_error_is_one_sentence_and_ui_returns_to_idle(
    qtbot, controller, window, monkeypatch
):
    window.set_series(_short(window.series, 15))  # too short for a 10-bar window
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    with qtbot.waitSignal(controller.training_ended, timeout=30000):
        assert controller.start_training()
    assert controller.wait(5000)
    assert len(errors) == 1
    assert errors[0].endswith(".") and "\n" not in errors[0]
    assert controller.panel.train_button.isEnabled()
    assert controller.forecaster is None


def test_closing_the_window_during_training_leaves_no_thread(qtbot, aapl, no_leaked_threads):
    from stockapp.gui.main_window import MainWindow

    win = MainWindow(quiet=True)
    win.set_series(aapl)
    win.show()
    ctl = TrainingController()
    ctl.attach(win)
    ctl.panel.set_values(TINY_SPEC, dataclasses.replace(TINY_CFG, epochs=100000))
    with qtbot.waitSignal(ctl.epochs_shown, timeout=30000):
        assert ctl.start_training()
    worker = ctl._worker
    win.close()
    assert worker.wait(5000)
    win.deleteLater()


def test_save_then_open_round_trips(qtbot, controller, tmp_path):
    _train(qtbot, controller)
    trained = controller.forecaster
    folder = tmp_path / "model"
    assert controller.save_model_to(folder)
    other = TrainingController()
    other.attach(controller._window)
    with qtbot.waitSignal(other.model_trained, timeout=5000):
        assert other.open_model_from(folder)
    opened = other.forecaster
    assert opened.spec == trained.spec
    assert opened.cfg == trained.cfg
    prices = controller._window.series.prices(TINY_SPEC.adjusted)
    ends = list(range(300, 320))
    assert opened.predict_next(prices, ends) == pytest.approx(trained.predict_next(prices, ends))
    assert other.chart.epoch_count() == 3
    assert other.panel.config().hidden == TINY_CFG.hidden


def test_opening_a_corrupt_model_folder_shows_one_sentence(
    controller, window, tmp_path, monkeypatch
):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.json").write_text("{not json", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\x00garbage")
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    assert not controller.open_model_from(folder)
    assert len(errors) == 1 and errors[0].count(". ") == 0 and errors[0].endswith(".")
    assert controller.forecaster is None


def test_a_model_needing_missing_columns_is_refused(
    qtbot, controller, window, tmp_path, monkeypatch
):
    spec = FeatureSpec(window=10, features=("log_return", "log_volume_change"))
    controller.panel.set_values(spec, TINY_CFG)
    _train(qtbot, controller)
    trained = controller.forecaster
    folder = tmp_path / "with_volume"
    assert controller.save_model_to(folder)
    no_volume = window.series.frame.drop(columns=["Volume"])
    window.set_series(make_series(no_volume, "NOVOL", "test", window.series.report))
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    fresh = TrainingController()
    fresh.attach(window)
    assert not fresh.open_model_from(folder)
    assert len(errors) == 1 and "Volume" in errors[0]
    # the window's model (one per window, in its session) stays the one trained, not the refused
    assert fresh.forecaster is trained and controller.forecaster is trained


def test_the_spec_follows_the_windows_adjusted_choice(controller, window, aapl):
    assert controller.spec().adjusted is window.adjusted is True
    window.data_panel.adjusted_check.setChecked(False)
    assert controller.spec().adjusted is False
    raw = controller.train_prices()
    assert raw["Close"].iloc[0] == pytest.approx(aapl.frame["Close"].iloc[0])
    window.data_panel.adjusted_check.setChecked(True)
    adjusted = controller.train_prices()
    assert adjusted["Close"].iloc[0] == pytest.approx(aapl.frame["Adj Close"].iloc[0])


@pytest.mark.usefixtures("no_leaked_threads")
def test_a_training_says_how_long_an_epoch_takes_as_it_starts(qtbot, controller, window):
    """Timed on the first batches (issue 21): on the Training tab and in the status bar."""
    controller.panel.set_values(TINY_SPEC, dataclasses.replace(TINY_CFG, batch_size=8))
    summaries = []
    set_summary = controller._set_summary
    controller._set_summary = lambda text: (summaries.append(text), set_summary(text))
    result = _train(qtbot, controller)
    assert result.stop_reason == "completed"
    shown = [t for t in summaries if "training windows will take about" in t]
    assert len(shown) == 1 and shown[0].startswith("Training on ")
    # 320 bars before the test span: 309 windows of 10, the last 46 for validation
    assert "One epoch of 263 training windows will take about" in shown[0]
    assert "3 epochs at most" in shown[0]
    assert window.message_label.text() in shown[0]
