"""Start the desktop app: the Qt application, pyqtgraph's look, the main window and its data."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

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
    app.setApplicationName("stockapp")
    app.setOrganizationName("stockapp")
    app.setApplicationDisplayName("stockapp")
    configure_pyqtgraph()
    return app  # type: ignore[return-value]


def configure_pyqtgraph() -> None:
    """White plots with dark-grey ink and antialiased lines, as in printed charts."""
    pg.setConfigOptions(antialias=True, background="w", foreground="#374151")


def create_main_window(
    sample: str | None = None,
    csv: str | None = None,
    ticker: str | None = None,
    quiet: bool = False,
) -> MainWindow:
    """Make the window with its training and backtest parts and start loading the data.

    The event loop is not entered. The controllers are children of the window
    (``window.findChild(TrainingController)`` finds them).

    At most one of ``sample``/``csv``/``ticker`` is used (in that order); with none, the last
    choice of the previous session is reloaded (the AAPL sample the first time). A ticker is
    downloaded in the background, so the window may show it only after events are processed.
    """
    from stockapp.gui.backtest import BacktestController
    from stockapp.gui.training import TrainingController

    application()
    window = MainWindow(quiet=quiet)
    window.setStyleSheet(STYLE_SHEET)
    training = TrainingController(window)
    training.attach(window)
    BacktestController(window).attach(window, training)
    panel = window.data_panel
    if sample:
        panel.load_sample(sample)
    elif csv:
        panel.load_csv_path(csv)
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
) -> int:
    """Show the window and run until it is closed; returns the exit status."""
    app = application(argv)
    window = create_main_window(sample=sample, csv=csv, ticker=ticker)
    window.show()
    return app.exec()
