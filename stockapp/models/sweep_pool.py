"""The local engine of a sweep: a warm pool of worker processes, reused run after run.

A fresh Python process spends about 2.6 s of CPU importing PyTorch, SciPy and pandas
(``python -X importtime``), more than a small sweep run costs. So the workers are started once
and kept:

* On Linux and macOS they are forked from multiprocessing's *forkserver*, which imports the
  run's modules (:data:`PRELOAD`) once; each worker is then a ``fork`` of a process that has
  them, and starts in milliseconds. A worker that dies is replaced just as cheaply. (Forking
  this process instead would copy the window's threads, which ``fork`` does not survive.)
* A process with no other thread (``stockapp sweep``) forks its workers itself on Linux, one
  torch thread each (:func:`fork_is_safe`): they start with its imports, so a sweep of small
  runs no longer waits ~2.6 s for the forkserver to import PyTorch (issue 23).
  Windows has no forkserver and spawns workers, each importing once.
* :class:`WarmPool` keeps its workers for every sweep this process runs (the window's second
  sweep finds them warm; :func:`warm_up` starts them ahead of the first). The price series go
  with each run, a few hundred kilobytes pickled, with the other series its runs read as inputs
  (a :class:`~stockapp.models.sweep_job.RunData`).
* Each worker gets ``max(1, cores // workers)`` threads, torch's and the BLAS's under NumPy
  alike (:func:`~stockapp.models.threads.limit_worker_threads`), so workers x threads = cores.

What the engine promised before the pool stays: a worker that dies (killed, out of memory)
breaks the pool; the runs it held are rerun one at a time in a fresh pool, so only the run that
kills its worker again fails, with a sentence in its row, and the sweep goes on. Stopping sets
an event every worker reads at its runs' progress points (before every batch), and runs not
started never start.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from stockapp.models.sweep_job import DIED, Job, JobFn, job_row

#: Imported once by the forkserver, so every worker forked from it starts with them.
PRELOAD = ("stockapp.models.runner", "stockapp.models.sweep_job", "scipy.stats", "pandas")

_WORKER: dict = {}


def _init_worker(threads: int, stop_event: Any, barrier: Any) -> None:
    from stockapp.models.threads import limit_worker_threads

    # Ctrl+C reaches the whole process group: the parent alone handles it and sets the stop
    # event, which the runs in flight read at their next progress point.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_worker_threads(threads)  # torch's and NumPy's BLAS alike
    _WORKER["stop"] = stop_event
    _WORKER["barrier"] = barrier


def _worker_run(job_fn: JobFn, job: Job, series: Any) -> dict:
    return job_fn(job, series, _WORKER["stop"].is_set)


def _ready() -> int:
    """Wait for every other worker's call (so each of them runs in its own process)."""
    try:
        _WORKER["barrier"].wait(60)
    except threading.BrokenBarrierError:  # a worker died meanwhile: this one is started anyway
        pass
    return os.getpid()


