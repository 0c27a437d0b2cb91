"""The Ray engine of a sweep: long-lived workers (actors), on a cluster or on this machine.

The only module that imports ``ray`` (an optional extra: ``pip install stockapp[ray]``).
``ray.init(address=...)`` joins an existing cluster (``"auto"``, ``"ray://host:10001"``);
without an address a local Ray is started for the sweep and shut down after it.

One actor (:class:`~stockapp.models.sweep_actor.RunWorker`) per CPU the cluster offers, each with
``num_cpus`` 1 (and ``num_gpus`` when the runs train on a GPU), imports PyTorch once and runs the
same job function as the local engine, one run after another. Each price series is put once into
the object store, with the other series its runs read as inputs; each run's folder comes back as
bytes and is written into the sweep folder of this machine (the machines share no folder). A run
whose actor dies (its process killed, its machine gone) is run once more on another actor, and a
replacement actor is started; a run that kills its actor twice is failed with a sentence; the
run's ``attempts`` (1 or 2) go into its row, and the summary counts the runs retried.

**Joining a cluster is bounded.** Given an address where nothing answers, ``ray.init`` retries
for minutes, logging "Failed to connect to GCS", and cannot be interrupted (it waits in C++). So
the address is first probed with a plain TCP connection (:data:`PROBE_SECONDS`), and then
``ray.init`` runs in a daemon thread that is given :data:`JOIN_SECONDS`; either failing is one
sentence, well within 30 s.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from stockapp.core.ray_address import ray_endpoint
from stockapp.errors import StockappError
from stockapp.models.sweep_actor import RunWorker, receive
from stockapp.models.sweep_job import DIED, DIED_TWICE, Job, JobFn, job_row

#: Seconds a TCP connection to the cluster's address may take: a cluster on a network answers in
#: milliseconds, so 3 s means nothing is there (or a firewall drops the packets).
PROBE_SECONDS = 3.0
#: Seconds ``ray.init`` may take to join a cluster that answered the probe. Joining a one-node
#: cluster on this machine took 1.2 s; a refused token made ``ray.init`` give up after ~20 s.
JOIN_SECONDS = 20.0
#: Seconds to wait for a worker when every one has died and none has started again (a cluster
#: that lost the machines its CPUs were on): then the runs left are failed, not waited for.
START_SECONDS = 120.0
NO_WORKER = (
    "No Ray worker was left to run this run (every one died and none could be started again)."
)


def could_not_start(exc: BaseException) -> str:
    """A worker that failed to start, in a sentence: the last line of Ray's report names why."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    last = next((line for line in reversed(lines) if line), type(exc).__name__)
    return (
        f"No Ray worker could start ({last[:200]}); install the same stockapp, with its "
        "dependencies, on every machine of the cluster."
    )


#: Actors kept between sweeps of one process while Ray outlives them (by Ray job and options).
_KEPT: dict[tuple, list] = {}
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


def _needs_gpu(job: Job) -> bool:
    return str(job.train.get("device", "auto")).startswith("cuda")


