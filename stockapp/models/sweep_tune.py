"""A sweep over a searched set of configurations: grid, random or TPE (``stockapp sweep
--search``), on the sweep job of :mod:`stockapp.models.sweep`.

Grid and random search know their configurations before anything trains, so they are one
ordinary sweep over that list. TPE learns from the runs: it asks for as many configurations as
there are workers, runs them as one sweep call, tells each its selection-span score
(:func:`~stockapp.core.sweep_search.selection_objective`), and asks again, until ``trials``
configurations have run. Each call passes every configuration so far, so the runs of earlier
rounds are read back, not retrained, and the final ``results.csv`` and ``summary.json`` cover
every trial: each is counted in Holm, SPA and the verdict. Rerunning the same command resumes:
the seeded sampler is told the same scores and proposes the same configurations, whose runs are
on disk already.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from stockapp.core.sweep_search import (
    ATTEMPTS_PER_TRIAL,
    Search,
    Space,
    config_id,
    random_trials,
    selection_objective,
    space_to_json,
)
from stockapp.models.sweep import (
    SweepOutcome,
    SweepProgress,
    SweepRequest,
    default_workers,
    run_job,
    run_sweep,
)
from stockapp.models.sweep_job import JobFn


def searched_request(request: SweepRequest, space: Space, search: Search) -> SweepRequest:
    """The request a grid or random search runs (its configurations fixed in advance)."""
    search.check(space)
    if search.method == "grid":
        return replace(request, grid={k: list(v) for k, v in space.items()}, configs=None)
    configs = random_trials(space, int(search.trials or 0), search.seed)
    return replace(
        request, grid=space_to_json(space), configs=tuple(configs), search=search.to_dict(space)
    )


def run_search(
    series_list: Sequence[Any],
    request: SweepRequest,
    space: Space,
    search: Search,
    out: Path,
    engine: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    should_stop: Callable[[], bool] | None = None,
    job_fn: JobFn = run_job,
) -> Generator[SweepProgress, None, SweepOutcome]:
    """Run (or resume) a searched sweep into ``out``; yields progress, returns the outcome."""
    options = {
        "engine": engine,
        "workers": workers,
        "ray_address": ray_address,
        "should_stop": should_stop,
        "job_fn": job_fn,
    }
    if search.method != "tpe":
        planned = searched_request(request, space, search)
        return (yield from run_sweep(series_list, planned, out, **options))
    return (yield from _run_tpe(series_list, request, space, search, out, options))


def _run_tpe(
    series_list: Sequence[Any],
    request: SweepRequest,
    space: Space,
    search: Search,
    out: Path,
    options: dict,
) -> Generator[SweepProgress, None, SweepOutcome]:
    from stockapp.core.sweep_tpe import TpeSearch

    search.check(space)
    trials = int(search.trials or 0)
    if options["engine"] == "inline" or options["workers"] == 1:
        batch = 1
    else:
        batch = options["workers"] or default_workers()
    sampler = TpeSearch(space, search.seed, search.startup_trials)
    base = replace(request, grid=space_to_json(space), search=search.to_dict(space))
    stop = options["should_stop"] or (lambda: False)
    total = trials * len(request.seeds) * len(series_list)
    configs: list[dict] = []
    known: dict[str, float | None] = {}  # config id -> the selection-span score told
    asks = trained = 0
    started, ran = time.perf_counter(), 0
    outcome: SweepOutcome | None = None
    while len(configs) < trials and asks < trials * ATTEMPTS_PER_TRIAL and not stop():
        new: list[tuple[int, dict]] = []
        repeats: list[tuple[int, str]] = []
        while len(configs) + len(new) < trials and len(new) < batch:
            if asks >= trials * ATTEMPTS_PER_TRIAL:
                break
            asks += 1
            number, config = sampler.ask()
            cid = config_id(config)
            if cid in known or any(config_id(c) == cid for _, c in new):
                repeats.append((number, cid))  # the same configuration: told its score, not rerun
                continue
            new.append((number, config))
        if not new:
            for number, cid in repeats:
                sampler.tell(number, known.get(cid))
            continue
        planned = replace(base, configs=tuple(configs + [c for _, c in new]))
        job = run_sweep(series_list, planned, out, **options)
        while True:
            try:
                event = next(job)
            except StopIteration as done:
                outcome = done.value
                break
            ran += 1
            elapsed = time.perf_counter() - started
            eta = elapsed / ran * max(total - event.done, 0)
            yield SweepProgress(event.done, total, event.done - ran, eta, event.latest)
        trained += outcome.trained
        configs.extend(c for _, c in new)
        for number, config in new:
            known[config_id(config)] = selection_objective(outcome.rows, config)
            sampler.tell(number, known[config_id(config)])
        for number, cid in repeats:
            sampler.tell(number, known.get(cid))
        if outcome.stopped:
            break
    if outcome is None:  # stopped before the first round
        planned = replace(base, configs=tuple(configs))
        outcome = yield from run_sweep(series_list, planned, out, **options)
        trained += outcome.trained
    outcome.total, outcome.trained = total, trained
    outcome.stopped = outcome.stopped or len(configs) < trials
    return outcome
