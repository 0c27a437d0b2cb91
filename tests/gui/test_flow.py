"""The window's flow: tab names, the sample Load button, locked settings while training, asking
before closing, feature names in words, the Help menu and the job shortcuts."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from stockapp import __version__
from stockapp.core.features import FEATURES, FeatureSpec
from stockapp.gui.app import create_main_window
from stockapp.gui.backtest.adapter import BacktestController
from stockapp.gui.training.adapter import TrainingController
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.models.trainer import TrainConfig
from stockapp.paths import runs_dir


@pytest.fixture
def app(qtbot, aapl):
    window = create_main_window(quiet=True)
    qtbot.addWidget(window)
    window.set_series(aapl)
    training = window.findChild(TrainingController)
    training.panel.set_values(
        FeatureSpec(window=10),
        TrainConfig(hidden=4, layers=1, epochs=3, batch_size=32, device="cpu", patience=0),
    )
    return window, training, window.findChild(BacktestController)


def _long_job(started: threading.Event):
    def job(should_stop):
        started.set()
        while not should_stop():
            yield None
            threading.Event().wait(0.002)
        return "stopped"

    return job


def test_no_two_tabs_share_a_name_and_the_hint_is_plain(app):
    window, training, backtest = app
    names = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    names += [window.side_tabs.tabText(i) for i in range(window.side_tabs.count())]
    assert len(names) == len(set(names)), names
    assert "Backtest results" in names and "Backtest settings" in names
    backtest._hint_backtest(None)
    hint = window.message_label.text()
    assert "(Backtest page)" not in hint
    assert hint == (
        "Model trained. Next, press Run backtest (Ctrl+B) to test these settings on bars the "
        "model never saw."
    )


def test_the_sample_shown_loads_again_after_a_csv(app, short_aapl_csv, qtbot):
    window, _, _ = app
    panel = window.data_panel
    assert panel.load_sample("MSFT")
    assert panel.load_csv_path(short_aapl_csv)
    assert window.series.name != "MSFT" and panel.sample_combo.currentData() == "MSFT"
    with qtbot.waitSignal(window.series_changed):
        qtbot.mouseClick(panel.sample_load_button, Qt.MouseButton.LeftButton)
    assert window.series.name == "MSFT"


def test_model_settings_lock_while_training_and_unlock_after(app, qtbot):
    window, training, _ = app
    panel = training.panel
    assert panel.settings_box.isEnabled() and panel.hidden_spin.isEnabled()
    with qtbot.waitSignal(training.training_ended, timeout=30000):
        assert training.start_training()
        assert not panel.hidden_spin.isEnabled() and not panel.feature_boxes["close"].isEnabled()
        assert not panel.locked_label.isHidden() and "locked" in panel.locked_label.text()
    assert training.wait(5000)
    assert panel.hidden_spin.isEnabled() and panel.locked_label.isHidden()
    assert panel.spec().features == ("log_return",)  # unlocking kept the choices


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_closing_during_training_asks_naming_what_is_lost(app, qtbot, monkeypatch, answer):
    window, _, _ = app
    window.ask_before_close = True
    asked: list[str] = []

    def question(parent, title, text, buttons, default):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    window.close()  # nothing running: no question
    assert asked == []
    window.show()
    started = threading.Event()
    worker = GeneratorWorker(_long_job(started), window)
    worker.start()
    window.register_worker(worker, "Training the model…", loses="the training under way")
    assert started.wait(5)
    window.close()
    assert asked == ["Closing now cancels the training under way. Quit anyway?"]
    if answer == QMessageBox.StandardButton.No:
        assert window.isVisible() and worker.is_running() and not worker.cancelled
        worker.cancel()
    else:
        assert not window.isVisible() and worker.cancelled
    assert worker.wait(5000)
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass


def test_the_training_and_backtest_name_what_closing_loses(app, qtbot):
    window, training, backtest = app
    with qtbot.waitSignal(training.training_ended, timeout=30000):
        assert training.start_training()
        assert window.work_that_would_be_lost() == [
            "the training under way (the epochs trained so far are lost)"
        ]
    assert training.wait(5000)
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000):
        assert backtest.start_backtest()
        assert window.work_that_would_be_lost() == [
            "the backtest of AAPL under way (nothing of it is kept)"
        ]
    assert backtest.wait(5000)
    # Other features may start follow-up work after a backtest; once all of it ends, nothing
    # would be lost.
    qtbot.waitUntil(lambda: not window.running_workers(), timeout=60000)
    assert window.work_that_would_be_lost() == []


def test_features_and_targets_are_shown_in_words_with_their_identifier_in_the_tooltip(app):
    _, training, _ = app
    boxes = training.panel.feature_boxes
    assert set(boxes) == set(FEATURES)  # identifiers stay the keys (CLI, files)
    assert boxes["hl_range"].text() == "High-low range"
    assert boxes["oc_return"].text() == "Open-to-close return"
    for name, box in boxes.items():
        assert "_" not in box.text() and name in box.toolTip()
    combo = training.panel.target_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Next bar's return",
        "Next bar's close",
    ]
    assert combo.currentData() in ("return", "price")


def test_job_shortcuts_are_in_the_run_menu_and_work(app, qtbot):
    window, training, backtest = app
    actions = {a.text(): a for a in window.run_menu.actions() if a.text()}
    assert actions["Train"].shortcut() == QKeySequence("Ctrl+T")
    assert actions["Run backtest"].shortcut() == QKeySequence("Ctrl+B")
    assert actions["Cancel"].shortcut() == QKeySequence(Qt.Key.Key_Escape)
    assert not actions["Cancel"].isEnabled()  # nothing to cancel yet
    training.panel.epochs_spin.setValue(2000)  # long enough that Cancel, not the end, stops it
    with qtbot.waitSignal(training.training_ended, timeout=30000):
        actions["Train"].trigger()
        assert training.is_running() and actions["Cancel"].isEnabled()
        actions["Cancel"].trigger()
    assert training.wait(5000)
    assert training.panel.progress_bar.format().startswith("cancelled after")
    assert not actions["Cancel"].isEnabled()
    training.panel.epochs_spin.setValue(2)
    with qtbot.waitSignal(backtest.backtest_finished, timeout=60000):
        actions["Run backtest"].trigger()
        assert backtest.is_running()
    assert backtest.wait(5000)


def test_help_menu_about_reading_guide_and_shortcut_list(app, monkeypatch, qtbot):
    window, _, _ = app
    titles = [a.text() for a in window.help_menu.actions() if a.text()]
    assert titles == ["How to read the results", "Keyboard shortcuts", "About stockapp"]
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda p, t, text: shown.append(text)))
    window.help_menu.actions()[-1].trigger()
    assert __version__ in shown[0] and str(runs_dir()) in shown[0]

    guide = window.show_help_page("How to read the results")
    qtbot.addWidget(guide)
    text = guide.text.toPlainText()
    for needed in (
        "persistence",
        "RMSE",
        "Diebold-Mariano",
        "Pesaran-Timmermann",
        "equity curve",
        "cost",
        "not distinguishable from persistence",
    ):
        assert needed in text, needed
    assert "http" not in text and guide.text.isReadOnly()

    keys = window.show_help_page("Keyboard shortcuts")
    qtbot.addWidget(keys)
    listed = keys.text.toPlainText()
    for line in ("Train — Ctrl+T", "Run backtest — Ctrl+B", "Cancel — Esc", "Reset zoom — Ctrl+0"):
        assert line in listed, line
