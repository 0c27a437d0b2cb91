"""A long-lived worker of a Ray sweep, and a run folder sent back to the driver as bytes.

Plain Python, no ``ray`` import: :mod:`stockapp.models.sweep_ray` makes :class:`RunWorker` a Ray
actor (``ray.remote(RunWorker)``). Each actor imports PyTorch once, in its constructor, and runs
one run after another. The machines of a cluster share no folder, so an actor writes each run
into a temporary folder of its own machine and returns it packed (:func:`pack`, an uncompressed
tar: the weights do not compress); the driver unpacks it under ``<sweep>/runs/`` and renames it
into place in one step (:func:`receive`, through :meth:`RunsFolder.commit
<stockapp.core.sweep_plan.RunsFolder.commit>`), so a run is either whole in the sweep folder or
absent.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from stockapp.core.sweep_plan import RunsFolder
from stockapp.models.sweep_job import Job, JobFn


def pack(folder: Path) -> bytes:
    """``folder``'s files as tar bytes (names relative to it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(Path(folder).rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> None:
    """Write the files of :func:`pack`'s bytes into ``folder`` (plain files and folders only)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = tar.getmembers()
        for member in members:
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise ValueError(f"unexpected entry {member.name!r} in a run sent back")
        # Python >= 3.11.4 checks the entries itself too (and warns from 3.12 without a filter)
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(folder, members=members, **safe)


def receive(runs_root: str | Path, row: dict, data: bytes) -> dict:
    """Write a run sent back by a worker into ``runs_root/<key>`` atomically; its row."""
    runs = RunsFolder(Path(runs_root))
    partial = runs.partial(row["key"])
    try:
        unpack(data, partial)
        runs.commit(partial, row["key"], row)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return row


class RunWorker:
    """Runs one sweep run after another in one process; PyTorch is imported once, here."""

    def __init__(self, threads: int) -> None:
        import stockapp.models.runner  # noqa: F401  the run's imports, paid once per worker
        from stockapp.models.threads import limit_worker_threads

        limit_worker_threads(threads)  # torch's and NumPy's BLAS alike, as the local workers
        self._stopped: set[str] = set()

    def ready(self) -> tuple[str, int]:
        """The machine and process this worker runs on."""
        return socket.gethostname(), os.getpid()

    def stop(self, token: str) -> None:
        """Stop the runs of the sweep ``token`` at their next progress point (called while
        :meth:`run` runs: the actor runs two calls at a time)."""
        self._stopped.add(token)

    def run(self, job_fn: JobFn, job: Job, series: Any, token: str = "") -> tuple[dict, bytes]:
        """The run's row and, when it finished, its folder as :func:`pack` bytes."""
        with tempfile.TemporaryDirectory(prefix="stockapp-run-") as tmp:
            row = job_fn(replace(job, runs_root=tmp), series, lambda: token in self._stopped)
            folder = Path(tmp) / job.key
            data = pack(folder) if row.get("status") == "ok" and folder.is_dir() else b""
        return row, data
