"""The Ray engine of a sweep: each run a Ray task, on a cluster or on this machine.

The only module that imports ``ray`` (an optional extra: ``pip install stockapp[ray]``).
``ray.init(address=...)`` joins an existing cluster (``"auto"``, ``"ray://host:10001"``);
without an address a local Ray is started for the sweep and shut down after it. Each price
series is put once into the object store; each task runs the same job function as the local
engine with ``num_cpus`` (and ``num_gpus`` when it trains on a GPU), and results stream back with
``ray.wait`` as they finish. A task whose worker dies yields a failed row, never a failed sweep.

**Joining a cluster is bounded.** Given an address where nothing answers, ``ray.init`` retries
for minutes, logging "Failed to connect to GCS", and cannot be interrupted (it waits in C++). So
the address is first probed with a plain TCP connection (:data:`PROBE_SECONDS`), and then
``ray.init`` runs in a daemon thread that is given :data:`JOIN_SECONDS`; either failing is one
sentence, well within 30 s.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from stockapp.core.ray_address import ray_endpoint
from stockapp.errors import StockappError
from stockapp.models.sweep_job import DIED, Job, JobFn, job_row

#: Seconds a TCP connection to the cluster's address may take: a cluster on a network answers in
#: milliseconds, so 3 s means nothing is there (or a firewall drops the packets).
PROBE_SECONDS = 3.0
#: Seconds ``ray.init`` may take to join a cluster that answered the probe. Joining a one-node
#: cluster on this machine took 1.2 s; a refused token made ``ray.init`` give up after ~20 s.
JOIN_SECONDS = 20.0
#: An earlier join that outlived :data:`JOIN_SECONDS` and is still trying (it cannot be stopped).
_JOINING: dict[str, threading.Thread] = {}


def _unreachable(address: str, why: str) -> StockappError:
    return StockappError(
        f"No Ray cluster answers at {address} ({why}); start one there with 'ray start "
        "--head', check the address, or leave it empty to run Ray on this machine."
    )


def probe(address: str, timeout: float = PROBE_SECONDS) -> None:
    """Raise one sentence unless something accepts a TCP connection at ``address``."""
    endpoint = ray_endpoint(address)
    if endpoint is None:
        return
    try:
        with socket.create_connection(endpoint, timeout=timeout):
            pass
    except TimeoutError:
        raise _unreachable(address, f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise _unreachable(address, (exc.strerror or str(exc)).lower()) from None


def join(ray: Any, address: str, timeout: float = JOIN_SECONDS) -> None:
    """``ray.init(address=...)``, given at most ``timeout`` seconds; one sentence otherwise."""
    earlier = _JOINING.get(address)
    if earlier is not None and earlier.is_alive():
        raise StockappError(
            f"An earlier attempt to join the Ray cluster at {address} is still waiting for it; "
            "restart stockapp to try again."
        )
    probe(address)
    outcome: dict[str, BaseException | None] = {}

    def init() -> None:
        try:
            # ERROR: no warning that a thread other than the main one sets no SIGTERM handler
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            outcome["error"] = None
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=init, name="ray-join", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        _JOINING[address] = thread
        raise StockappError(
            f"Something answers at {address} but no Ray cluster joined within {timeout:g} s; "
            "check the address (a cluster's GCS port, 6379 by default, or ray://host:10001)."
        )
    error = outcome.get("error")
    if error is not None:
        raise error


def _run_task(job_fn: JobFn, job: Job, series: Any, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)  # Ray sets OMP_NUM_THREADS from num_cpus; be explicit
    return job_fn(job, series)


def _needs_gpu(job: Job) -> bool:
    return str(job.train.get("device", "auto")).startswith("cuda")


def ray_engine(
    jobs: list[Job],
    series_list: Sequence[Any],
    job_fn: JobFn,
    should_stop: Callable[[], bool],
    address: str | None = None,
    workers: int | None = None,
    cpus_per_run: int = 1,
    gpus_per_run: float = 0.25,
) -> Iterator[dict]:
    """Yield each run's row as its task finishes (``workers`` caps a local Ray's CPUs)."""
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError as exc:
        raise StockappError(
            "The ray engine needs Ray; install it with: pip install 'stockapp[ray]'"
        ) from exc
    started_here = False
    if not ray.is_initialized():
        try:
            if address:
                join(ray, address)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise StockappError(f"Could not start {where}: {' '.join(str(exc).split())}") from exc
        started_here = True
    try:
        task = ray.remote(_run_task)
        refs = [ray.put(s) for s in series_list]  # each series sent once
        waiting = {}
        for job in jobs:
            options = {"num_cpus": cpus_per_run, "max_retries": 0}
            if _needs_gpu(job):
                options["num_gpus"] = gpus_per_run
            ref = task.options(**options).remote(job_fn, job, refs[job.series_index], cpus_per_run)
            waiting[ref] = job
        while waiting:
            if should_stop():
                for ref in waiting:
                    ray.cancel(ref)
                return
            ready, _ = ray.wait(list(waiting), num_returns=1, timeout=0.25)
            for ref in ready:
                job = waiting.pop(ref)
                try:
                    row = ray.get(ref)
                except RayError as exc:
                    crashed = type(exc).__name__ in ("WorkerCrashedError", "OutOfMemoryError")
                    why = DIED if crashed else f"The Ray task failed: {type(exc).__name__}."
                    row = job_row(job, "failed", why)
                yield row
    finally:
        if started_here:
            ray.shutdown()
