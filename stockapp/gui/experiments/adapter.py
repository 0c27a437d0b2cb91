"""Experiments in the window: run a sweep in the background and show its results.

:class:`ExperimentsController` puts the Experiment settings page, the Experiment results tab and
File > Open experiment… into the main window. Run loads the chosen series and drives
:func:`stockapp.models.sweep.run_sweep` on a :class:`~stockapp.gui.widgets.workers.GeneratorWorker`;
Cancel stops after the runs under way and keeps every finished one (the sweep writes its
results over them, and running the same experiment again resumes). Why runs failed is said on the
page once per reason (:mod:`stockapp.core.sweep_failures`, as the command line prints it), and
as an error when none finished. The job is :func:`~stockapp.session.experiments.experiment_job`
(it loads the series as the command line does); only one job runs at a time
(:class:`~stockapp.session.job_slot.JobSlot`): while a sweep runs, Train and Run backtest are
disabled, and the other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget

from stockapp.core.sweep_failures import failure_lines
from stockapp.core.sweep_plan import read_sweep
from stockapp.errors import StockappError
from stockapp.gui.experiments.panel import ExperimentsPanel
from stockapp.gui.experiments.results import SweepResultsView
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.paths import runs_dir
from stockapp.session.experiments import default_folder, experiment_job
from stockapp.session.formatting import eta_text, runs_text
from stockapp.session.job_slot import REASONS
from stockapp.session.preload import ensure_models
from stockapp.session.state import Session

__all__ = ["ExperimentsController", "default_folder", "experiment_job"]

SETTINGS_PAGE = "Experiment settings"
RESULTS_TAB = "Experiment results"
SWEEP_RUNS = REASONS["sweep"]
TRAINING_RUNS = REASONS["training"]
BACKTEST_RUNS = REASONS["backtest"]


class ExperimentsController(QObject):
    """The Experiments feature of the window: settings page, results tab, runs in background."""

    #: The sweep's outcome when a run ends (also when cancelled), ``None`` when it failed.
    experiment_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from stockapp.data import list_samples

        self._window: Any = None
        self._backtest: Any = None
        self.session = Session()
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
        """Put the page, the tab and File > Open experiment… into ``window``; a run of the
        experiment opens in ``backtest``'s results tab."""
        self._window, self._backtest = window, backtest
        if self.parent() is None:
            self.setParent(window)
        self.session = window.session
        window.add_side_panel(self.panel, SETTINGS_PAGE)
        window.add_tab(self.results, RESULTS_TAB)
        window.add_file_action(self.open_action)
        self.session.slot.changed.connect(self._slot_changed)
        self._slot_changed()
        self.session.inputs_changed.connect(lambda inputs: self.panel.show_inputs(inputs.summary()))
        self.panel.show_inputs(self.session.inputs.summary())

    def _slot_changed(self, *_: object) -> None:
        self.panel.controls.set_blocked(self.session.slot.blocked_for("sweep"))

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
        why = self.session.slot.why_not("sweep")
        if why:
            self._error(why)
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
        ensure_models()  # waits for the model code when the window was quicker
        inputs = self.session.inputs  # the Data page's other series and calendar inputs
        worker = GeneratorWorker(experiment_job(choices, out, inputs), self)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self.panel.set_busy(True)
        also = f" with the inputs {inputs.summary()}" if inputs else ""
        self.panel.show_status(f"Loading {choices.describe()}{also} and planning the runs…")
        self.session.slot.take("sweep")
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
            p.done / max(p.total, 1), f"{p.done} / {p.total} runs, {eta_text(p.eta_seconds)}"
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
                self._error(f"None of the {runs_text(outcome.total)} finished.\n{why}")
            else:
                said = (
                    f"{done} ({outcome.trained} trained now). Run again with this folder to resume."
                    if stopped
                    else f"{done}: {runs_text(outcome.trained)} trained now, "
                    f"{outcome.total} in all."
                )
                self.panel.show_status(said + (f"\n{why}" if why else ""))
        self.experiment_finished.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._end()
        self._error(message)
        self.experiment_finished.emit(None)

    def _end(self) -> None:
        self.session.slot.release("sweep")
        self.panel.set_busy(False)

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
