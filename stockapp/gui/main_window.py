"""The main window: side pages on the left, tabs of charts on the right, a status bar below.

The side column is a tab widget of settings pages ("Data" first, then one per feature: "Model",
"Backtest settings"), each scrolling on its own, so every panel's Run button is reachable without
scrolling past the panels above it. The Run menu lists the jobs' shortcuts (Train Ctrl+T, Run
backtest Ctrl+B, Cancel Esc); closing while a job runs asks first, naming what would be lost.

It owns the window's Qt-free state, :attr:`MainWindow.session`
(:class:`~stockapp.session.state.Session`: the data on screen, the model, the results, the one
job slot), and keeps its data in step with the Data page; it also announces a new series through
:attr:`MainWindow.series_changed`. Once it has shown, :meth:`MainWindow.load_models_in_background`
loads the model code (PyTorch) on a background thread. Menus, status bar and messages are
:class:`~stockapp.gui.window_chrome.WindowChrome`'s.

Other features plug in through :meth:`MainWindow.add_tab`, :meth:`MainWindow.add_side_panel`,
:meth:`MainWindow.add_file_action`, :meth:`MainWindow.add_run_action` and
:meth:`MainWindow.register_worker`; they need not know how the window is laid out.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stockapp.data.series import PriceSeries
from stockapp.gui.data.panel import DataChoice, DataPanel
from stockapp.gui.help import TextPage
from stockapp.gui.settings import app_settings, read_str
from stockapp.gui.widgets.price_chart import PriceChart
from stockapp.gui.widgets.workers import GeneratorWorker, run_in_background
from stockapp.gui.window_chrome import WindowChrome
from stockapp.session.preload import load_models
from stockapp.session.state import Session

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 850)
#: Share of the screen's free area a window that would not fit is shrunk to (room for the frame).
SCREEN_SHARE = 0.96


def fit_size(size: tuple[int, int], room: tuple[int, int]) -> tuple[int, int]:
    """``size`` shrunk, side by side, to :data:`SCREEN_SHARE` of ``room`` where it is larger."""
    return tuple(  # type: ignore[return-value]
        want if want <= free else int(free * SCREEN_SHARE)
        for want, free in zip(size, room, strict=True)
    )


SIDE_WIDTH = 310
CLOSE_WAIT_MS = 5000
#: How long closing then waits for work that cannot be interrupted (the model code's load, an
#: explanation): a thread still inside PyTorch as the process exits crashes it.
WORK_WAIT_MS = 120_000


class MainWindow(WindowChrome, QMainWindow):
    """The stockapp window.

    Parameters
    ----------
    quiet
        Report errors in the status bar and :attr:`last_error` only, without a message box
        (tests and the screenshot script).

    Signals
    -------
    series_changed(PriceSeries)
        a new series was loaded.
    adjusted_changed(bool)
        the user switched between adjusted and raw prices.
    devices_found(list)
        the model code has loaded; the devices this machine can train on, CPU first.
    """

    series_changed = Signal(object)
    adjusted_changed = Signal(bool)
    devices_found = Signal(list)

    def __init__(self, quiet: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.quiet = quiet
        self.session = Session()
        self._preload: GeneratorWorker | None = None
        self.last_error: str | None = None
        self._series: PriceSeries | None = None
        self._workers: dict[GeneratorWorker, str | None] = {}
        self._loses: dict[GeneratorWorker, str] = {}
        #: Ask before closing while work runs (off when quiet: tests and scripts close freely).
        self.ask_before_close = not quiet
        self.help_pages: dict[str, TextPage] = {}
        self._error_box: QMessageBox | None = None
        self.setWindowTitle("stockapp")

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.chart = PriceChart()
        self.add_tab(self.chart, "Prices")

        self.data_panel = DataPanel()
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.setMinimumWidth(260)
        self._wanted_side_page = ""
        self.side_tabs.addTab(self._side_page(self.data_panel), "Data")

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([SIDE_WIDTH, DEFAULT_SIZE[0] - SIDE_WIDTH])
        self.setCentralWidget(self.splitter)

        self._build_menus()
        self._build_status_bar()
        self.data_panel.series_loaded.connect(self._series_loaded)
        self.data_panel.failed.connect(self.show_error)
        self.data_panel.worker_started.connect(self.register_worker)
        self.data_panel.adjusted_changed.connect(self._adjusted_toggled)
        self.session.set_inputs(self.data_panel.inputs_box.choice)  # remembered from last time
        self.data_panel.inputs_box.changed.connect(self.session.set_inputs)
        self.chart.style_changed.connect(lambda s: app_settings().setValue("chart/style", s))
        self._restore_settings()

    # ------------------------------------------------------------------ extension points

    @property
    def series(self) -> PriceSeries | None:
        """The series on screen, or None before the first successful load."""
        return self._series

    @property
    def adjusted(self) -> bool:
        """Whether prices are shown (and should be modelled) adjusted for splits and dividends."""
        return self.data_panel.adjusted

    def set_series(self, series: PriceSeries) -> None:
        """Show ``series`` everywhere and announce it; the data panel calls this after a load.

        Features that obtain prices elsewhere (an opened model or run) may call it too.
        """
        self._series = series
        self.data_panel.note_series(series)
        self.chart.set_series(series, self.adjusted)
        self.setWindowTitle(f"{series.name} — stockapp")
        self._show_series_status(series)
        self.show_message(f"Loaded {series.source}.")
        self.session.set_data(series, self.adjusted)
        self.series_changed.emit(series)

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page to the central tabs (after "Prices"); returns its index."""
        return self.tabs.addTab(widget, title)

    def add_side_panel(self, widget: QWidget, title: str) -> int:
        """Add ``widget`` as a side page titled ``title`` (after "Data" and earlier pages).

        The page scrolls vertically on its own when the window is too short for it. Returns the
        page's index.
        """
        index = self.side_tabs.addTab(self._side_page(widget), title)
        if title == self._wanted_side_page:
            self.side_tabs.setCurrentIndex(index)  # the page open when the window last closed
        return index

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """On the first show without a remembered layout, make room for the side titles."""
        super().showEvent(event)
        if not self._splitter_restored and not self._side_sized:
            self._side_sized = True
            self._show_every_side_title()

    def _show_every_side_title(self) -> None:
        """Widen the side column, while the charts keep at least 60% of the width, so that every
        side page's title shows instead of hiding behind scroll arrows."""
        wanted = self.side_tabs.tabBar().sizeHint().width() + 8
        side, charts = self.splitter.sizes()
        total = max(side + charts, self.width())  # sizes are still zero before the first show
        side = side or SIDE_WIDTH
        wanted = min(wanted, int(total * 0.4))
        if wanted > side:
            self.splitter.setSizes([wanted, total - wanted])

    def show_side_panel(self, widget: QWidget) -> bool:
        """Bring the side page holding ``widget`` to the front; False if none holds it."""
        for index in range(self.side_tabs.count()):
            if self.side_tabs.widget(index).isAncestorOf(widget):
                self.side_tabs.setCurrentIndex(index)
                return True
        return False

    def add_file_action(self, action: QAction) -> None:
        """Put an action in the File menu, above the separator before Quit."""
        self.file_menu.insertAction(self._quit_separator, action)

    def add_run_action(self, action: QAction) -> None:
        """Put a job's action (Train, Run backtest) in the Run menu, above Cancel."""
        self.run_menu.insertAction(self._cancel_separator, action)

    def register_worker(
        self, worker: GeneratorWorker, busy: str | None = None, loses: str | None = None
    ) -> None:
        """Track background work: closing the window asks, then cancels it and waits for it.

        With a ``busy`` message the status bar shows it and an indeterminate progress bar until
        the worker is done. ``loses`` names what closing now would throw away ("the model being
        trained"); the question on closing lists it.
        """
        if not worker.is_running():
            return
        self._workers[worker] = busy or None
        if loses:
            self._loses[worker] = loses
        worker.done.connect(lambda: self._worker_done(worker))
        self._update_busy()

    def load_models_in_background(self) -> None:
        """Load the model code (PyTorch) on a background thread, once; :attr:`devices_found`
        says when it is done. A job started meanwhile waits for it
        (:func:`~stockapp.session.preload.ensure_models`)."""
        if self._preload is None:
            self._preload = run_in_background(
                load_models,
                self,
                on_finished=self.devices_found.emit,
                on_failed=lambda message: log.warning("the model code did not load: %s", message),
            )

    def running_workers(self) -> list[GeneratorWorker]:
        return [w for w in self._workers if w.is_running()]

    # ------------------------------------------------------------------ building

    @staticmethod
    def _side_page(widget: QWidget) -> QScrollArea:
        """``widget`` at the top of a page that scrolls vertically, never sideways.

        A panel with something that likes to grow (a chart) gets the page's spare height; any
        other keeps its natural height, with the spare space below it.
        """
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(8, 8, 8, 8)
        own = widget.layout()
        grows = own is not None and bool(own.expandingDirections() & Qt.Orientation.Vertical)
        layout.addWidget(widget, 1 if grows else 0)
        if not grows:
            layout.addStretch(1)
        page = QScrollArea()
        page.setWidgetResizable(True)
        page.setFrameShape(QScrollArea.Shape.NoFrame)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page.setWidget(inner)
        return page

    def _fit_to_screen(self) -> None:
        """Keep the whole window on its screen: a laptop's 1280x800 (or a geometry saved on a
        larger monitor) must not hide the charts' axes and buttons past the screen's edge."""
        screen = self.screen()
        if screen is None:
            return
        room = screen.availableGeometry()
        width, height = fit_size((self.width(), self.height()), (room.width(), room.height()))
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
            self.move(
                room.x() + (room.width() - width) // 2, room.y() + (room.height() - height) // 2
            )

    def _restore_settings(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
        self._fit_to_screen()
        state = settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        splitter = settings.value("window/splitter")
        self._splitter_restored = isinstance(splitter, QByteArray) and not splitter.isEmpty()
        self._side_sized = False
        if self._splitter_restored:
            self.splitter.restoreState(splitter)
        self._wanted_side_page = read_str(settings, "window/side_page", "")
        style = read_str(settings, "chart/style", "line")
        self.chart.set_style(style if style in self.style_actions else "line")

    # ------------------------------------------------------------------ reactions

    def _series_loaded(self, series: PriceSeries, _choice: DataChoice) -> None:
        self.set_series(series)

    def _adjusted_toggled(self, _checked: bool) -> None:
        if self._series is not None:
            self.chart.set_series(self._series, self.adjusted)
        self.session.set_adjusted(self.adjusted)
        self.adjusted_changed.emit(self.adjusted)

    def _worker_done(self, worker: GeneratorWorker) -> None:
        self._workers.pop(worker, None)
        self._loses.pop(worker, None)
        self._update_busy()

    def _update_busy(self) -> None:
        messages = [m for w, m in self._workers.items() if m and w.is_running()]
        self.busy_label.setText(messages[-1] if messages else "")
        self.busy_label.setVisible(bool(messages))
        self.busy_bar.setVisible(bool(messages))
        self.cancel_action.setEnabled(bool(self.running_workers()) or self.data_panel.is_loading())

    def cancel_work(self) -> None:
        """Stop every running job (training, backtest, download); each ends at its next step."""
        self.data_panel.cancel()
        for worker in self.running_workers():
            worker.cancel()

    def work_that_would_be_lost(self) -> list[str]:
        """What closing now would throw away, one phrase per running job."""
        return [
            self._loses.get(w) or self._workers.get(w) or "work in progress"
            for w in self.running_workers()
        ]

    def confirm_close(self) -> bool:
        """Ask whether to close while jobs run, naming what would be lost; True to close."""
        lost = self.work_that_would_be_lost()
        if not lost or not self.ask_before_close:
            return True
        answer = QMessageBox.question(
            self,
            "Quit stockapp?",
            "Closing now cancels " + "; ".join(lost) + ". Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask if work would be lost, remember the layout, then stop all background work."""
        if not self.confirm_close():
            event.ignore()
            return
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/side_page", self.side_tabs.tabText(self.side_tabs.currentIndex()))
        settings.sync()
        self.stop_all_work()
        super().closeEvent(event)

    def stop_all_work(self) -> None:
        """Cancel every job and wait until each thread has ended, the window hidden meanwhile.

        Work that honours its cancel ends within a step; work that cannot be interrupted (an
        explanation, a file read, the model code's load) is waited for up to
        :data:`WORK_WAIT_MS`: a thread still inside PyTorch as the process exits aborts it
        ("terminate called without an active exception").
        """
        self.data_panel.cancel()
        workers = [w for w in self._workers if w.is_running()]
        if self._preload is not None:
            workers.append(self._preload)
        for worker in workers:
            worker.cancel()
        if any(not w.wait(0) for w in workers):
            self.hide()  # the window goes at once; the work ends behind it
        for worker in workers:
            if not worker.wait(CLOSE_WAIT_MS):
                log.info("waiting for %s to end before closing", worker.thread_name)
                if not worker.wait(WORK_WAIT_MS):
                    log.warning("%s still running after closing the window", worker.thread_name)
