"""Python's cyclic garbage collector, run on the GUI thread only.

Background work (loading, training, sweeps) runs on Python threads. When the automatic
collector fires on one of them, it may free a Qt object left in a reference cycle (a closed
dialog, an old chart) there, and a Qt object destroyed off its own thread can deadlock the app:
the background thread holds Python's lock while Qt waits for the GUI thread, which waits for that
lock. So the app turns automatic collection off and collects, generation by generation with
Python's own thresholds, from a timer on the GUI thread (as pyqtgraph's ``GarbageCollector``).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the GUI thread looks whether a generation is due.
INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    """Disables automatic collection while it lives; collects on the GUI thread instead."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)
        self.destroyed.connect(_restore(self.was_enabled))

    def check(self) -> int:
        """Collect the oldest generation that is due (and the younger ones); returns how many
        unreachable objects were found."""
        counts = gc.get_count()
        due = [g for g in range(3) if counts[g] > self.threshold[g]]
        # A generation is due only when every younger one is too, as in Python's own rule.
        generation = -1
        for g in range(3):
            if g in due and generation == g - 1:
                generation = g
        return gc.collect(generation) if generation >= 0 else 0


def _restore(enabled: bool):
    def restore(*_args) -> None:
        if enabled:
            gc.enable()

    return restore


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Install the collector on ``app`` once (further calls return the same one)."""
    found = app.findChild(GuiThreadCollector)
    return found if found is not None else GuiThreadCollector(app)
