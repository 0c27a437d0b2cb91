"""The Ray engine: joining is bounded, runs come back as bytes, a dead actor's run is retried."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import torch

from stockapp.core.progress import drain
from stockapp.core.ray_address import ray_endpoint
from stockapp.core.sweep_plan import ROW_FILE
from stockapp.errors import StockappError
from stockapp.models import sweep_ray
from stockapp.models.sweep import run_job, run_sweep
from stockapp.models.sweep_actor import pack, receive
from stockapp.models.sweep_job import DIED_TWICE
from stockapp.models.sweep_ray import join, probe
from tests.models.test_sweep import _request, _short, _with_seeds


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_addresses_name_the_host_and_port_ray_connects_to():
    assert ray_endpoint("127.0.0.1:6379") == ("127.0.0.1", 6379)
    assert ray_endpoint(" head.example:6380 ") == ("head.example", 6380)
    assert ray_endpoint("ray://head:10002") == ("head", 10002)
    assert ray_endpoint("ray://head") == ("head", 10001)
    assert ray_endpoint("[::1]:6379") == ("::1", 6379)
    assert ray_endpoint("auto") is None and ray_endpoint("local") is None
    assert ray_endpoint("head") is None  # Ray finds the port itself
    for bad in ("127.0.0.1:port", "127.0.0.1:0", "127.0.0.1:70000", ":6379"):
        with pytest.raises(StockappError, match="is not host:port"):
            ray_endpoint(bad)


def test_nothing_listening_is_one_sentence_at_once():
    address = f"127.0.0.1:{_closed_port()}"
    started = time.perf_counter()
    with pytest.raises(StockappError) as caught:
        probe(address)
    assert time.perf_counter() - started < 2.0
    text = str(caught.value)
    assert text.startswith(f"No Ray cluster answers at {address} (connection refused); ")
    assert "\n" not in text


def test_a_listener_that_is_not_ray_is_given_up_on_after_the_timeout():
    calls = []
    release = threading.Event()

    class StuckRay:  # a ray.init that retries for minutes, as it does against a non-Ray port
        @staticmethod
        def init(**kwargs):
            calls.append(kwargs)
            release.wait(10)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        probe(address)  # something answers
        started = time.perf_counter()
        try:
            with pytest.raises(StockappError, match="no Ray cluster joined within 0.5 s"):
                join(StuckRay, address, timeout=0.5)
            assert time.perf_counter() - started < 2.0
            assert calls == [{"address": address, "log_to_driver": False, "logging_level": 40}]
            # while that attempt still waits, another one is refused rather than stacked
            with pytest.raises(StockappError, match="earlier attempt .* is still waiting"):
                join(StuckRay, address, timeout=0.5)
        finally:
            release.set()
            sweep_ray._JOINING.pop(address).join(5)


def test_a_failed_join_raises_ray_s_own_error():
    class RefusingRay:
        @staticmethod
        def init(**kwargs):
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:1")

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with pytest.raises(ConnectionError, match="Failed to connect"):
            join(RefusingRay, f"127.0.0.1:{server.getsockname()[1]}", timeout=5)


def test_a_run_folder_travels_as_bytes_and_lands_whole(tmp_path):
    run = tmp_path / "there" / "key1"
    (run / "model").mkdir(parents=True)
    (run / "forecasts.csv").write_text("a,b\n1,2\n")
    (run / "model" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    data = pack(run)
    row = {"key": "key1", "status": "ok"}
    receive(tmp_path / "here", row, data)
    landed = tmp_path / "here" / "key1"
    assert (landed / "forecasts.csv").read_text() == "a,b\n1,2\n"
    assert (landed / "model" / "weights.bin").read_bytes() == bytes(range(256)) * 10
    assert json.loads((landed / ROW_FILE).read_text()) == row
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == ["key1"]  # no partial left


def test_a_packed_run_cannot_write_outside_its_folder(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="unexpected entry"):
        receive(tmp_path / "runs", {"key": "k", "status": "ok"}, buffer.getvalue())
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "runs").iterdir()) == []


def dies_once_then_always(marks, job, series, should_stop=None):
    """Seed 1 kills its worker the first time only; seed 2 every time (files mark the tries)."""
    marker = Path(marks) / f"seed{job.seed}"
    if job.seed == 2 or (job.seed == 1 and not marker.exists()):
        marker.touch()
        os._exit(3)
    return run_job(job, series, should_stop)


def test_a_dead_actor_s_run_is_retried_once_and_never_doubled(tmp_path, local_ray):
    marks = tmp_path / "marks"
    marks.mkdir()
    req = _with_seeds(_request(), (0, 1, 2, 3))
    job_fn = partial(dies_once_then_always, str(marks))
    out = drain(run_sweep([_short()], req, tmp_path / "s", engine="ray", job_fn=job_fn))
    by_seed = {r["seed"]: r for r in out.rows}
    assert [r["seed"] for r in out.rows] == [0, 1, 2, 3]  # one row each, none lost or doubled
    assert {s: r["status"] for s, r in by_seed.items()} == {0: "ok", 1: "ok", 2: "failed", 3: "ok"}
    assert by_seed[1]["attempts"] == 2 and by_seed[0]["attempts"] == 1
    assert by_seed[2]["error"] == DIED_TWICE
    assert out.summary["runs_retried"] == 2 and out.summary["runs_failed"] == 1
    assert out.summary["engine_note"] == (
        "2 run(s) lost their worker and were run once more (1 finished); "
        "1 run(s) failed because their worker died."
    )
    finished = sorted(p.name for p in (tmp_path / "s" / "runs").iterdir())
    assert finished == sorted(r["key"] for r in out.rows if r["status"] == "ok")
    assert (
        json.loads((tmp_path / "s" / "runs" / by_seed[1]["key"] / ROW_FILE).read_text())["attempts"]
        == 2
    )


def with_pid(job, series, should_stop=None):
    return {**run_job(job, series, should_stop), "pid": os.getpid()}


def with_threads(job, series, should_stop=None):
    from threadpoolctl import threadpool_info

    blas = max((p["num_threads"] for p in threadpool_info()), default=0)
    return {**run_job(job, series, should_stop), "torch": torch.get_num_threads(), "blas": blas}


def test_each_actor_caps_numpy_s_blas_threads_as_well_as_torch_s(tmp_path, local_ray):
    req = _with_seeds(_request(), (0, 1))
    sweep_ray.release_actors()
    try:
        out = drain(
            run_sweep([_short()], req, tmp_path, engine="ray", workers=2, job_fn=with_threads)
        )
    finally:
        sweep_ray.release_actors()
    assert [r["status"] for r in out.rows] == ["ok"] * 2
    assert {(r["torch"], r["blas"]) for r in out.rows} <= {(1, 1), (1, 0)}


def test_actors_are_kept_for_the_next_sweep_while_ray_outlives_it(tmp_path, local_ray):
    req = _with_seeds(_request(), (0, 1))
    sweep_ray.release_actors()
    try:
        first = drain(run_sweep([_short()], req, tmp_path / "a", engine="ray", job_fn=with_pid))
        second = drain(run_sweep([_short()], req, tmp_path / "b", engine="ray", job_fn=with_pid))
        assert [r["status"] for r in first.rows + second.rows] == ["ok"] * 4
        assert {r["pid"] for r in second.rows} <= {r["pid"] for r in first.rows}
        # the ready ones (an actor still starting when the last run ended is ended)
        assert 1 <= sum(len(v) for v in sweep_ray._KEPT.values()) <= 2
    finally:
        sweep_ray.release_actors()
    assert sweep_ray._KEPT == {}


def test_stopping_the_ray_engine_keeps_whole_runs_only(tmp_path, local_ray):
    req = _with_seeds(_request(), (0, 1, 2, 3))
    seen: list = []
    job = run_sweep([_short()], req, tmp_path, engine="ray", should_stop=lambda: bool(seen))
    outcome = drain(job, seen.append)
    assert outcome.stopped and 1 <= outcome.trained <= 2  # the runs not started never start
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == sorted(r["key"] for r in outcome.rows)  # nothing half-written left
    # the actors kept are not stopped for the next sweep: the stop was this sweep's only
    again = drain(run_sweep([_short()], req, tmp_path, engine="ray"))
    assert not again.stopped and again.trained == 4 - outcome.trained
    sweep_ray.release_actors()


def test_a_worker_that_cannot_start_is_one_sentence_naming_why():
    report = (
        "The actor died because of an error raised in its creation task, \x1b[36mray::"
        "RunWorker.__init__()\x1b[39m (pid=1)\n  ^^^^\nModuleNotFoundError: No module named "
        "'stockapp.models.sweep_actor'\n"
    )
    assert sweep_ray.could_not_start(RuntimeError(report)) == (
        "No Ray worker could start (ModuleNotFoundError: No module named "
        "'stockapp.models.sweep_actor'); install the same stockapp, with its dependencies, on "
        "every machine of the cluster."
    )


def test_the_other_series_travel_with_the_prices_to_the_actors(tmp_path, local_ray):
    """Issue 24: the inputs go once into the object store with each series; inline's numbers."""
    from dataclasses import replace

    from stockapp.data import load_sample
    from stockapp.session.inputs import covariate_of

    spy = covariate_of(load_sample("SPY"), ("return",), True)
    req = replace(_request(), covariates=(spy,), calendar=("month",))
    out = drain(run_sweep([_short()], req, tmp_path / "ray", engine="ray", workers=1))
    inline = drain(run_sweep([_short()], req, tmp_path / "inline", engine="inline"))
    assert [r["status"] for r in out.rows] == ["ok"]
    assert [r["key"] for r in out.rows] == [r["key"] for r in inline.rows]
    manifest = json.loads(
        (tmp_path / "ray" / "runs" / out.rows[0]["key"] / "manifest.json").read_text()
    )
    assert manifest["covariates"][0]["name"] == "SPY" and manifest["calendar"] == ["month"]
