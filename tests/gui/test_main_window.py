"""The main window: loading data every way, errors for people, memory between launches, closing."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMessageBox

from stockapp.errors import DataError
from stockapp.gui.app import create_main_window
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.session import loading as loading_module  # the loader the window and CLI share

SAMPLES = Path(__file__).resolve().parents[2] / "stockapp" / "resources" / "samples"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any ticker download a test did not arrange for fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected download {args} {kwargs}")

    monkeypatch.setattr(loading_module, "load_ticker", refuse)


@pytest.fixture
def make_window(qtbot):
    def make(**kwargs):
        window = create_main_window(quiet=True, **kwargs)
        qtbot.addWidget(window)
        return window

    return make


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def blocking_download(monkeypatch, series_of):
    """Replace the panel's loader by one that waits for ``release`` and records its calls."""
    release = threading.Event()
    calls: list[tuple] = []

    def download(symbol, start=None, end=None, interval="1d"):
        calls.append((symbol, start, end, interval))
        assert release.wait(10), "the test never released the download"
        return dataclasses.replace(series_of("MSFT"), name=symbol, source=f"Yahoo {symbol}")

    monkeypatch.setattr(loading_module, "load_ticker", download)
    yield release, calls
    release.set()


def _bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "broken.csv"
    path.write_text("Date,Close\n2020-01-02,abc\n2020-01-03,xyz\n", encoding="utf-8")
    return path


def test_first_start_shows_the_aapl_sample_with_its_status(window):
    assert window.series is not None and window.series.name == "AAPL"
    assert window.chart.point_count() == len(window.series) == 3379
    assert window.source_label.text() == "sample AAPL"
    assert "3,379 rows" in window.rows_label.text()
    assert window.warnings_label.text() == "No data warnings"
    assert window.tabs.tabText(0) == "Prices"
    assert window.windowTitle().startswith("AAPL")


def test_picking_a_sample_shows_all_its_rows(window, qtbot):
    combo = window.data_panel.sample_combo
    index = combo.findData("SPY")
    with qtbot.waitSignal(window.series_changed) as blocker:
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
    series = blocker.args[0]
    assert series is window.series and series.name == "SPY"
    assert window.chart.point_count() == len(series) == 2519
    x0, x1 = window.chart.price_plot.vb.viewRange()[0]
    assert x0 <= series.dates[0].timestamp() and x1 >= series.dates[-1].timestamp()


def test_bad_csv_says_why_and_keeps_the_previous_chart(window, tmp_path):
    before = window.series
    shown = window.chart.point_count()
    path = _bad_csv(tmp_path)
    assert not window.data_panel.load_csv_path(path)
    assert window.last_error and "broken.csv" in window.last_error
    assert window.message_label.text() == window.last_error
    assert "\n" not in window.last_error and "Traceback" not in window.last_error
    assert window.series is before and window.chart.series is before
    assert window.chart.point_count() == shown


def test_csv_with_problems_lists_its_warnings(window, tmp_path):
    lines = (SAMPLES / "MSFT.csv").read_text().splitlines()[:60]
    lines.insert(10, lines[10])  # a duplicated date
    path = tmp_path / "msft_dup.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert window.data_panel.load_csv_path(path)
    assert window.series.source.endswith("msft_dup.csv")
    assert "duplicate" in window.warnings_label.text()
    assert "duplicate" in window.warnings_label.toolTip()
    assert window.data_panel.csv_label.text() == "msft_dup.csv"


def test_error_dialog_opens_without_blocking(window, qtbot):
    window.quiet = False
    window.show_error("Ticker 'NOPE' was not found on Yahoo Finance; check the symbol.")
    box = window.findChild(QMessageBox)
    assert box is not None and box.isVisible()  # we got here: open(), not exec()
    assert box.text() == window.last_error
    box.close()


def test_ticker_load_keeps_the_window_responsive(window, qtbot, blocking_download):
    release, calls = blocking_download
    panel = window.data_panel
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    panel.ticker_edit.setText(" msft ")
    panel.start_edit.setDate(date(2015, 1, 5))
    panel.end_edit.setDate(date(2019, 2, 1))
    panel.load_button.click()

    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=5000)  # the event loop keeps running
    assert panel.is_loading() and not panel.load_button.isEnabled()
    assert not window.busy_bar.isHidden()
    assert "MSFT" in window.busy_label.text()
    assert window.series.name == "AAPL"  # nothing changes until the data is there

    with qtbot.waitSignal(window.series_changed, timeout=5000) as blocker:
        release.set()
    timer.stop()
    assert blocker.args[0].name == "MSFT" and window.series.name == "MSFT"
    assert window.chart.point_count() == len(window.series)
    assert panel.load_button.isEnabled() and window.busy_bar.isHidden()
    assert panel.recent_tickers() == ["MSFT"]
    # the form's "To" is inclusive, the loader's end exclusive
    assert calls == [("MSFT", date(2015, 1, 5), date(2019, 2, 2), "1d")]


