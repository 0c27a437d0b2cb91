"""The first seconds after launch: a splash while PyTorch loads, and start-up timing markers.

Importing the main window imports PyTorch (through ``stockapp.models``), which takes several
seconds on a cold start; without a sign of life the launch looks broken. :func:`show_splash`
puts a small window on screen before that import, and the main window replaces it.

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

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen, QWidget

MARKER_ENV = "STOCKAPP_STARTUP_MARKER"
QUIT_ENV = "STOCKAPP_QUIT_AFTER_SHOWN"


def show_splash(app: QApplication, message: str = "Loading PyTorch\u2026") -> QSplashScreen:
    """A small splash with the app's name and ``message``, painted before this returns."""
    pixmap = QPixmap(360, 140)
    pixmap.fill(QColor("#ffffff"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#374151"))
    painter.drawRect(0, 0, pixmap.width() - 1, pixmap.height() - 1)
    font = QFont(app.font())
    font.setPointSize(20)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 24, 0, 0), Qt.AlignHCenter | Qt.AlignTop, "stockapp")
    painter.end()
    splash = QSplashScreen(pixmap)
    mark_first_paint(splash, "splash")
    splash.show()
    set_message(splash, message)
    return splash


def set_message(splash: QSplashScreen, message: str) -> None:
    """Say what is loading now, and paint it at once (the caller is about to block)."""
    splash.showMessage(message, Qt.AlignHCenter | Qt.AlignBottom, QColor("#6b7280"))
    QApplication.processEvents()


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


def mark_first_paint(widget: QWidget, label: str, *, close_after: bool = False) -> None:
    """With ``STOCKAPP_STARTUP_MARKER`` set, record when ``widget`` is first painted (and close
    it then if ``close_after`` and ``STOCKAPP_QUIT_AFTER_SHOWN=1``); otherwise do nothing."""
    path = os.environ.get(MARKER_ENV)
    if not path:
        return
    _FirstPaint(widget, label, Path(path), close_after and os.environ.get(QUIT_ENV) == "1")
