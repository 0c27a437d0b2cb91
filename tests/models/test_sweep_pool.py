"""The local engine's warm pool: workers kept between sweeps, a dead one replaced, same numbers."""

from __future__ import annotations

import os

import pytest
import torch

from stockapp.core.progress import drain
from stockapp.core.runs import load_run
from stockapp.models import sweep_pool
from stockapp.models.sweep import DIED, run_job, run_sweep
from stockapp.models.sweep_pool import shutdown_pools, take_pool, warm_up
from tests.models.test_sweep import _request, _short, _with_seeds


@pytest.fixture(autouse=True)
def no_kept_pool():
    shutdown_pools()
    yield
    shutdown_pools()


def with_pid(job, series, should_stop=None):
    """The ordinary run, its row naming the worker process that ran it."""
    return {**run_job(job, series, should_stop), "pid": os.getpid()}


def dies_on_seed_1(job, series, should_stop=None):
    if job.seed == 1:
        os._exit(3)
    return with_pid(job, series, should_stop)


def with_threads(job, series, should_stop=None):
    """The ordinary run, its row naming the thread counts in force in its worker."""
    from threadpoolctl import threadpool_info

    blas = max((p["num_threads"] for p in threadpool_info()), default=0)
    return {**run_job(job, series, should_stop), "torch": torch.get_num_threads(), "blas": blas}


