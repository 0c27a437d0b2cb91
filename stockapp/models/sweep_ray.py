"""The Ray engine of a sweep: each run a Ray task, on a cluster or on this machine.

The only module that imports ``ray`` (an optional extra: ``pip install stockapp[ray]``).
``ray.init(address=...)`` joins an existing cluster (``"auto"``, ``"ray://host:10001"``);
without an address a local Ray is started for the sweep and shut down after it. Each price
series is put once into the object store; each task runs the same job function as the local
engine with ``num_cpus`` (and ``num_gpus`` when it trains on a GPU), and results stream back with
``ray.wait`` as they finish. A task whose worker dies yields a failed row, never a failed sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from stockapp.errors import StockappError
from stockapp.models.sweep import DIED, Job, JobFn, _row


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
                ray.init(address=address, log_to_driver=False)
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
                    row = _row(job, "failed", why)
                yield row
    finally:
        if started_here:
            ray.shutdown()
