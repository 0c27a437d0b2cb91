"""The app's garbage collection happens on the GUI thread, never on a background thread."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from stockapp.gui.widgets.gui_gc import GuiThreadCollector, collect_on_gui_thread


class Cycle:
    """A reference cycle that records the thread it was freed on."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_cycles_made_garbage_on_a_worker_are_freed_on_the_gui_thread(qapp):
    gc.enable()  # as in a plain process: the test's fixture turned it off
    owner = QObject()
    collector = GuiThreadCollector(owner, interval_ms=60_000)
    Cycle.freed_on.clear()

    def work():
        for _ in range(200):
            Cycle()
        # enough allocation to run every generation of the automatic collector many times
        junk = [[i] for i in range(200_000)]
        del junk

    worker = threading.Thread(target=work, name="worker")
    worker.start()
    worker.join()
    assert Cycle.freed_on == []  # nothing collected on the worker
    hold = [[i] for i in range(collector.threshold[0] + 10)]  # generation 0 is due now
    assert collector.check() >= 200
    del hold
    gc.collect()  # the older generations the check did not reach yet
    assert set(Cycle.freed_on) == {threading.current_thread().name}
    assert len(Cycle.freed_on) == 200


def test_the_collector_is_installed_once_and_gives_automatic_collection_back(qapp):
    gc.enable()
    owner = QObject()
    first = collect_on_gui_thread(owner)
    assert collect_on_gui_thread(owner) is first
    assert not gc.isenabled()
    owner.deleteLater()
    del owner
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert gc.isenabled()
    gc.disable()  # the fixture's state again


def test_a_check_collects_only_what_is_due(qapp):
    owner = QObject()
    collector = GuiThreadCollector(owner, interval_ms=60_000)
    gc.collect()
    assert collector.check() == 0  # nothing due right after a full collection
    Cycle.freed_on.clear()
    for _ in range(collector.threshold[0] + 10):
        Cycle()
    assert collector.check() >= 1
    assert Cycle.freed_on
