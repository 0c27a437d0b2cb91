"""One run of a sweep: the plain-data :class:`Job`, the job function and its result row.

Kept apart from the engines (:mod:`stockapp.models.sweep` and :mod:`stockapp.models.sweep_ray`),
which both import it, so neither engine module imports the other's internals.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockapp.core.covariates import Covariate
from stockapp.core.features import FeatureSpec
from stockapp.core.progress import drain
from stockapp.core.selection import span_scores
from stockapp.core.sweep_plan import SETTING_ORDER, RunsFolder
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError
from stockapp.models.trainer import TrainConfig

DIED = (
    "The worker process running this run died (killed, or out of memory); the other runs went on."
)

DIED_TWICE = (
    "The worker running this run died, and so did the one it was retried on (killed, or out of "
    "memory); the other runs went on."
)

JobFn = Callable[..., dict]


@dataclass(frozen=True)
class Job:
    """One run: plain data, so it pickles to a worker process or a Ray task."""

    key: str
    series_index: int
    series_name: str
    config_id: str
    config: dict
    spec: dict
    train: dict
    backtest: dict
    seed: int
    selection_bars: int
    runs_root: str


@dataclass(frozen=True)
class RunData:
    """What a run reads: a price series and the other series (covariates) and calendar inputs
    every run of the sweep reads beside it. Loaded once by the sweep that asks, it travels to
    the workers as one object, as the series alone did before (issue 24)."""

    series: Any
    covariates: tuple[Covariate, ...] = ()
    calendar: tuple[str, ...] = ()


def settings_columns(job: Job) -> dict:
    merged = {**job.train, **job.spec, **job.backtest}
    return {k: merged.get(k) for k in SETTING_ORDER}


def job_row(job: Job, status: str, error: str = "", **scores) -> dict:
    """The results.csv row of one run: its settings, status, reason and scores."""
    row = {
        "series": job.series_name,
        "key": job.key,
        **settings_columns(job),
        "seed": job.seed,
        "config": job.config,
        "config_id": job.config_id,
        "status": status,
        "error": error,
    }
    row.update(scores)
    return row


def run_job(job: Job, series: Any, should_stop: Callable[[], bool] | None = None) -> dict:
    """Run one backtest of ``series`` (a price series, or a :class:`RunData` with its inputs)
    and commit its folder; the result row (``status`` ok, failed or cancelled). Never raises
    for a bad run: the row carries the sentence."""
    from stockapp.models.runner import run_backtest

    data = series if isinstance(series, RunData) else RunData(series)
    try:
        spec = FeatureSpec.from_dict(job.spec)
        cfg = TrainConfig.from_dict(job.train)
        settings = BacktestSettings.from_dict(job.backtest)
        run = run_backtest(
            data.series, spec, cfg, settings, should_stop,
            covariates=data.covariates, calendar=data.calendar,
        )  # fmt: skip
        outcome = drain(run)
        if outcome is None:
            return job_row(job, "cancelled", "Cancelled before it finished.")
        result = outcome.result
        n_sel = job.selection_bars
        if result.n <= n_sel:
            raise StockappError(
                f"The backtest of {job.series_name} has {result.n} bars, too few for a "
                f"{n_sel}-bar selection span and a test span."
            )
        model, realised, previous = result.forecasts["model"], result.realised, result.previous
        rule, ppy = settings.rule, outcome.manifest.bars_per_year
        sel = span_scores(realised[:n_sel], model[:n_sel], previous[:n_sel], rule, ppy)
        test = span_scores(realised[n_sel:], model[n_sel:], previous[n_sel:], rule, ppy)
        runs = RunsFolder(Path(job.runs_root))
        partial = runs.partial(job.key)
        try:
            outcome.save(partial, every_fit=False)  # many runs: only the last fit's weights
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        row = job_row(
            job,
            "ok",
            **test.to_dict(),
            selection_rmse_ratio=sel.rmse_ratio,
            train_seconds=outcome.manifest.timings.fit_seconds,
            periods_per_year=ppy,
        )
        runs.commit(partial, job.key, row)
        return row
    except StockappError as exc:
        return job_row(job, "failed", " ".join(str(exc).split()))
    except Exception as exc:  # a bug or a library failure: one line in the row, not a crash
        return job_row(job, "failed", f"The run crashed: {type(exc).__name__}: {exc}"[:300])