def test_each_worker_caps_numpy_s_blas_threads_as_well_as_torch_s(tmp_path):
    # Two workers on two cores get one thread each: torch's call alone left NumPy's OpenBLAS at
    # one thread per core in every worker, four spinning threads on two cores (issue 23).
    cores = sweep_pool.available_cores()
    req = _with_seeds(_request(), (0, 1))
    out = drain(run_sweep([_short()], req, tmp_path, workers=2, job_fn=with_threads))
    assert [r["status"] for r in out.rows] == ["ok"] * 2
    want = max(1, cores // 2)
    assert {(r["torch"], r["blas"]) for r in out.rows} <= {(want, want), (want, 0)}


def test_workers_are_started_once_and_kept_for_the_next_sweep(tmp_path):
    pids = set(warm_up(2))
    assert len(pids) == 2 and os.getpid() not in pids
    req = _with_seeds(_request(), (0, 1, 2))
    first = drain(run_sweep([_short()], req, tmp_path / "a", workers=2, job_fn=with_pid))
    second = drain(run_sweep([_short()], req, tmp_path / "b", workers=2, job_fn=with_pid))
    assert [r["status"] for r in first.rows + second.rows] == ["ok"] * 6
    assert {r["pid"] for r in first.rows + second.rows} <= pids  # no worker started again


def test_a_dead_worker_is_replaced_and_the_pool_kept_for_the_next_sweep(tmp_path):
    req = _with_seeds(_request(), (0, 1, 2))
    out = drain(run_sweep([_short()], req, tmp_path / "a", workers=2, job_fn=dies_on_seed_1))
    status = {r["seed"]: (r["status"], r["error"]) for r in out.rows}
    assert status == {0: ("ok", ""), 1: ("failed", DIED), 2: ("ok", "")}
    kept = take_pool(2, max(1, sweep_pool.available_cores() // 2))
    try:  # the broken pool was replaced, and its replacement works
        assert len(set(kept.start())) == 2
    finally:
        sweep_pool.give_back(kept)
    again = drain(run_sweep([_short()], req, tmp_path / "b", workers=2, job_fn=with_pid))
    assert [r["status"] for r in again.rows] == ["ok"] * 3


def test_the_local_engine_gives_the_sequential_loop_s_numbers(tmp_path):
    req = _with_seeds(_request(hidden=[4, 8]), (0, 1))
    local = drain(run_sweep([_short()], req, tmp_path / "local", workers=2))
    threads = torch.get_num_threads()
    cores = sweep_pool.available_cores()
    torch.set_num_threads(max(1, cores // 2))  # what each of the 2 workers gets
    try:
        inline = drain(run_sweep([_short()], req, tmp_path / "inline", engine="inline"))
    finally:
        torch.set_num_threads(threads)
    assert [r["key"] for r in local.rows] == [r["key"] for r in inline.rows]
    for column in ("rmse", "rmse_ratio", "selection_rmse_ratio", "dm_pvalue"):
        assert [r[column] for r in local.rows] == [r[column] for r in inline.rows], column
    assert local.summary["series"] == inline.summary["series"]


@pytest.mark.parametrize("other_thread", [False, True], ids=["forked", "forkserver"])
def test_a_sweep_forks_its_workers_only_from_a_process_with_no_other_thread(
    tmp_path, other_thread, monkeypatch
):
    # Issue 23: `stockapp sweep` (one thread) forks its workers, which start with its imports;
    # a process with another thread (the window's job thread here) keeps the forkserver.
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        pytest.skip("fork is used on Linux only")
    monkeypatch.delenv("STOCKAPP_SWEEP_FORK", raising=False)
    workers = 2
    threads = max(1, sweep_pool.available_cores() // workers)
    assert threading.active_count() == 1  # pytest's main thread alone
    release = threading.Event()
    helper = threading.Thread(target=release.wait)
    if other_thread:
        helper.start()
    try:
        req = _with_seeds(_request(), (0, 1))
        out = drain(run_sweep([_short()], req, tmp_path / "a", workers=workers, job_fn=with_pid))
    finally:
        release.set()
        if other_thread:
            helper.join()
    kept = take_pool(workers, threads)
    try:
        forked = threads == 1 and not other_thread
        assert kept.start_method == ("fork" if forked else "forkserver")
        assert [r["status"] for r in out.rows] == ["ok", "ok"]
        assert {r["pid"] for r in out.rows} <= set(kept.start())  # ran in the kept workers
    finally:
        sweep_pool.give_back(kept)


def test_fork_is_refused_where_it_is_not_safe(monkeypatch):
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("fork is used on Linux only")
    monkeypatch.delenv("STOCKAPP_SWEEP_FORK", raising=False)
    assert sweep_pool.fork_is_safe(1)
    assert not sweep_pool.fork_is_safe(2)  # a child would use an OpenMP pool its parent used
    monkeypatch.setenv("STOCKAPP_SWEEP_FORK", "0")
    assert not sweep_pool.fork_is_safe(1)


def test_a_stop_leaves_the_workers_ready_for_the_next_sweep(tmp_path):
    req = _with_seeds(_request(), (0, 1, 2, 3))
    seen: list = []
    job = run_sweep([_short()], req, tmp_path / "a", workers=2, should_stop=lambda: bool(seen))
    assert drain(job, seen.append).stopped
    again = drain(run_sweep([_short()], req, tmp_path / "b", workers=2))
    assert not again.stopped and [r["status"] for r in again.rows] == ["ok"] * 4


def test_the_other_series_travel_with_each_run_to_the_workers(tmp_path):
    """Issue 24: the inputs, loaded once here, reach every worker; same numbers as inline."""
    from dataclasses import replace

    from stockapp.data import load_sample
    from stockapp.session.inputs import covariate_of

    spy = covariate_of(load_sample("SPY"), ("return", "range"), True)
    req = replace(_with_seeds(_request(), (0, 1)), covariates=(spy,), calendar=("dow",))
    local = drain(run_sweep([_short()], req, tmp_path / "local", workers=2))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, sweep_pool.available_cores() // 2))  # as each worker has
    try:
        inline = drain(run_sweep([_short()], req, tmp_path / "inline", engine="inline"))
    finally:
        torch.set_num_threads(threads)
    assert [r["status"] for r in local.rows] == ["ok"] * 2
    assert [r["rmse"] for r in local.rows] == [r["rmse"] for r in inline.rows]
    for row in local.rows:
        _, manifest = load_run(tmp_path / "local" / "runs" / row["key"])
        assert [c["name"] for c in manifest.covariates] == ["SPY"]
    assert local.summary["inputs"]["calendar"] == ["dow"]
