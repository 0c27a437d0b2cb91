"""An experiment (a sweep) as the window asks for it, and its job: load the series, then run it.

The command line builds the same :class:`~stockapp.models.sweep.SweepRequest` from its options;
both load the series with :func:`~stockapp.session.loading.load_several` (one sentence for a
series named twice) and check the grid with :mod:`stockapp.session.grid`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from stockapp.core.features import FeatureSpec
from stockapp.core.run_index import free_folder, slug
from stockapp.core.sweep_search import Search, Space
from stockapp.paths import runs_dir
from stockapp.session.inputs import CALENDAR_WORDS, FEATURE_WORDS
from stockapp.session.jobs import Job, StopCheck
from stockapp.session.loading import experiment_sources, load_several


@dataclass
class ExperimentChoices:
    """What the Experiment settings page asks for, checked: series to load, the values to try
    (lists, or ranges for a random or TPE search), seeds, epochs, the test span, the engine, the
    folder ("" for a new one) and the search (grid, random or tpe, with its trials)."""

    samples: list[str]
    csvs: list[str]
    tickers: list[str]
    grid: Space  # a list of values per setting, or a Range for a random or TPE search
    seeds: tuple[int, ...]
    epochs: int
    test_fraction: float
    engine: str
    ray_address: str | None
    out: str = ""
    names: list[str] = field(default_factory=list)
    search: Search = field(default_factory=Search)

    def describe(self) -> str:
        """``AAPL, MSFT`` for folder names and messages."""
        return ", ".join(self.samples + [p.rsplit("/", 1)[-1] for p in self.csvs] + self.tickers)

    @property
    def series_count(self) -> int:
        return len(self.samples) + len(self.csvs) + len(self.tickers)

    @property
    def run_count(self) -> int:
        """Backtests the experiment runs: configurations x seeds x series."""
        configs = 1
        for values in self.grid.values():
            configs *= len(values) if isinstance(values, list) else 1
        if self.search.trials is not None:
            configs = self.search.trials
        return configs * len(self.seeds) * self.series_count


def default_folder(choices: ExperimentChoices, when: datetime | None = None) -> Path:
    """``<runs>/Experiment_AAPL-MSFT_2026-11-30_09-12`` (``-2``... when taken)."""
    when = when or datetime.now()
    names = slug("-".join(choices.describe().split(", ")))[:40] or "series"
    return free_folder(runs_dir(), f"Experiment_{names}_{when:%Y-%m-%d_%H-%M}")


def experiment_job(choices: ExperimentChoices, out: Path, inputs: Any = None) -> Job:
    """Load the series (samples, files, tickers), then run the sweep; yields its progress and
    returns its outcome (also when stopped: the finished runs are kept).

    ``inputs`` (the Data page's :class:`~stockapp.session.inputs.InputChoice`) gives every run
    the same other series and calendar inputs, loaded once here (a ticker over the series'
    dates), as ``stockapp sweep --with-sample/--with-csv/--with-ticker --calendar`` does; the
    series it would forecast too are the Experiment page's to choose, so they are not read."""

    def experiment(should_stop: StopCheck) -> Generator[Any, None, Any]:
        from stockapp.models.sweep import SweepRequest
        from stockapp.models.sweep_tune import run_search
        from stockapp.models.trainer import TrainConfig

        series = load_several(experiment_sources(choices.samples, choices.csvs, choices.tickers))
        request = SweepRequest(
            grid={k: v for k, v in choices.grid.items() if isinstance(v, list)},
            seeds=choices.seeds,
            spec=FeatureSpec(),
            train=TrainConfig(epochs=choices.epochs),
            test_fraction=choices.test_fraction,
            selection_fraction=choices.test_fraction,
        )
        if inputs:
            dates = series[0].frame.index
            for other in series[1:]:
                dates = dates.union(other.frame.index)
            covariates = inputs.load(request.spec.adjusted, dates)
            request = replace(request, covariates=tuple(covariates), calendar=inputs.calendar)
        return (
            yield from run_search(
                series,
                request,
                choices.grid,
                choices.search,
                out,
                engine=choices.engine,
                ray_address=choices.ray_address,
                should_stop=should_stop,
            )
        )

    return experiment


def inputs_text(summary: dict) -> str:
    """`` Every run also read SPY (log return); day of the week.`` from ``summary.json``'s
    ``inputs`` ("" when the runs read their series' own past only)."""
    inputs = summary.get("inputs") or {}
    names = [
        f"{c.get('name')} ({', '.join(FEATURE_WORDS.get(f, f) for f in c.get('features', ()))})"
        for c in inputs.get("covariates", ())
    ]
    calendar = [CALENDAR_WORDS.get(k, k) for k in inputs.get("calendar", ())]
    said = "; ".join(p for p in (", ".join(names), ", ".join(calendar)) if p)
    return f" Every run also read {said}." if said else ""
