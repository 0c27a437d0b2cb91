"""A real two-node Ray cluster on this machine: ``stockapp sweep --engine ray --ray-address``.

Two ``ray start`` nodes of one CPU each on loopback (their own ``RAY_TMPDIR``, stopped with
``ray stop --force`` at the end), a sweep from the command line that joins them, one actor
process killed while it trains a run: every run comes back once, with the local engine's
numbers, and the summary counts the retry. Slow (about a minute), run by CI all the same.

The cluster is stopped by killing the processes started with its ``RAY_TMPDIR``, not with
``ray stop --force``, which stops every Ray on the machine.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install 'stockapp[ray]'")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_of(ray_tmpdir: str) -> list[int]:
    """Process ids of the cluster whose processes have ``RAY_TMPDIR=ray_tmpdir``."""
    mark = f"RAY_TMPDIR={ray_tmpdir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and mark in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _stop(ray_tmpdir: str) -> None:
    """``ray stop --force`` for this cluster only: that command kills every Ray process of the
    machine (by name), also other people's; this kills those started with this cluster's
    ``RAY_TMPDIR``."""
    for _ in range(3):  # a raylet may start a worker while the others are being killed
        for pid in _processes_of(ray_tmpdir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster():
    """``(address, env)`` of a head and a second node, one CPU each; stopped afterwards."""
    # A short folder: Ray's socket paths under it must stay within 107 characters.
    tmp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")
    env = {
        **os.environ,
        "RAY_TMPDIR": tmp,
        "RAY_USAGE_STATS_ENABLED": "0",
        # Token authentication, as a real cluster keeps it, with this cluster's own token
        # (not ~/.ray/auth_token); every node and the driver must present it.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        # stockapp as in this checkout on every node (a real cluster installs it on each).
        "PYTHONPATH": str(ROOT),
    }
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    try:
        for args in (
            ["--head", "--port", str(port), "--include-dashboard", "false"],
            ["--address", address],
        ):
            started = subprocess.run(
                [str(RAY), "start", *args, *common],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        yield address, env
    finally:
        _stop(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def _sweep(csv_path: Path, out: Path, *engine: str, env: dict) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "stockapp", "sweep", "--csv", str(csv_path), "--model", "gru",
        "--hidden", "16", "--window", "10", "--layers", "1", "--dropout", "0", "--lr", "0.01",
        "--refit-every", "0", "--epochs", "20", "--patience", "0", "--seeds", "0-3",
        "--device", "cpu", "--quiet", "--out", str(out), *engine,
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _actors_running_a_run(ray_tmpdir: str) -> list[int]:
    """Process ids of this cluster's sweep actors busy with a run (by process title)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::RunWorker.run") and f"RAY_TMPDIR={ray_tmpdir}".encode() in (
            environ.split(b"\0")
        ):
            found.append(int(proc.name))
    return found


def _rows(folder: Path) -> dict[str, dict]:
    with open(folder / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len({r["key"] for r in rows}) == len(rows)  # no run twice
    return {r["key"]: r for r in rows}


def test_a_sweep_joins_a_two_node_cluster_and_survives_a_killed_actor(tmp_path, cluster):
    address, env = cluster
    from stockapp.data import load_sample

    data = tmp_path / "aapl.csv"
    load_sample("AAPL").frame.iloc[-300:].to_csv(data)
    ray_sweep = _sweep(data, tmp_path / "ray", "--engine", "ray", "--ray-address", address, env=env)
    killed = None
    try:
        deadline = time.monotonic() + 240
        while ray_sweep.poll() is None and time.monotonic() < deadline:
            busy = _actors_running_a_run(env["RAY_TMPDIR"])
            if busy and killed is None:
                time.sleep(0.5)  # mid-run
                killed = busy[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.1)
        output = ray_sweep.communicate(timeout=10)[0].decode(errors="replace")
    finally:
        if ray_sweep.poll() is None:
            ray_sweep.kill()
    assert ray_sweep.returncode == 0, output
    assert killed is not None
    local = _sweep(data, tmp_path / "local", "--engine", "local", "--workers", "2", env=env)
    local_output = local.communicate(timeout=240)[0].decode(errors="replace")
    assert local.returncode == 0, local_output

    by_ray, by_local = _rows(tmp_path / "ray"), _rows(tmp_path / "local")
    assert len(by_ray) == 4 and sorted(by_ray) == sorted(by_local)  # none lost
    assert {r["status"] for r in by_ray.values()} == {"ok"}
    for key, row in by_ray.items():
        for column in ("rmse", "rmse_ratio", "selection_rmse_ratio", "dm_pvalue"):
            assert float(row[column]) == float(by_local[key][column]), column
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["runs_retried"] == 1 and summary["runs_failed"] == 0
    assert summary["engine_note"] == (
        "1 run(s) lost their worker and were run once more (1 finished)."
    )
    runs = sorted(p.name for p in (tmp_path / "ray" / "runs").iterdir())
    assert runs == sorted(by_ray)  # every run came back whole, and nothing half-written stayed
