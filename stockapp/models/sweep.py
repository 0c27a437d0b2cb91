"""The sweep job: many backtests (series x configuration x seed), resumable, on worker processes.

:func:`run_sweep` is a generator like every long job here: it yields a :class:`SweepProgress`
after each finished run (a cancellation point) and returns a :class:`SweepOutcome`. Each run is
:func:`run_job`: one ordinary :func:`~stockapp.models.runner.run_backtest` whose run folder is
written atomically under ``<out>/runs/<key>/`` (see :mod:`stockapp.core.sweep_plan`). The same
job function runs in this process (``engine="inline"``), in local worker processes
(``"local"``) or as Ray tasks (``"ray"``, :mod:`stockapp.models.sweep_ray`).

The local engine uses ``spawn``ed worker processes, each given the price series once (at start)
and ``max(1, cores // workers)`` torch threads. A worker that dies (killed, out of memory) breaks
the pool; the runs it held are rerun one at a time in a fresh pool, so only the run that kills
its worker again is failed, with a sentence in its row, and the sweep goes on.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import stockapp
from stockapp.core.features import FeatureSpec
from stockapp.core.metrics import dm_variance
from stockapp.core.runs import write_json
from stockapp.core.selection import add_holm, span_dm_fields, summarise_series
from stockapp.core.sweep_plan import (
    RunsFolder,
    Spans,
    config_label,
    expand_grid,
    plan_spans,
    run_key,
    split_settings,
    varied_settings,
    write_results_csv,
)
from stockapp.core.trading import TradingRule, periods_per_year
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError
from stockapp.models.sweep_job import DIED, Job, JobFn, job_row, run_job
from stockapp.models.trainer import TrainConfig

ENGINES = ("local", "ray", "inline")


@dataclass(frozen=True)
class SweepRequest:
    """What to try: a grid over settings, seeds, and the settings common to every run.

    ``grid`` maps a setting name (``model``, ``window``, ``hidden``, ``layers``, ``dropout``,
    ``lr``, ``epochs``, ``target``, ``features``, ``refit_every``...) to the values to try.
    """

    grid: dict[str, list]
    seeds: tuple[int, ...] = (0,)
    spec: FeatureSpec = field(default_factory=FeatureSpec)
    train: TrainConfig = field(default_factory=TrainConfig)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    test_fraction: float = 0.2
    # The selection span just before the test span; as long as the test span by default so the
    # choice is made on as much evidence as the score it is judged by.
    selection_fraction: float = 0.2
    # The configurations to try, when a search drew them (stockapp.core.sweep_search) instead of
    # the grid's every combination; ``search`` describes how, for summary.json.
    configs: tuple[dict, ...] | None = None
    search: dict | None = None


@dataclass
class SweepPlan:
    jobs: list[Job]
    spans: list[Spans]
    labels: dict[str, str]  # config_id -> label naming the settings that vary


@dataclass(frozen=True)
class SweepProgress:
    """After each run: ``done`` of ``total`` (finished earlier counted as done), ETA seconds."""

    done: int
    total: int
    skipped: int
    eta_seconds: float | None
    latest: dict | None


@dataclass
class SweepOutcome:
    rows: list[dict]
    summary: dict
    total: int
    stopped: bool
    # Runs this call trained to the end and scored; failed runs and runs finished earlier (skipped
    # on resuming) are not counted.
    trained: int

    @property
    def verdicts(self) -> list[str]:
        return [s["verdict"] for s in self.summary["series"]]


def plan_sweep(series_list: Sequence[Any], request: SweepRequest, out: Path) -> SweepPlan:
    """Expand the grid into jobs, checking every configuration before anything trains."""
    if not series_list:
        raise StockappError("Give at least one price series to sweep.")
    if not request.seeds:
        raise StockappError("Give at least one seed.")
    configs = expand_grid(request.grid) if request.configs is None else list(request.configs)
    varied = varied_settings(configs)
    base_bt = request.backtest.to_dict()
    base_bt.pop("rolling_applied", None)
    labels: dict[str, str] = {}
    jobs: list[Job] = []
    spans_all = []
    root = str(Path(out) / "runs")
    for index, series in enumerate(series_list):
        spans = plan_spans(series.dates, request.test_fraction, request.selection_fraction)
        spans_all.append(spans)
        for config in configs:
            spec_d, train_d, bt_d = split_settings(
                config, request.spec.to_dict(), request.train.to_dict(), base_bt
            )
            bt_d["test_start"] = spans.selection_from
            spec = FeatureSpec.from_dict(spec_d)  # one-sentence errors for bad values
            spec.check_columns(series.prices(spec.adjusted).columns)
            TrainConfig.from_dict(train_d)
            BacktestSettings.from_dict(bt_d)
            cid = json.dumps(config, sort_keys=True)
            labels[cid] = config_label({**train_d, **spec_d, **bt_d}, varied)
            for seed in request.seeds:
                train_seed = {**train_d, "seed": int(seed)}
                key = run_key(
                    series.fingerprint, spec_d, train_seed, bt_d, int(seed), stockapp.__version__
                )
                jobs.append(
                    Job(
                        key,
                        index,
                        series.name,
                        cid,
                        config,
                        spec_d,
                        train_seed,
                        bt_d,
                        int(seed),
                        spans.selection_bars,
                        root,
                    )
                )
    return SweepPlan(jobs, spans_all, labels)


# -- engines -------------------------------------------------------------------------------


def inline_engine(
    jobs: list[Job], series_list: Sequence[Any], job_fn: JobFn, should_stop: Callable[[], bool]
) -> Iterator[dict]:
    """One run after another in this process (tests, benchmarks, a single worker)."""
    for job in jobs:
        if should_stop():
            return
        yield job_fn(job, series_list[job.series_index], should_stop)


_WORKER: dict = {}


def _init_worker(series_list: Sequence[Any], threads: int, stop_event: Any) -> None:
    import signal

    import torch

    # Ctrl+C reaches the whole process group: the parent alone handles it and sets the stop
    # event, which the runs in flight read at their next progress point.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    _WORKER["series"] = series_list
    _WORKER["stop"] = stop_event


def _worker_run(job_fn: JobFn, job: Job) -> dict:
    stop = _WORKER["stop"]
    return job_fn(job, _WORKER["series"][job.series_index], stop.is_set)


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


def local_engine(
    jobs: list[Job],
    series_list: Sequence[Any],
    job_fn: JobFn,
    should_stop: Callable[[], bool],
    workers: int | None = None,
) -> Iterator[dict]:
    """Runs in ``workers`` spawned processes, yielded as they finish."""
    cores = available_cores()
    workers = max(1, min(workers or default_workers(cores), len(jobs) or 1))
    threads = max(1, cores // workers)
    ctx = mp.get_context("spawn")
    stop_event = ctx.Event()
    pending: deque[Job] = deque(jobs)
    suspects: deque[Job] = deque()  # held by a worker that died: rerun one at a time
    in_flight: dict[Future, tuple[Job, bool]] = {}
    pool: ProcessPoolExecutor | None = None
    try:
        while pending or suspects or in_flight:
            if should_stop():
                stop_event.set()
                pending.clear()
                suspects.clear()
            if pool is None and (pending or suspects):
                pool = ProcessPoolExecutor(
                    workers,
                    mp_context=ctx,
                    initializer=_init_worker,
                    initargs=(list(series_list), threads, stop_event),
                )
            if pool is not None and not in_flight and suspects:
                job = suspects.popleft()
                in_flight[pool.submit(_worker_run, job_fn, job)] = (job, True)
            while pool is not None and not suspects and pending and len(in_flight) < workers:
                job = pending.popleft()
                in_flight[pool.submit(_worker_run, job_fn, job)] = (job, False)
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
                yield row
            if broken:  # every run the pool held fails with it: find the one that killed it
                for fut, (job, alone) in in_flight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        yield fut.result()
                    elif alone:
                        yield job_row(job, "failed", DIED)
                    else:
                        suspects.append(job)
                in_flight.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = None
    finally:
        stop_event.set()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# -- the sweep -----------------------------------------------------------------------------


def run_sweep(
    series_list: Sequence[Any],
    request: SweepRequest,
    out: Path,
    engine: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    should_stop: Callable[[], bool] | None = None,
    job_fn: JobFn = run_job,
) -> Generator[SweepProgress, None, SweepOutcome]:
    """Run (or resume) a sweep into ``out``; yields progress, returns the outcome.

    Runs already finished in ``out/runs`` are skipped; half-written ones are deleted unread.
    ``results.csv`` and ``summary.json`` are rewritten at the end from every finished run,
    also when stopped early (then over the runs that finished).
    """
    if engine not in ENGINES:
        raise StockappError(f"Unknown engine '{engine}'; use local or ray.")
    if workers is not None and workers < 1:
        raise StockappError(f"The number of workers must be at least 1, not {workers}.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StockappError(f"{out} is a file; give a folder for the sweep.")
    plan = plan_sweep(series_list, request, out)
    runs = RunsFolder(out / "runs")
    runs.clean_partials()
    stop = should_stop or (lambda: False)
    rows: dict[str, dict] = {}
    todo = []
    for job in plan.jobs:
        row = runs.finished_row(job.key)
        if row is not None:
            rows[job.key] = row
        else:
            todo.append(job)
    total, skipped = len(plan.jobs), len(rows)
    started = time.perf_counter()
    ran = trained = 0  # runs that came back this call; those of them that finished
    if engine == "inline" or (engine == "local" and workers == 1):
        stream = inline_engine(todo, series_list, job_fn, stop)
    elif engine == "local":
        stream = local_engine(todo, series_list, job_fn, stop, workers)
    else:
        from stockapp.models.sweep_ray import ray_engine

        stream = ray_engine(todo, series_list, job_fn, stop, ray_address, workers)
    try:
        for row in stream:
            if row["status"] == "cancelled":
                continue
            ran += 1
            trained += row["status"] == "ok"
            rows[row["key"]] = row
            elapsed = time.perf_counter() - started
            left = total - len(rows)
            eta = elapsed / ran * left
            yield SweepProgress(len(rows), total, skipped, eta, row)
    finally:
        stream.close()
    ordered = [rows[j.key] for j in plan.jobs if j.key in rows]
    summary = finish_sweep(out, ordered, plan, series_list, request)
    return SweepOutcome(ordered, summary, total, len(ordered) < total, trained)


def finish_sweep(
    out: Path, rows: list[dict], plan: SweepPlan, series_list: Sequence[Any], request: SweepRequest
) -> dict:
    """Test, Holm-adjust, write ``results.csv`` and ``summary.json``; the summary.

    Every finished run's test-span Diebold-Mariano fields are recomputed from its
    ``forecasts.csv`` first, so runs finished by an earlier stockapp (skipped on resume) are
    tested, signed and adjusted like the new ones.
    """
    selection_bars = {s.name: plan.spans[i].selection_bars for i, s in enumerate(series_list)}
    read = {r["key"]: _read_forecasts(out / "runs" / r["key"]) for r in rows if r["status"] == "ok"}
    for row in rows:
        if row["status"] == "ok":
            f, n_sel = read[row["key"]], selection_bars[row["series"]]
            row.update(
                span_dm_fields(f["realised"][n_sel:], f["forecast"][n_sel:], f["naive"][n_sel:])
            )
    add_holm(rows)
    write_results_csv(out / "results.csv", rows)
    rule: TradingRule = request.backtest.rule
    per_series = []
    for index, series in enumerate(series_list):
        spans = plan.spans[index]
        mine = [r for r in rows if r["series"] == series.name and r["status"] == "ok"]
        failed = [r for r in rows if r["series"] == series.name and r["status"] != "ok"]
        if not mine:
            per_series.append(
                {
                    "series": series.name,
                    "runs": 0,
                    "failed": len(failed),
                    "verdict": f"No run on {series.name} finished, so nothing can be chosen.",
                }
            )
            continue
        forecasts = {r["key"]: read[r["key"]] for r in mine}
        ppy = periods_per_year(series.dates)
        entry = summarise_series(
            series.name,
            mine,
            forecasts,
            spans.selection_bars,
            spans.describe(),
            rule,
            ppy,
            plan.labels,
        )
        entry["failed"] = len(failed)
        entry["selection_span"] = spans.to_dict()
        per_series.append(entry)
    summary = {
        "stockapp": stockapp.__version__,
        "grid": request.grid,
        **({"search": request.search} if request.search else {}),
        "seeds": list(request.seeds),
        "runs_total": len(plan.jobs),
        "runs_finished": sum(r["status"] == "ok" for r in rows),
        "runs_failed": sum(r["status"] == "failed" for r in rows),
        "method": (
            "Each run is one walk-forward backtest over the selection span and the test span "
            "after it; configurations are ranked by their mean RMSE/persistence over seeds on "
            "the selection span only, and the chosen one is scored on the test span. Verdicts: "
            "one-sided Diebold-Mariano tests of each run's and each configuration's seed "
            "ensemble's squared errors against persistence on the test span, Holm-adjusted "
            "within the series (better / worse / tie at 5%). SPA: Hansen's studentised test "
            "(consistent p-value, arch's stationary bootstrap with Politis-White block length) "
            "on the same squared errors, studentised by the same long-run variance."
        ),
        "dm_variance": dm_variance(),
        "series": per_series,
    }
    write_json(out / "summary.json", summary)
    return summary


def _read_forecasts(folder: Path) -> dict[str, np.ndarray]:
    table = pd.read_csv(folder / "forecasts.csv", usecols=["realised", "forecast", "naive"])
    return {c: table[c].to_numpy(np.float64) for c in ("realised", "forecast", "naive")}
