"""Start the desktop app: the Qt application, pyqtgraph's look, the main window and its data.

:func:`run` checks that Qt's X11 plugin can load, then shows a splash before it imports the main
window (and with it pyqtgraph and pandas), so the launch shows a sign of life at once. PyTorch
is not imported before the window shows: once it has painted, the model code loads on a
background thread (:meth:`~stockapp.gui.main_window.MainWindow.load_models_in_background`), and
a job started before that is done waits for it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from stockapp.gui import xcb_libs
from stockapp.gui.widgets.gui_gc import collect_on_gui_thread

if TYPE_CHECKING:
    from stockapp.gui.main_window import MainWindow

#: A light touch over the platform style: quieter hints, emphasised panel titles and errors.
STYLE_SHEET = """
QGroupBox { font-weight: 600; }
QGroupBox > QWidget, QGroupBox QLabel, QGroupBox QLineEdit, QGroupBox QComboBox,
QGroupBox QPushButton, QGroupBox QListWidget, QGroupBox QDateEdit, QGroupBox QCheckBox,
QGroupBox QSpinBox, QGroupBox QDoubleSpinBox { font-weight: normal; }
QLabel#hint { color: #6b7280; }
QLabel#statusMessage[error="true"] { color: #b91c1c; }
QLabel#dataWarnings[warn="true"] { color: #b45309; }
QLabel#chartTitle { font-size: 11pt; }
QStatusBar::item { border: none; }
QStatusBar QLabel { padding: 0 4px; }
"""


def application(argv: list[str] | None = None) -> QApplication:
    """The running ``QApplication`` or a new one, named for settings and window titles."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1] if argv is None else argv)
    # The window's sweeps fork their workers from the forkserver, never from this process:
    # a fork would copy Qt's threads half-way (stockapp.models.sweep_pool.fork_is_safe).
    os.environ["STOCKAPP_SWEEP_FORK"] = "0"
    app.setApplicationName("stockapp")
    app.setOrganizationName("stockapp")
    app.setApplicationDisplayName("stockapp")
    return app  # type: ignore[return-value]


def configure_pyqtgraph() -> None:
    """White plots with dark-grey ink and antialiased lines, as in printed charts."""
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background="w", foreground="#374151")


def create_main_window(
    sample: str | None = None,
    csv: str | None = None,
    ticker: str | None = None,
    quiet: bool = False,
    dayfirst: bool | None = None,
) -> MainWindow:
    """Make the window with its training and backtest parts and start loading the data.

    The event loop is not entered. The controllers are children of the window
    (``window.findChild(TrainingController)`` finds them).

    At most one of ``sample``/``csv``/``ticker`` is used (in that order); with none, the last
    choice of the previous session is reloaded (the AAPL sample the first time). A ticker is
    downloaded in the background, so the window may show it only after events are processed.
    """
    from stockapp.gui.backtest.adapter import BacktestController
    from stockapp.gui.main_window import MainWindow
    from stockapp.gui.training.adapter import TrainingController

    application()
    configure_pyqtgraph()
    window = MainWindow(quiet=quiet)
    window.setStyleSheet(STYLE_SHEET)
    training = TrainingController(window)
    training.attach(window)
    BacktestController(window).attach(window, training)
    from stockapp.gui.inside.adapter import InsideController  # issue 13: the Inside tab

    InsideController(window).attach(window, window.findChild(BacktestController))
    from stockapp.gui.experiments.adapter import ExperimentsController  # issue 11: experiments

    ExperimentsController(window).attach(window, training, window.findChild(BacktestController))
    from stockapp.gui.forward.adapter import ForwardController  # issue 25: the Forward page

    ForwardController(window).attach(window, window.findChild(BacktestController))
    panel = window.data_panel
    if sample:
        panel.load_sample(sample)
    elif csv:
        panel.load_csv_path(csv, dayfirst=dayfirst)
    elif ticker:
        panel.load_ticker(ticker)
    else:
        panel.restore_last()
    return window


def run(
    sample: str | None = None,
    csv: str | None = None,
    ticker: str | None = None,
    argv: list[str] | None = None,
    dayfirst: bool | None = None,
) -> int:
    """Show a splash, then the window, and run until it is closed; returns the exit status
    (1, with one sentence on stderr, when Qt's X11 plugin lacks system libraries)."""
    from stockapp.gui.startup import after_first_paint, mark_first_paint, set_message, show_splash

    missing = xcb_libs.problem()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    app = application(argv)
    collect_on_gui_thread(app)  # never free a Qt object on a background thread
    splash = show_splash()
    # The slow imports (pyqtgraph, pandas) happen here, under the splash; PyTorch waits.
    from stockapp.gui import main_window  # noqa: F401

    set_message(splash, "Opening the window\u2026")
    window = create_main_window(sample=sample, csv=csv, ticker=ticker, dayfirst=dayfirst)
    # Qt asks the last installed filter first: the benchmark's close is queued first, so a
    # window it closes at once does not start loading PyTorch.
    after_first_paint(window, window.load_models_in_background)
    mark_first_paint(window, "window", close_after=True)
    window.show()
    QTimer.singleShot(0, splash.close)  # once the window is up, not a blank moment before
    return app.exec()