def _start(ray: Any, address: str | None, workers: int | None) -> bool:
    """Join ``address`` or start a local Ray unless one is running; whether it was started here."""
    if ray.is_initialized():
        return False
    try:
        if address:
            join(ray, address)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise StockappError(f"Could not start {where}: {' '.join(str(exc).split())}") from exc
    return True


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
    """Yield each run's row as it finishes (``workers`` caps the actors, and a local Ray's CPUs).

    Its folder is written under the runs' folder of this machine as it comes back.
    """
    try:
        import ray
    except ImportError as exc:
        raise StockappError(
            "The ray engine needs Ray; install it with: pip install 'stockapp[ray]'"
        ) from exc
    started_here = _start(ray, address, workers)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = max(1, min(workers or cpus // cpus_per_run, cpus // cpus_per_run or 1, len(jobs)))
        options: dict = {"num_cpus": cpus_per_run, "max_concurrency": 2, "max_restarts": 0}
        if any(_needs_gpu(job) for job in jobs):
            options["num_gpus"] = gpus_per_run
        actor = ray.remote(RunWorker).options(**options)
        # each series (a RunData, with its inputs) sent once to each machine
        refs = [ray.put(s) for s in series_list]
        context = ray.get_runtime_context()  # a job id alone repeats across local Rays
        kind = (context.get_node_id(), context.get_job_id(), tuple(sorted(options.items())))
        # Actors kept from an earlier sweep of this process, when Ray outlives the sweep
        kept = [] if started_here else _KEPT.pop(kind, [])
        if jobs:
            yield from _schedule(
                ray, lambda: actor.remote(cpus_per_run), n, jobs, refs, job_fn, should_stop, kept
            )
        if not started_here:
            _KEPT.setdefault(kind, []).extend(kept)
    finally:
        if started_here:
            ray.shutdown()


def release_actors() -> None:
    """End the actors kept for the next sweep (they hold their CPUs while kept)."""
    import ray

    for handles in _KEPT.values():
        for handle in handles:
            _end(ray, handle)
    _KEPT.clear()


def _end(ray: Any, handle: Any) -> None:
    try:
        ray.kill(handle)
    except Exception:  # already gone, or from a Ray session that has ended
        pass


def _schedule(ray, new_actor, n, jobs, refs, job_fn, should_stop, kept) -> Iterator[dict]:
    """Hand runs to ``n`` actors as they free up; retry once a run whose actor died.

    ``kept``: ready actors to use first; on a clean end the idle actors are put back in it,
    the others are ended."""
    from ray.exceptions import RayActorError, RayError, WorkerCrashedError

    token = uuid.uuid4().hex  # this sweep's stop applies to this sweep's runs only
    pending: deque[tuple[Job, int]] = deque((job, 1) for job in jobs)
    starting: dict[Any, Any] = {}  # ready() ref -> actor
    idle: deque[Any] = deque(kept)
    running: dict[Any, tuple[Any, Job, int]] = {}  # run ref -> (actor, job, attempt)
    everyone: list[Any] = list(kept)
    kept.clear()
    stopping = False
    start_error: BaseException | None = None
    waited_since = time.monotonic()

    def start_one() -> None:
        handle = new_actor()
        everyone.append(handle)
        starting[handle.ready.remote()] = handle

    for _ in range(n - len(idle)):
        start_one()
    try:
        while pending or running:
            if should_stop() and not stopping:
                stopping = True
                pending.clear()
                for handle, _job, _attempt in running.values():
                    handle.stop.remote(token)
            while pending and idle:
                job, attempt = pending.popleft()
                handle = idle.popleft()
                try:
                    ref = handle.run.remote(job_fn, job, refs[job.series_index], token)
                except Exception:  # a kept actor that is gone: the run waits for another
                    pending.appendleft((job, attempt))
                    start_one()
                    continue
                running[ref] = (handle, job, attempt)
            if running or idle:
                waited_since = time.monotonic()
            elif pending and (not starting or time.monotonic() - waited_since > START_SECONDS):
                why = NO_WORKER if start_error is None else could_not_start(start_error)
                while pending:  # every worker is gone and none could be started (again)
                    yield job_row(pending.popleft()[0], "failed", why)
                break
            ready, _ = ray.wait([*starting, *running], num_returns=1, timeout=0.25)
            for ref in ready:
                if ref in starting:
                    handle = starting.pop(ref)
                    try:
                        ray.get(ref)
                        idle.append(handle)
                    except RayError as exc:  # could not start; the others carry on
                        start_error = exc
                    continue
                handle, job, attempt = running.pop(ref)
                try:
                    row, data = ray.get(ref)
                except (RayActorError, WorkerCrashedError):
                    _end(ray, handle)
                    if not stopping:
                        start_one()
                    if attempt == 1 and not stopping:
                        pending.appendleft((job, 2))  # once more, on another worker
                    else:
                        why = DIED_TWICE if attempt > 1 else DIED
                        yield {**job_row(job, "failed", why), "attempts": attempt}
                    continue
                except RayError as exc:
                    idle.append(handle)
                    yield job_row(job, "failed", f"The Ray task failed: {type(exc).__name__}.")
                    continue
                idle.append(handle)
                if row["status"] == "ok":
                    row = receive(job.runs_root, {**row, "attempts": attempt}, data)
                yield row
        kept.extend(idle)  # a clean end: the idle ones can serve the next sweep
    finally:
        for handle in everyone:
            if handle not in kept:
                _end(ray, handle)
