"""The window's long jobs as plain generators: each ``yield`` reports progress and is a point
where the job may stop. The Qt adapters run them on a
:class:`~stockapp.gui.widgets.workers.GeneratorWorker` (the command line drains the same code with
:func:`~stockapp.core.progress.drain`), so nothing here knows of Qt.

A job is a function of ``should_stop`` (a callable the worker answers) returning the generator.
Nothing here imports torch when the module is imported: the model code is imported when a job
runs (see :mod:`stockapp.session.preload` for the window, which loads it once it shows).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError

StopCheck = Callable[[], bool]
Job = Callable[[StopCheck], Generator[Any, None, Any]]


@dataclass(frozen=True)
class ReferenceLoss:
    """First event of a training job: the persistence loss on its validation windows."""

    value: float | None


def training_job(forecaster: Any, prices: pd.DataFrame, threads: int) -> Job:
    """One training of ``forecaster`` on ``prices`` with ``threads`` torch threads (restored
    afterwards). It first reports the persistence loss (the loss chart's reference line,
    computed here rather than on the GUI thread), then every event of the fit; it returns the
    fit's ``TrainResult``."""
    from stockapp.core.reference import persistence_loss

    cfg = forecaster.cfg

    def train(should_stop: StopCheck) -> Generator[Any, None, Any]:
        from stockapp.models.threads import torch_threads

        with torch_threads(threads):
            reference = None
            if cfg.head == "point":
                try:
                    reference = persistence_loss(
                        prices, forecaster.spec, cfg.val_fraction, cfg.loss_on
                    )
                except StockappError:
                    reference = None  # the fit below says what is wrong with the data
            yield ReferenceLoss(reference)
            return (yield from forecaster.fit(prices, should_stop))

    return train


def backtest_job(
    series: Any,
    spec: FeatureSpec,
    cfg: Any,
    settings: BacktestSettings,
    threads: int,
    forecaster: Any = None,
    calibration: str = "aci",
    covariates: tuple = (),
    calendar: tuple[str, ...] = (),
    inputs: Any = None,
) -> Job:
    """One walk-forward backtest (:func:`stockapp.models.runner.run_backtest`) with ``threads``
    torch threads; ``forecaster`` is a model already trained on the first fit's span (then
    wrapped in :class:`~stockapp.core.fitted.AlreadyFitted`), or ``None`` to train one;
    ``calibration`` (``"aci"`` or ``"none"``, as ``--calibrate``) for a distribution head.
    ``covariates`` (other series as inputs, see :mod:`stockapp.session.inputs`) and
    ``calendar`` inputs go to the runner as the command line gives them; ``inputs`` (the
    window's :class:`~stockapp.session.inputs.InputChoice`) adds the series it names, loaded
    when the job runs (a ticker's download off the window's thread), and its calendar. When it
    names series to forecast too, the job backtests ``series`` and them in one run
    (:func:`~stockapp.models.several.run_several`) and returns its ``SeveralOutcome``."""

    def backtest(should_stop: StopCheck) -> Generator[Any, None, Any]:
        from stockapp.models import runner
        from stockapp.models.threads import torch_threads

        others, days, chosen = tuple(covariates), tuple(calendar), settings
        if inputs:
            others += inputs.load(spec.adjusted, series.frame.index)
            days += tuple(k for k in inputs.calendar if k not in days)
        if others and not chosen.ridge:  # ridge on the same inputs beside it, as on the CLI
            chosen = replace(chosen, ridge=True)
        with torch_threads(threads):  # one core left to the window (issue 14)
            if inputs is not None and inputs.targets:  # other series forecast too: one run
                from stockapp.models.several import run_several

                targets = [series, *inputs.load_targets(series.frame.index)]
                run = run_several(
                    targets, spec, cfg, chosen, should_stop, calibration=calibration,
                    covariates=others, calendar=days, global_model=inputs.one_network,
                )  # fmt: skip
            else:
                run = runner.run_backtest(
                    series, spec, cfg, chosen, should_stop, forecaster=forecaster,
                    calibration=calibration, covariates=others, calendar=days,
                )  # fmt: skip
            return (yield from run)

    return backtest


def compare_job(past: pd.DataFrame, spec: FeatureSpec, cfg: Any, epochs: int | None = None) -> Job:
    """Train a plain RNN, a GRU and an LSTM of ``cfg``'s size on ``past`` for ``epochs`` epochs
    (default :data:`~stockapp.models.explain.COMPARE_EPOCHS`) and return how far back their
    gradients reach (a ``KindsComparison``)."""

    def compare(should_stop: StopCheck) -> Generator[Any, None, Any]:
        from stockapp.models.explain import compare_kinds

        given = {} if epochs is None else {"epochs": epochs}
        return (yield from compare_kinds(past, spec, cfg, should_stop=should_stop, **given))

    return compare


def explain_bar(forecaster: Any, result: Any, prices: pd.DataFrame, bar: int) -> Callable:
    """The work of explaining the forecast of test bar ``bar`` (0-based) of ``result``: a
    function of no arguments returning the ``Explanation``, and the fit that made it (a run
    keeps every fit's weights). A :class:`~stockapp.errors.StockappError` when no fit did."""
    from stockapp.models.explain import choose_fit, explain_forecast

    first_test = int(prices.index.get_loc(result.dates[0]))
    end = first_test + bar - 1
    fit = choose_fit(forecaster, result, bar)
    model, first = fit.forecaster, int(prices.index.get_loc(fit.start))

    def explain() -> Any:
        return explain_forecast(model, prices, end, flow_before=first)

    return explain, fit


def backtest_progress(segment: Any, fit: Any) -> tuple[float, str]:
    """Overall fraction done and a short label, from the latest segment (``BacktestProgress``)
    and epoch (``TrainProgress``) reports."""
    if segment is None:
        return 0.0, "starting…"
    done = 0.0
    label = f"fit {segment.index}/{segment.count}"
    if fit is not None and fit.phase == "catch-up":  # the epochs are chosen: learning the slice
        done = 1.0
        label += f" · catch-up {fit.epoch}/{fit.epochs}"
    elif fit is not None:
        inside = fit.batch / fit.batches if fit.kind == "batch" and fit.batches else 1.0
        done = min((fit.epoch - 1 + inside) / max(fit.epochs, 1), 1.0)
        label += f" · epoch {fit.epoch}/{fit.epochs}"
    return (segment.index - 1 + done) / max(segment.count, 1), label


def backtest_done_text(outcome: Any) -> str:
    """How a finished backtest went, in one sentence: bars, fits, device and time."""
    if hasattr(outcome, "outcomes"):  # several series
        ones = list(outcome.outcomes.values())
        seconds = sum(o.manifest.timings.total_seconds for o in ones if o.manifest.timings)
        how = "one network" if outcome.global_model is not None else "a model each"
        return (
            f"Forecast {len(ones)} series ({how}): {', '.join(outcome.outcomes)}, "
            f"{sum(o.result.n for o in ones):,} bars in all, in {seconds:.1f} s."
        )
    r = outcome.result
    timings, device = outcome.manifest.timings, outcome.manifest.device
    seconds = 0.0 if timings is None else timings.total_seconds
    return (
        f"Forecast {r.n:,} bars from {r.dates[0]:%Y-%m-%d} to {r.dates[-1]:%Y-%m-%d} with "
        f"{len(r.fits)} fit(s) on {device or '?'} in {seconds:.1f} s."
    )