def test_failed_ticker_load_shows_its_sentence(window, qtbot, monkeypatch):
    message = "Ticker 'NOPE' was not found on Yahoo Finance; check the symbol."

    def fail(symbol, start=None, end=None, interval="1d"):
        raise DataError(message)

    monkeypatch.setattr(loading_module, "load_ticker", fail)
    before = window.series
    with qtbot.waitSignal(window.data_panel.failed, timeout=5000):
        assert window.data_panel.load_ticker("nope") is not None
    assert window.last_error == message
    assert window.series is before and window.chart.series is before
    assert window.data_panel.load_button.isEnabled()
    assert window.data_panel.recent_tickers() == []


@pytest.mark.parametrize(
    ("symbol", "start", "end", "expected"),
    [
        ("", None, None, "Type a ticker symbol"),
        ("MSFT", date(2020, 1, 1), date(2019, 1, 1), "must be before the end date"),
    ],
)
def test_impossible_ticker_requests_are_refused(window, symbol, start, end, expected):
    window.data_panel.ticker_edit.setText(symbol)
    assert window.data_panel.load_ticker(symbol, start, end) is None
    assert expected in window.last_error
    assert not window.data_panel.is_loading()


def test_a_newer_choice_wins_over_a_pending_download(window, qtbot, blocking_download):
    release, _ = blocking_download
    worker = window.data_panel.load_ticker("MSFT")
    assert window.data_panel.load_sample("GOOG")
    release.set()
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass  # ``done`` comes after the panel has reacted to ``finished``
    assert window.series.name == "GOOG"
    assert window.data_panel.load_button.isEnabled()


def test_adjusted_close_switch(window, qtbot, tmp_path):
    series = window.series
    assert window.adjusted  # the default: splits and dividends accounted for
    first = window.chart.curve.getOriginalDataset()[1][0]
    assert first == pytest.approx(series.frame["Adj Close"].iloc[0])
    with qtbot.waitSignal(window.adjusted_changed) as blocker:
        window.data_panel.adjusted_check.setChecked(False)
    assert blocker.args == [False]
    assert window.chart.curve.getOriginalDataset()[1][0] == pytest.approx(
        series.frame["Close"].iloc[0]
    )
    close_only = tmp_path / "close_only.csv"
    days = [date(2021, 1, 4) + timedelta(days=i) for i in range(40)]
    close_only.write_text("Date,Close\n" + "".join(f"{d},{10 + i}\n" for i, d in enumerate(days)))
    assert window.data_panel.load_csv_path(close_only)
    assert not window.data_panel.adjusted_check.isEnabled() and not window.adjusted


def test_choices_and_layout_are_remembered(make_window, qtbot, blocking_download):
    release, _ = blocking_download
    first = make_window()
    first.resize(760, 540)  # inside the 800x600 offscreen screen
    first.data_panel.load_sample("GOOG")
    first.chart.set_style("candles")
    release.set()
    with qtbot.waitSignal(first.series_changed, timeout=5000):
        first.data_panel.load_ticker("SPY", date(2010, 1, 4), date(2012, 1, 4))
    first.data_panel.load_sample("INTC")
    first.side_tabs.setCurrentIndex(2)
    first.close()

    second = make_window()
    assert second.series.name == "INTC"
    assert second.data_panel.sample_combo.currentData() == "INTC"
    assert second.chart.style == "candles" and second.style_actions["candles"].isChecked()
    assert second.data_panel.recent_tickers() == ["SPY"]
    assert second.data_panel.start_edit.date().toPython() == date(2010, 1, 4)
    assert (second.width(), second.height()) == (760, 540)
    assert second.side_tabs.tabText(second.side_tabs.currentIndex()) == "Backtest settings"


def test_last_ticker_is_downloaded_again_on_start(make_window, qtbot, blocking_download):
    release, calls = blocking_download
    release.set()
    first = make_window()
    with qtbot.waitSignal(first.series_changed, timeout=5000):
        first.data_panel.load_ticker("SPY", date(2010, 1, 4), date(2012, 1, 4), "1wk")
    first.close()
    second = make_window()
    qtbot.waitUntil(lambda: second.series is not None and second.series.name == "SPY", timeout=5000)
    assert calls[-1] == ("SPY", date(2010, 1, 4), date(2012, 1, 5), "1wk")