def available_cores() -> int:
    """The cores this process may run on (``taskset`` and CPU affinity respected)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """One worker per core: the small networks of a sweep gain little from intra-op threads,
    so cores are best spent on runs side by side (see scripts/bench_sweep.py)."""
    return max(1, cores or available_cores())


def fork_is_safe(threads: int) -> bool:
    """Whether this process may simply ``fork`` its workers: Linux, one thread per worker (the
    children then never enter an OpenMP region the parent may have used), no thread but this
    one (a ``stockapp sweep`` from the command line), no CUDA context (which a forked child
    cannot use), and not turned off with ``STOCKAPP_SWEEP_FORK=0``, which the window sets: its
    job threads and Qt's would be copied half-way. A forked worker starts in milliseconds with
    everything this process imported, where the forkserver first imports PyTorch (~2.6 s)."""
    if not sys.platform.startswith("linux") or "fork" not in mp.get_all_start_methods():
        return False
    if os.environ.get("STOCKAPP_SWEEP_FORK", "1") == "0" or threads != 1:
        return False
    if threading.active_count() != 1:
        return False
    torch = sys.modules.get("torch")
    return not (torch is not None and torch.cuda.is_initialized())


def _context(threads: int) -> mp.context.BaseContext:
    if fork_is_safe(threads):
        return mp.get_context("fork")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))  # read when the server first starts
        return ctx
    return mp.get_context("spawn")


class WarmPool:
    """``workers`` processes with ``threads`` torch threads each and one stop event."""

    def __init__(self, workers: int, threads: int) -> None:
        self.workers, self.threads = workers, threads
        ctx = _context(threads)
        self.start_method = ctx.get_start_method()
        self.stop_event = ctx.Event()
        barrier = ctx.Barrier(workers)  # the processes start as runs need them; this starts all
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(threads, self.stop_event, barrier),
        )
        if self.start_method == "fork":
            # Fork every worker now, with this process's objects frozen out of the garbage
            # collector: a child's collections then leave the pages it shares with this process
            # alone instead of copying them (its first run took ~0.2 s longer without).
            gc.freeze()
            try:
                self.start()
            finally:
                gc.unfreeze()

    def submit(self, job_fn: JobFn, job: Job, series: Any) -> Future:
        return self.executor.submit(_worker_run, job_fn, job, series)

    def start(self) -> list[int]:
        """Start every worker now; their process ids."""
        return [f.result() for f in [self.executor.submit(_ready) for _ in range(self.workers)]]

    def shutdown(self) -> None:
        self.stop_event.set()
        self.executor.shutdown(wait=True, cancel_futures=True)


_SHARED: dict[tuple[int, int], WarmPool] = {}
_LOCK = threading.Lock()


def take_pool(workers: int, threads: int) -> WarmPool:
    """The kept pool of this size (taken, so a second sweep at the same time gets its own)."""
    with _LOCK:
        pool = _SHARED.pop((workers, threads), None)
    return pool if pool is not None else WarmPool(workers, threads)


def give_back(pool: WarmPool) -> None:
    """Keep ``pool`` warm for the next sweep (one per size; a surplus one is shut down)."""
    pool.stop_event.clear()
    with _LOCK:
        surplus = _SHARED.pop((pool.workers, pool.threads), None)
        _SHARED[(pool.workers, pool.threads)] = pool
    if surplus is not None:
        surplus.shutdown()


def warm_up(workers: int | None = None) -> list[int]:
    """Start the pool a sweep with ``workers`` workers will use (the window calls this when an
    experiment is set up, so the first sweep finds its workers ready); their process ids."""
    cores = available_cores()
    workers = max(1, workers or default_workers(cores))
    pool = take_pool(workers, max(1, cores // workers))
    try:
        return pool.start()
    finally:
        give_back(pool)


def shutdown_pools() -> None:
    """Stop every kept worker (tests, and a window that closes)."""
    with _LOCK:
        pools = list(_SHARED.values())
        _SHARED.clear()
    for pool in pools:
        pool.shutdown()


def local_engine(
    jobs: list[Job],
    series_list: Sequence[Any],
    job_fn: JobFn,
    should_stop: Callable[[], bool],
    workers: int | None = None,
) -> Iterator[dict]:
    """Runs on ``workers`` warm processes, yielded as they finish."""
    cores = available_cores()
    workers = max(1, min(workers or default_workers(cores), len(jobs) or 1))
    threads = max(1, cores // workers)
    pending: deque[Job] = deque(jobs)
    suspects: deque[Job] = deque()  # held by a worker that died: rerun one at a time
    in_flight: dict[Future, tuple[Job, bool]] = {}
    pool: WarmPool | None = None
    healthy = True
    try:
        while pending or suspects or in_flight:
            if should_stop():
                if pool is not None:
                    pool.stop_event.set()
                pending.clear()
                suspects.clear()
            if pool is None and (pending or suspects):
                pool = take_pool(workers, threads)
            if pool is not None and not in_flight and suspects:
                job = suspects.popleft()
                fut = pool.submit(job_fn, job, series_list[job.series_index])
                in_flight[fut] = (job, True)
            while pool is not None and not suspects and pending and len(in_flight) < workers:
                job = pending.popleft()
                fut = pool.submit(job_fn, job, series_list[job.series_index])
                in_flight[fut] = (job, False)
            if not in_flight:
                continue
            done, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                job, alone = in_flight.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        yield job_row(job, "failed", DIED)
                    else:
                        suspects.append(job)
                    continue
                except Exception as exc:  # e.g. a job that cannot be sent to a worker
                    row = job_row(job, "failed", f"The run could not run in a worker: {exc}"[:300])
                yield {**row, "attempts": 2} if alone else row
            if broken:  # every run the pool held fails with it: find the one that killed it
                for fut, (job, alone) in in_flight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        yield {**fut.result(), "attempts": 2} if alone else fut.result()
                    elif alone:
                        yield job_row(job, "failed", DIED)
                    else:
                        suspects.append(job)
                in_flight.clear()
                pool.shutdown()
                pool = None
    except GeneratorExit:
        healthy = False  # closed with runs in flight: their workers are not worth waiting for
        raise
    finally:
        if pool is not None:
            if healthy and not in_flight:
                give_back(pool)
            else:
                pool.shutdown()
