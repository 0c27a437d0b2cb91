"""The sweep job: many backtests (series x configuration x seed), resumable, on worker processes.

:func:`run_sweep` is a generator like every long job here: it yields a :class:`SweepProgress`
after each finished run (a cancellation point) and returns a :class:`SweepOutcome`. Each run is
:func:`run_job`: one ordinary :func:`~stockapp.models.runner.run_backtest` whose run folder is
written atomically under ``<out>/runs/<key>/`` (see :mod:`stockapp.core.sweep_plan`). The same
job function runs in this process (``engine="inline"``), in local worker processes
(``"local"``) or on Ray actors (``"ray"``, :mod:`stockapp.models.sweep_ray`), which send each
run's folder back as bytes.

The local engine (:mod:`stockapp.models.sweep_pool`) keeps a warm pool of worker processes
that import PyTorch once and run many runs; a worker that dies fails only the run that killed it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import stockapp
from stockapp.core.covariates import Covariate, align_covariates
from stockapp.core.features import FeatureSpec
from stockapp.core.runs import write_json
from stockapp.core.selection import add_holm, span_dm_fields, summarise_series
from stockapp.core.significance import dm_variance
from stockapp.core.sweep_plan import (
    RunsFolder,
    Spans,
    config_label,
    expand_grid,
    inputs_record,
    plan_spans,
    run_key,
    split_settings,
    varied_settings,
    write_results_csv,
)
from stockapp.core.trading import TradingRule, periods_per_year
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError
from stockapp.models.sweep_job import DIED, DIED_TWICE, Job, JobFn, RunData, run_job
from stockapp.models.sweep_pool import available_cores, default_workers, local_engine
from stockapp.models.trainer import TrainConfig

ENGINES = ("local", "ray", "inline")
__all__ = ["DIED", "SweepRequest", "available_cores", "default_workers", "run_job", "run_sweep"]


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
    # Other series and calendar inputs every run reads (issue 24), as ``stockapp backtest``
    # passes them to run_backtest; part of each run's key, so resuming never mixes inputs.
    covariates: tuple[Covariate, ...] = ()
    calendar: tuple[str, ...] = ()

    def inputs(self) -> dict:
        """The inputs as ``summary.json`` records them and run keys hash them."""
        return inputs_record(self.covariates, self.calendar)


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
    inputs = request.inputs()
    for index, series in enumerate(series_list):
        spans = plan_spans(series.dates, request.test_fraction, request.selection_fraction)
        spans_all.append(spans)
        if request.covariates or request.calendar:  # a series sharing no span: one sentence
            prices = series.prices(request.spec.adjusted)
            align_covariates(prices, request.covariates, request.calendar, series.name)
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
                    series.fingerprint, spec_d, train_seed, bt_d, int(seed), stockapp.__version__,
                    inputs,
                )  # fmt: skip
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
    # each series with the inputs its runs read, sent to the workers as the series alone was
    data = [RunData(s, tuple(request.covariates), tuple(request.calendar)) for s in series_list]
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
        stream = inline_engine(todo, data, job_fn, stop)
    elif engine == "local":
        stream = local_engine(todo, data, job_fn, stop, workers)
    else:
        from stockapp.models.sweep_ray import ray_engine

        stream = ray_engine(todo, data, job_fn, stop, ray_address, workers)
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
        "inputs": request.inputs(),  # other series and calendar inputs of every run (issue 24)
        "runs_total": len(plan.jobs),
        "runs_finished": sum(r["status"] == "ok" for r in rows),
        "runs_failed": sum(r["status"] == "failed" for r in rows),
        # Runs whose worker died and that were run once more (engine "local" or "ray")
        "runs_retried": sum(r.get("attempts", 1) > 1 for r in rows),
        "engine_note": engine_note(rows),
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


def engine_note(rows: list[dict]) -> str:
    """What the engine had to do beyond running each run once, in a sentence ("" if nothing)."""
    retried = [r for r in rows if r.get("attempts", 1) > 1]
    died = sum(r["status"] == "failed" and r.get("error") in (DIED, DIED_TWICE) for r in rows)
    parts = []
    if retried:
        ok = sum(r["status"] == "ok" for r in retried)
        parts.append(
            f"{len(retried)} run(s) lost their worker and were run once more ({ok} finished)"
        )
    if died:
        parts.append(f"{died} run(s) failed because their worker died")
    return ("; ".join(parts) + ".") if parts else ""


def _read_forecasts(folder: Path) -> dict[str, np.ndarray]:
    table = pd.read_csv(folder / "forecasts.csv", usecols=["realised", "forecast", "naive"])
    return {c: table[c].to_numpy(np.float64) for c in ("realised", "forecast", "naive")}
