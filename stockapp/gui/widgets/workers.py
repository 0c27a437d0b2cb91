"""Run long work off the GUI thread and hear about it on the GUI thread.

The work itself is a plain generator from the core (no Qt): each ``yield`` reports progress and
is a point where it may check ``should_stop()``. :class:`GeneratorWorker` runs that generator on a
Python thread and turns what happens into Qt signals that are always delivered on the GUI thread,
as superqt's ``GeneratorWorker`` and Orange's ``TaskState`` do:

- the worker object is created on (and stays on) the GUI thread;
- the background thread only emits the worker's *private* signals, connected with
  ``Qt.QueuedConnection`` to slots of the worker, and those slots re-emit the public signals, so
  every slot a panel connects runs on the GUI thread;
- cancelling sets a ``threading.Event`` that the generator reads itself; nothing is killed;
- running workers are held in a module-level set until their last signal has been delivered, so a
  worker nobody else references is never garbage-collected mid-run.

A Python thread rather than a ``QThread`` is used so that tests can see leaked threads with
``threading.enumerate()`` and so that logging from the work does not leave dummy thread entries.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from stockapp.errors import StockappError

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]
WorkFunction = Callable[[StopCheck], Generator[Any, None, Any]]

# Workers between start() and delivery of their last signal; keeps them (and so their thread's
# target) alive even when the caller dropped its reference.
_RUNNING: set[GeneratorWorker] = set()
# Every background thread not yet ended, with its stop flag: joined when the interpreter exits,
# so that no thread is still inside PyTorch while the process tears down (which aborts it).
_THREADS: dict[threading.Thread, threading.Event] = {}
#: How long the interpreter's exit waits for each thread still running.
EXIT_WAIT_S = 120.0


@atexit.register
def join_all(timeout_s: float = EXIT_WAIT_S) -> bool:
    """Cancel every background thread and wait for each to end; False if one did not."""
    for stop in list(_THREADS.values()):
        stop.set()
    for thread in list(_THREADS):
        thread.join(timeout_s)
    return not any(t.is_alive() for t in _THREADS)


def failure_message(exc: BaseException) -> str:
    """The one sentence shown to a person for an exception raised by background work."""
    if isinstance(exc, StockappError):
        return str(exc)
    return f"Unexpected error: {type(exc).__name__}: {exc}"


class GeneratorWorker(QObject):
    """Runs ``fn(should_stop)`` (a generator) on a background thread.

    Signals, all delivered on the thread that owns the worker (the GUI thread):

    ``progress(object)``
        every value the generator yields, in order (with ``min_interval_s``: at most one per
        interval, plus every value ``always`` accepts);
    ``finished(object)``
        the generator's return value, also after a cancellation the generator honoured (so a
        stopped training run can still hand back what it has; check :attr:`cancelled`);
    ``failed(str)``
        one sentence: a :class:`~stockapp.errors.StockappError`'s message, or
        ``"Unexpected error: <type>: <message>"`` for anything else (its traceback is logged);
    ``done()``
        after ``finished`` or ``failed``, whichever came; the worker is no longer running.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    # Emitted from the background thread only; relayed to the public signals by queued slots.
    _progress_from_thread = Signal(object)
    _finished_from_thread = Signal(object)
    _failed_from_thread = Signal(str)

    def __init__(
        self,
        fn: WorkFunction,
        parent: QObject | None = None,
        *,
        min_interval_s: float = 0.0,
        always: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self._fn = fn
        # Throttling in the background thread: a progress value is only sent when
        # ``min_interval_s`` has passed since the last one sent, unless ``always(value)``; the
        # others are dropped there, so a fast generator costs the GUI thread nothing per yield.
        self._min_interval_s = float(min_interval_s)
        self._always = always
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        queued = Qt.ConnectionType.QueuedConnection
        self._progress_from_thread.connect(self._relay_progress, queued)
        self._finished_from_thread.connect(self._relay_finished, queued)
        self._failed_from_thread.connect(self._relay_failed, queued)

    # ----------------------------------------------------------------- control (GUI thread)

    def start(self) -> None:
        """Start the work; a worker runs once."""
        if self._thread is not None:
            raise RuntimeError("a GeneratorWorker can only be started once")
        self._running = True
        _RUNNING.add(self)
        name = getattr(self._fn, "__name__", type(self._fn).__name__)
        self._thread = threading.Thread(target=self._work, name=f"stockapp-{name}", daemon=True)
        _THREADS[self._thread] = self._stop
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next check of ``should_stop()``; returns at once."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._stop.is_set()

    def is_running(self) -> bool:
        """True from :meth:`start` until ``finished``/``failed`` has been delivered."""
        return self._running

    @property
    def thread_name(self) -> str:
        """The background thread's name (``stockapp-<work>``), for logs."""
        return self._thread.name if self._thread is not None else "a worker not started"

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the background thread has ended; False if it is still running.

        The final signal is queued on the GUI thread and arrives with the next event processing.
        """
        if self._thread is None:
            return True
        self._thread.join(timeout_ms / 1000)
        return not self._thread.is_alive()

    # ------------------------------------------------------------ work (background thread)

    def _work(self) -> None:
        try:
            self._run()
        finally:
            _THREADS.pop(threading.current_thread(), None)

    def _run(self) -> None:
        try:
            gen = self._fn(self._stop.is_set)
            if not inspect.isgenerator(gen):
                raise TypeError(f"{self._fn!r} did not return a generator")
            sent = -math.inf
            while True:
                try:
                    value = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if self._min_interval_s > 0:
                    now = time.monotonic()
                    keep = self._always is not None and self._always(value)
                    if not keep and now - sent < self._min_interval_s:
                        continue
                    sent = now
                self._send(self._progress_from_thread, value)
        except Exception as exc:  # every failure becomes a sentence for a person
            if not isinstance(exc, StockappError):
                log.error("background work failed", exc_info=exc)
            self._send(self._failed_from_thread, failure_message(exc))
        else:
            self._send(self._finished_from_thread, result)

    def _send(self, signal: Any, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:
            # The Qt side of the worker was deleted with its parent: nobody is listening any
            # more, and no relay will run to take the worker off the running set.
            _RUNNING.discard(self)

    # ------------------------------------------------------------ relays (GUI thread)

    @Slot(object)
    def _relay_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot(object)
    def _relay_finished(self, result: object) -> None:
        self._end()
        self.finished.emit(result)
        self.done.emit()

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        self._end()
        self.failed.emit(message)
        self.done.emit()

    def _end(self) -> None:
        self._running = False
        _RUNNING.discard(self)


def _one_shot(fn: Callable[[], Any]) -> WorkFunction:
    def work(should_stop: StopCheck) -> Generator[Any, None, Any]:
        yield from ()
        return fn()

    work.__name__ = getattr(fn, "__name__", "work")
    return work


def run_in_background(
    fn: Callable[[], Any],
    parent: QObject | None = None,
    *,
    on_finished: Callable[[Any], None] | None = None,
    on_failed: Callable[[str], None] | None = None,
) -> GeneratorWorker:
    """Run a plain function (a download, a file read) once in the background, and start it.

    The callbacks, when given, are connected before the start; connecting to the returned
    worker's signals right after the call is equally safe, because signals are only delivered
    once control returns to the event loop. Cancelling such a worker cannot interrupt ``fn``; it
    only marks the result as unwanted (see :attr:`GeneratorWorker.cancelled`).
    """
    worker = GeneratorWorker(_one_shot(fn), parent)
    if on_finished is not None:
        worker.finished.connect(on_finished)
    if on_failed is not None:
        worker.failed.connect(on_failed)
    worker.start()
    return worker
