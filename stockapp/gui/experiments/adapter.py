"""Experiments in the window: run a sweep in the background and show its results.

:class:`ExperimentsController` puts the Experiment settings page, the Experiment results tab and
File > Open experiment… into the main window. Run loads the chosen series and drives
:func:`stockapp.models.sweep.run_sweep` on a :class:`~stockapp.gui.widgets.workers.GeneratorWorker`;
Cancel stops after the runs under way and keeps every finished one (the sweep writes its
results over them, and running the same experiment again resumes). Why runs failed is said on the
page once per reason (:mod:`stockapp.core.sweep_failures`, as the command line prints it), and
as an error when none finished. Only one job runs at a time:
while a sweep runs, Train and Run backtest are disabled, and the other way round.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget

from stockapp.core.run_index import free_folder, slug
from stockapp.core.sweep_failures import failure_lines
from stockapp.core.sweep_plan import read_sweep
from stockapp.errors import StockappError
from stockapp.gui.experiments.panel import ExperimentChoices, ExperimentsPanel
from stockapp.gui.experiments.results import SweepResultsView
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.paths import runs_dir

SETTINGS_PAGE = "Experiment settings"
RESULTS_TAB = "Experiment results"
SWEEP_RUNS = "An experiment is running; wait for it or cancel it."
TRAINING_RUNS = "A model is training; wait for it or cancel it."
BACKTEST_RUNS = "A backtest is running; wait for it or cancel it."


def default_folder(choices: ExperimentChoices, when: datetime | None = None) -> Path:
    """``<runs>/Experiment_AAPL-MSFT_2026-11-30_09-12`` (``-2``... when taken)."""
    when = when or datetime.now()
    names = slug("-".join(choices.describe().split(", ")))[:40] or "series"
    return free_folder(runs_dir(), f"Experiment_{names}_{when:%Y-%m-%d_%H-%M}")


def _runs(n: int) -> str:
    return f"{n} run{'s' * (n != 1)}"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --"
    return f"ETA {seconds / 60:.1f} min" if seconds >= 60 else f"ETA {seconds:.0f} s"


def experiment_job(choices: ExperimentChoices, out: Path, should_stop) -> Generator[Any, None, Any]:
    """Load the series (samples, files, tickers), then run the sweep; yields its progress."""
    from stockapp.core.features import FeatureSpec
    from stockapp.data import load_csv, load_sample, load_ticker
    from stockapp.models.sweep import SweepRequest, run_sweep
    from stockapp.models.trainer import TrainConfig

    series = [load_sample(n) for n in choices.samples]
    series += [load_csv(p) for p in choices.csvs]
    series += [load_ticker(t) for t in choices.tickers]
    seen: set[str] = set()
    for s in series:
        if s.name in seen:
            raise StockappError(f"{s.name} is chosen twice; give each series once.")
        seen.add(s.name)
    request = SweepRequest(
        grid=choices.grid,
        seeds=choices.seeds,
        spec=FeatureSpec(),
        train=TrainConfig(epochs=choices.epochs),
        test_fraction=choices.test_fraction,
        selection_fraction=choices.test_fraction,
    )
    outcome = yield from run_sweep(
        series,
        request,
        out,
        engine=choices.engine,
        ray_address=choices.ray_address,
        should_stop=should_stop,
    )
    return outcome


class ExperimentsController(QObject):
    """The Experiments feature of the window: settings page, results tab, runs in background."""

    #: The sweep's outcome when a run ends (also when cancelled), ``None`` when it failed.
    experiment_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from stockapp.data import list_samples

        self._window: Any = None
        self._backtest: Any = None
        self._training: Any = None
        self._worker: GeneratorWorker | None = None
        self.folder: Path | None = None
        #: Why the runs of the experiment shown failed, one line per reason.
        self.failures: list[str] = []
        self.panel = ExperimentsPanel([s.name for s in list_samples()])
        self.results = SweepResultsView()
        self.panel.run_requested.connect(self.start)
        self.panel.cancel_requested.connect(self.cancel)
        self.results.run_requested.connect(self.open_run)
        self.open_action = QAction("Open experiment…", self)
        self.open_action.setToolTip("Show an experiment's folder again, without retraining.")
        self.open_action.triggered.connect(self._open_dialog)

    def attach(self, window: Any, training: Any = None, backtest: Any = None) -> None:
        """Put the page, the tab and File > Open experiment… into ``window``."""
        self._window, self._training, self._backtest = window, training, backtest
        if self.parent() is None:
            self.setParent(window)
        window.add_side_panel(self.panel, SETTINGS_PAGE)
        window.add_tab(self.results, RESULTS_TAB)
        window.add_file_action(self.open_action)
        block = self.panel.controls.set_blocked
        if training is not None and hasattr(training, "training_started"):
            training.training_started.connect(lambda: block(TRAINING_RUNS))
            training.training_ended.connect(lambda: block(""))
        if backtest is not None and hasattr(backtest, "backtest_started"):
            backtest.backtest_started.connect(lambda: block(BACKTEST_RUNS))
            backtest.backtest_finished.connect(lambda _outcome: block(""))

    # ------------------------------------------------------------------ running
    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self._worker is None or self._worker.wait(timeout_ms)

    def cancel(self) -> None:
        """Stop after the runs under way; the finished ones are kept and shown."""
        if self._worker is not None:
            self._worker.cancel()
            self.panel.show_status("Stopping after the runs under way…")

    def start(self) -> bool:
        """Run the experiment the page describes; False (after one sentence) if it cannot."""
        if self.is_running():
            return False
        if self.panel.controls.blocked:
            self._error(self.panel.controls.blocked)
            return False
        try:
            choices = self.panel.choices()
            out = Path(choices.out) if choices.out else default_folder(choices)
            if out.exists() and not out.is_dir():
                raise StockappError(f"{out} is a file; give a folder for the experiment.")
        except StockappError as exc:
            self._error(str(exc))
            return False
        self.folder = out
        worker = GeneratorWorker(lambda stop: experiment_job(choices, out, stop), self)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self.panel.set_busy(True)
        self.panel.show_status(f"Loading {choices.describe()} and planning the runs…")
        self._block_others(SWEEP_RUNS)
        worker.start()
        if self._window is not None:
            self._window.register_worker(
                worker,
                "Running an experiment…",
                loses="the experiment under way (its finished runs are kept)",
            )
        return True

    def _on_progress(self, p: Any) -> None:
        row = p.latest or {}
        ratio = row.get("rmse_ratio")
        score = f", RMSE/persistence {ratio:.4f}" if isinstance(ratio, float) else ""
        what = row.get("error") if row.get("status") != "ok" else ""
        self.panel.controls.set_progress(
            p.done / max(p.total, 1), f"{p.done} / {p.total} runs, {_minutes(p.eta_seconds)}"
        )
        self.panel.show_status(
            f"Latest: {row.get('series')} {row.get('model', '')} window {row.get('window')}, "
            f"{row.get('hidden')} units, seed {row.get('seed')}: {row.get('status')}{score}"
            + (f" ({what})" if what else "")
            + "."
        )

    def _on_finished(self, outcome: Any) -> None:
        self._end()
        stopped = outcome is not None and outcome.stopped
        if outcome is not None:
            done_runs = len(outcome.rows)
            self.panel.controls.set_progress(
                done_runs / max(outcome.total, 1),
                f"{done_runs} / {outcome.total} runs, " + ("stopped" if stopped else "done"),
            )
        if self.folder is not None and self.open_experiment(self.folder):
            done = "Stopped; the finished runs are shown" if stopped else "Finished"
            if stopped:  # Run again resumes this experiment rather than starting a new one
                self.panel.out_edit.setText(str(self.folder))
            why = "\n".join(self.failures)
            if not stopped and not any(r.get("status") == "ok" for r in outcome.rows):
                self._error(f"None of the {_runs(outcome.total)} finished.\n{why}")
            else:
                said = (
                    f"{done} ({outcome.trained} trained now). Run again with this folder to resume."
                    if stopped
                    else f"{done}: {_runs(outcome.trained)} trained now, {outcome.total} in all."
                )
                self.panel.show_status(said + (f"\n{why}" if why else ""))
        self.experiment_finished.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._end()
        self._error(message)
        self.experiment_finished.emit(None)

    def _end(self) -> None:
        self.panel.set_busy(False)
        self._block_others("")

    def _block_others(self, why: str) -> None:
        if self._training is not None and hasattr(self._training, "set_blocked"):
            self._training.set_blocked(why)
        if self._backtest is not None:
            self._backtest.panel.controls.set_blocked(why)

    # ------------------------------------------------------------------ showing
    def open_experiment(self, folder: str | Path) -> bool:
        """Show the sweep in ``folder`` without retraining; one sentence if it cannot be read."""
        try:
            table, summary = read_sweep(Path(folder))
        except StockappError as exc:
            self._error(str(exc))
            return False
        self.folder = Path(folder)
        self.failures = failure_lines(table.to_dict("records"))
        self.results.show_sweep(table, summary, str(folder))
        if self.failures:  # said on the page too, once per reason (results.csv has each run's)
            self.panel.show_status("\n".join(self.failures))
        self._show_tab()
        return True

    def open_run(self, key: str) -> bool:
        """Open the run ``key`` of the experiment shown in the Backtest results tab."""
        if self.folder is None or self._backtest is None:
            return False
        run = self.folder / "runs" / key
        if not (run / "manifest.json").exists():
            self._error(f"The run {key} did not finish, so there is no backtest to open.")
            return False
        if not self._backtest.open_run_from(run):
            return False
        tabs = getattr(self._window, "tabs", None)
        if isinstance(tabs, QTabWidget):
            tabs.setCurrentWidget(self._backtest.tab)
        return True

    def _show_tab(self) -> None:
        tabs = getattr(self._window, "tabs", None)
        if isinstance(tabs, QTabWidget) and tabs.indexOf(self.results) >= 0:
            tabs.setCurrentWidget(self.results)

    def _error(self, message: str) -> None:
        self.panel.show_status(message)
        if self._window is not None:
            self._window.show_error(message)

    def _open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(
            self._window, "Open experiment folder", str(runs_dir())
        )
        if folder:
            self.open_experiment(folder)
