"""The first seconds after launch: a splash while the window loads, and start-up timing markers.

Importing the main window (Qt's widgets, pyqtgraph, pandas) takes a second or two on a cold
start; without a sign of life the launch looks broken. :func:`show_splash` puts a small window
on screen before that import, and the main window replaces it. PyTorch is not among those
imports: :func:`after_first_paint` starts loading it once the window is on screen. (Not a
``QSplashScreen``: its ``show()`` waits up to a second for an expose event that Qt's offscreen
platform never sends, which would skew the start-up benchmark.)

For ``scripts/bench_startup.py``: with ``STOCKAPP_STARTUP_MARKER=path`` the app appends
``splash <unix time> torch=<loaded>`` and ``window <unix time> torch=<loaded>`` to that file when
each is first painted; with ``STOCKAPP_QUIT_AFTER_SHOWN=1`` it closes the main window as soon as
it has been painted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QVBoxLayout, QWidget

MARKER_ENV = "STOCKAPP_STARTUP_MARKER"
QUIT_ENV = "STOCKAPP_QUIT_AFTER_SHOWN"


class Splash(QFrame):
    """A small frameless window with the app's name and what is loading now."""

    def __init__(self, message: str) -> None:
        super().__init__(None, Qt.SplashScreen | Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint)
        self.setObjectName("splash")
        self.setStyleSheet(
            "QFrame#splash { background: white; border: 1px solid #9ca3af; }"
            " QLabel#splashTitle { font-size: 20pt; font-weight: 600; color: #374151; }"
            " QLabel#splashMessage { color: #6b7280; }"
        )
        title = QLabel("stockapp")
        title.setObjectName("splashTitle")
        self.message = QLabel(message)
        self.message.setObjectName("splashMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 28, 48, 24)
        layout.setSpacing(16)
        for label in (title, self.message):
            label.setAlignment(Qt.AlignHCenter)
            layout.addWidget(label)
        self.setMinimumWidth(360)


def show_splash(message: str = "Loading\u2026", wait_s: float = 1.0) -> Splash:
    """Show a :class:`Splash` and return once it has been painted (or after ``wait_s``: a window
    manager may take a moment to map it), since the caller is about to block the event loop."""
    splash = Splash(message)
    mark_first_paint(splash, "splash")
    painted = _Painted(splash)
    splash.adjustSize()
    screen = QApplication.primaryScreen()
    if screen is not None:
        splash.move(screen.availableGeometry().center() - splash.rect().center())
    splash.show()
    deadline = time.monotonic() + wait_s
    while not painted.seen and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.AllEvents, 50)
    return splash


def set_message(splash: Splash, message: str) -> None:
    """Say what is loading now, and paint it at once (the caller is about to block)."""
    splash.message.setText(message)
    splash.repaint()


class _Painted(QObject):
    """``seen`` becomes True at the widget's first paint."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.seen = False
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint:
            self.seen = True
            watched.removeEventFilter(self)
        return False


class _FirstPaint(QObject):
    """Appends ``label <time> torch=<loaded>`` to the marker file on the widget's first paint."""

    def __init__(self, widget: QWidget, label: str, path: Path, then_close: bool) -> None:
        super().__init__(widget)
        self._label = label
        self._path = path
        self._then_close = then_close
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            loaded = "torch" in sys.modules
            with self._path.open("a", encoding="utf-8") as out:
                out.write(f"{self._label} {time.time():.6f} torch={loaded}\n")
            if self._then_close:
                QTimer.singleShot(0, watched.close)
        return False


class _AfterPaint(QObject):
    """Calls ``callback`` once, from the event loop, after the widget's first paint."""

    def __init__(self, widget: QWidget, callback) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            callback = self._callback
            QTimer.singleShot(0, lambda: watched.isVisible() and callback())
        return False


def after_first_paint(widget: QWidget, callback) -> None:
    """Run ``callback()`` once ``widget`` has been painted (and while it is still shown): work
    that should not delay the first sight of the window, such as loading PyTorch."""
    _AfterPaint(widget, callback)


def mark_first_paint(widget: QWidget, label: str, *, close_after: bool = False) -> None:
    """With ``STOCKAPP_STARTUP_MARKER`` set, record when ``widget`` is first painted (and close
    it then if ``close_after`` and ``STOCKAPP_QUIT_AFTER_SHOWN=1``); otherwise do nothing."""
    path = os.environ.get(MARKER_ENV)
    if not path:
        return
    _FirstPaint(widget, label, Path(path), close_after and os.environ.get(QUIT_ENV) == "1")
