"""GeneratorWorker: signals arrive on the GUI thread, failures become sentences, cancel works."""

from __future__ import annotations

import gc
import logging
import sys
import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from stockapp.errors import DataError
from stockapp.gui.widgets.workers import GeneratorWorker, run_in_background


def _on_gui_thread() -> bool:
    return QThread.currentThread() == QApplication.instance().thread()


def test_progress_and_finished_arrive_in_order_on_the_gui_thread(qtbot, no_leaked_threads):
    work_threads: list[str] = []

    def count(should_stop):
        work_threads.append(threading.current_thread().name)
        yield from range(5)
        return "done"

    seen: list[tuple[str, object, bool]] = []
    worker = GeneratorWorker(count)
    worker.progress.connect(lambda v: seen.append(("progress", v, _on_gui_thread())))
    worker.finished.connect(lambda v: seen.append(("finished", v, _on_gui_thread())))
    with qtbot.waitSignal(worker.done, timeout=5000):
        worker.start()
        assert worker.is_running()
    assert seen == [("progress", i, True) for i in range(5)] + [("finished", "done", True)]
    assert work_threads and work_threads[0] != threading.main_thread().name
    assert not worker.is_running()
    assert worker.wait(1000)


def test_stockapp_error_fails_with_its_own_sentence(qtbot, no_leaked_threads):
    def broken(should_stop):
        yield 1
        raise DataError("Ticker 'ZZZZ' was not found on Yahoo Finance; check the symbol.")

    worker = GeneratorWorker(broken)
    on_gui: list[bool] = []
    worker.failed.connect(lambda _m: on_gui.append(_on_gui_thread()))
    finished: list[object] = []
    worker.finished.connect(finished.append)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["Ticker 'ZZZZ' was not found on Yahoo Finance; check the symbol."]
    assert on_gui == [True]
    assert finished == []
    assert worker.wait(1000)


def test_unexpected_error_is_named_and_its_traceback_logged(qtbot, caplog, no_leaked_threads):
    def buggy(should_stop):
        yield from ()
        return {}["missing"]

    worker = GeneratorWorker(buggy)
    with caplog.at_level(logging.ERROR, logger="stockapp.gui.widgets.workers"):
        with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
            worker.start()
        worker.wait(1000)
    assert blocker.args == ["Unexpected error: KeyError: 'missing'"]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_cancel_is_read_by_the_generator_and_wait_returns(qtbot, no_leaked_threads):
    entered = threading.Event()

    def endless(should_stop):
        n = 0
        entered.set()
        while not should_stop():
            n += 1
            yield n
            threading.Event().wait(0.001)
        return "stopped"

    worker = GeneratorWorker(endless)
    worker.start()
    assert entered.wait(5)
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.cancel()
        assert worker.wait(5000)
    assert blocker.args == ["stopped"]
    assert worker.cancelled
    assert not worker.is_running()


def test_non_generator_function_is_reported_not_crashed(qtbot, no_leaked_threads):
    worker = GeneratorWorker(lambda should_stop: 42)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    worker.wait(1000)
    assert blocker.args[0].startswith("Unexpected error: TypeError:")


def test_a_worker_starts_only_once(qtbot, no_leaked_threads):
    worker = GeneratorWorker(lambda should_stop: iter(()))
    with qtbot.waitSignal(worker.done, timeout=5000):
        worker.start()
    with pytest.raises(RuntimeError):
        worker.start()
    worker.wait(1000)


def test_unreferenced_worker_survives_until_its_last_signal(qtbot, no_leaked_threads):
    results: list[object] = []
    worker = run_in_background(lambda: 7, on_finished=results.append)  # no parent
    assert worker.wait(5000)
    # The thread has ended but its result is still queued: dropping the last reference here
    # must not delete the worker before the result is delivered.
    del worker
    gc.collect()
    qtbot.waitUntil(lambda: results == [7], timeout=5000)


def test_run_in_background_reports_failures(qtbot, no_leaked_threads):
    def fails():
        raise DataError("No prices in 'x.csv'; pick another file.")

    messages: list[str] = []
    worker = run_in_background(fails, on_failed=messages.append)
    qtbot.waitUntil(lambda: messages == ["No prices in 'x.csv'; pick another file."], timeout=5000)
    assert worker.wait(1000)


def test_installed_pyside_keeps_references_to_none_and_bools():
    """shiboken6 6.12.0 on Python 3.11 drops a reference to None per void call and to a bool per
    emit, aborting the interpreter within seconds of mouse movement; pyproject.toml excludes it.
    This fails if such a build is installed anyway."""
    from PySide6.QtCore import QObject

    probe = QObject()
    none_before = sys.getrefcount(None)
    bools_before = sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(1000):
        probe.setObjectName("probe")
        probe.objectNameChanged.emit("probe")
    if sys.version_info < (3, 12):
        assert none_before - sys.getrefcount(None) < 100
        assert bools_before - (sys.getrefcount(True) + sys.getrefcount(False)) < 100