def test_a_vanished_csv_falls_back_to_the_default_sample(make_window, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes((SAMPLES / "MSFT.csv").read_bytes())
    first = make_window(csv=str(path))
    assert first.series.source.endswith("mine.csv")
    first.close()
    path.unlink()
    second = make_window()
    assert second.series.name == "AAPL"
    assert "mine.csv" in second.last_error


def test_closing_during_long_work_cancels_and_waits(make_window, qtbot, no_leaked_threads):
    window = make_window()
    window.show()
    started = threading.Event()

    def long_job(should_stop):
        started.set()
        while not should_stop():
            yield None
            threading.Event().wait(0.002)
        return "stopped"

    worker = GeneratorWorker(long_job, window)
    worker.start()
    window.register_worker(worker, busy="Training…")
    assert started.wait(5)
    assert not window.busy_bar.isHidden() and window.busy_label.text() == "Training…"
    window.close()
    assert worker.cancelled
    assert worker.wait(0)  # already ended: close waited for it
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass
    assert window.running_workers() == []
    assert window.busy_bar.isHidden()


def test_closing_joins_work_that_cannot_be_cancelled(
    make_window, qtbot, monkeypatch, no_leaked_threads
):
    """Work that ignores its cancel (an explanation, a file read) outlasting the first wait is
    still joined before the window goes: a thread left inside PyTorch aborts the process at
    exit ("terminate called without an active exception")."""
    from stockapp.gui import main_window

    monkeypatch.setattr(main_window, "CLOSE_WAIT_MS", 1)  # the first wait always runs out
    window = make_window()
    window.show()
    started, release = threading.Event(), threading.Event()

    def explain():
        started.set()
        release.wait(10)  # deaf to cancel, like a one-shot explanation
        return "explained"

    from stockapp.gui.widgets.workers import run_in_background

    worker = run_in_background(explain, window)
    window.register_worker(worker, busy="Explaining…")
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    window.close()
    assert worker.wait(0)  # already ended: close waited past CLOSE_WAIT_MS for it
    assert not window.isVisible()


def test_interpreter_exit_joins_running_threads(qtbot, no_leaked_threads):
    """The safety net run at exit cancels every worker's thread and waits for it."""
    from stockapp.gui.widgets import workers

    def job(should_stop):
        while not should_stop():
            yield None
            threading.Event().wait(0.002)

    worker = GeneratorWorker(job)
    worker.start()
    assert workers.join_all(timeout_s=5)
    assert worker.cancelled and worker.wait(0)
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass


def test_every_side_page_shows_its_run_button_without_scrolling(window, qtbot):
    """At the default 1400x850 the Train and Run backtest buttons need no scrolling."""
    from stockapp.gui.backtest.adapter import BacktestController
    from stockapp.gui.training.adapter import TrainingController

    training = window.findChild(TrainingController)
    backtest = window.findChild(BacktestController)
    window.resize(1400, 850)
    window.show()
    qtbot.waitExposed(window)
    pages = window.side_tabs
    for title, button in (
        ("Data", window.data_panel.load_button),
        ("Model", training.panel.train_button),
        ("Backtest settings", backtest.panel.run_button),
    ):
        pages.setCurrentIndex([pages.tabText(i) for i in range(pages.count())].index(title))
        viewport = pages.currentWidget().viewport()
        assert viewport.isAncestorOf(button)
        corner = button.mapTo(viewport, button.rect().bottomRight())
        assert viewport.rect().contains(corner), f"{title}: {button.text()} is below the fold"
        assert pages.currentWidget().verticalScrollBar().value() == 0


def test_extension_points(window, qtbot):
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == [
        "Prices", "Training", "Backtest results", "Inside", "Experiment results", "Forward",
    ]  # fmt: skip
    extra = QLabel("more")
    assert window.add_tab(extra, "Extra") == 6
    panel = QLabel("model settings")
    pages = window.side_tabs
    index = window.add_side_panel(panel, "More")
    titles = [pages.tabText(i) for i in range(pages.count())]
    assert titles == ["Data", "Model", "Backtest settings", "Experiment settings", "More"]
    assert index == 4
    assert pages.widget(index).isAncestorOf(panel)
    assert pages.currentIndex() == 0  # adding a page does not take the user away from theirs
    assert window.show_side_panel(panel) and pages.currentIndex() == index
    assert not window.show_side_panel(QLabel("elsewhere"))
    action = QAction("Save model…", window)
    window.add_file_action(action)
    actions = window.file_menu.actions()
    assert actions.index(action) < actions.index(window.quit_action)
    assert actions[actions.index(window.quit_action) - 1].isSeparator()
    assert window.open_csv_action in actions


def test_the_window_fits_its_screen(window):
    """At 1280x800 (or the offscreen platform's 800x800) the default 1400x850 would push the
    charts' right edge and date axis past the screen."""
    from stockapp.gui.main_window import fit_size

    assert fit_size((1400, 850), (1280, 800)) == (1228, 768)
    assert fit_size((1400, 850), (1920, 1080)) == (1400, 850)
    room = window.screen().availableGeometry()
    assert window.width() <= room.width() and window.height() <= room.height()


def test_side_page_titles_all_show_when_there_is_room(make_window, qtbot):
    """With four side pages the titles hid behind scroll arrows ("Expe…") at the default width."""
    window = make_window()
    window.resize(1400, 850)
    window.show()
    qtbot.waitExposed(window)
    bar = window.side_tabs.tabBar()
    last = bar.tabRect(bar.count() - 1)
    assert last.right() <= bar.width(), (last, bar.width())
