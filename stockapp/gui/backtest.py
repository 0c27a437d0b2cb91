"""Run a walk-forward backtest from the window, show it, and save, reopen or export it.

:class:`BacktestController` adds a "Backtest" tab (charts above, scores below), the
:class:`~stockapp.gui.backtest_panel.BacktestPanel` side panel and File menu entries to the main
window. The backtest itself is :func:`stockapp.models.runner.run_backtest`, a plain generator
run by a :class:`~stockapp.gui.workers.GeneratorWorker`; the network and training settings come
from the training controller's model panel so both tabs describe the same model.

Every action that can fail for a person's reason (no data, a broken run folder, an unwritable
file) ends in one sentence shown by the window, never a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QSplitter, QWidget

from stockapp.core.backtest import BacktestResult
from stockapp.core.runs import load_run, save_run
from stockapp.core.walkforward import BacktestProgress
from stockapp.errors import StockappError
from stockapp.gui.backtest_panel import BacktestPanel
from stockapp.gui.backtest_view import BacktestView
from stockapp.gui.export import render_backtest_png
from stockapp.gui.failures import failure_sentence
from stockapp.gui.metrics_table import MetricsTable
from stockapp.gui.workers import GeneratorWorker
from stockapp.models.runner import BacktestOutcome, run_backtest
from stockapp.models.trainer import TrainProgress
from stockapp.paths import runs_dir


def _progress_text(seg: BacktestProgress | None, p: TrainProgress | None) -> tuple[float, str]:
    """Overall fraction done and a short label, from the latest segment and epoch reports."""
    if seg is None:
        return 0.0, "starting…"
    done = 0.0
    label = f"fit {seg.index}/{seg.count}"
    if p is not None:
        inside = p.batch / p.batches if p.kind == "batch" and p.batches else 1.0
        done = min((p.epoch - 1 + inside) / max(p.epochs, 1), 1.0)
        label += f" · epoch {p.epoch}/{p.epochs}"
    return (seg.index - 1 + done) / max(seg.count, 1), label


class BacktestController(QObject):
    """Owns the Backtest tab, its settings panel and the last backtest of one main window.

    Attributes
    ----------
    outcome
        The last finished backtest with its model, or ``None`` (none yet, cancelled, or a run
        opened from disk, which has no model in memory).
    result, model_name, manifest
        What the tab shows: from the last backtest or from an opened run folder.
    """

    backtest_started = Signal()
    #: The finished :class:`BacktestOutcome`, or ``None`` when cancelled or failed.
    backtest_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.outcome: BacktestOutcome | None = None
        self.result: BacktestResult | None = None
        self.model_name = "Model"
        self.manifest: dict = {}
        self._source_folder: Path | None = None
        self._window: Any = None
        self._training: Any = None
        self._worker: GeneratorWorker | None = None
        self._segment: BacktestProgress | None = None
        self._fit: TrainProgress | None = None

        self.panel = BacktestPanel()
        self.view = BacktestView()
        self.table = MetricsTable()
        self.tab = QSplitter(Qt.Orientation.Vertical)
        self.tab.addWidget(self.view)
        self.tab.addWidget(self.table)
        self.tab.setStretchFactor(0, 3)
        self.tab.setStretchFactor(1, 1)
        self.panel.run_requested.connect(self.start_backtest)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.fraction_spin.valueChanged.connect(self._share_split)

        self.save_action = QAction("Save run…", self)
        self.open_action = QAction("Open run…", self)
        self.csv_action = QAction("Export forecasts CSV…", self)
        self.png_action = QAction("Export chart PNG…", self)
        self.save_action.triggered.connect(self._save_dialog)
        self.open_action.triggered.connect(self._open_dialog)
        self.csv_action.triggered.connect(self._csv_dialog)
        self.png_action.triggered.connect(self._png_dialog)
        self._update_actions()

    # ------------------------------------------------------------------ window
    def attach(self, window: Any, training_controller: Any) -> None:
        """Put the tab, the side panel and the File menu entries into ``window``."""
        self._window = window
        self._training = training_controller
        if self.parent() is None:
            self.setParent(window)
        window.add_tab(self.tab, "Backtest")
        window.add_side_panel(self.panel, "Backtest")
        for action in (self.open_action, self.save_action, self.csv_action, self.png_action):
            window.add_file_action(action)
        window.series_changed.connect(self._series_changed)
        training_controller.model_trained.connect(self._hint_backtest)
        self._series_changed(window.series)
        self._share_split()

    def _series_changed(self, series: Any) -> None:
        self.panel.set_has_data(series is not None)

    def _hint_backtest(self, _model: object) -> None:
        """After a training, point at the next step without taking the Model page away."""
        if self._window is not None and not self.is_running():
            self._window.show_message(
                "Model ready. Run backtest (Backtest page) tests these settings walk-forward "
                "on the held-out bars."
            )

    def _share_split(self, *_: object) -> None:
        """Training from the Training tab keeps out the same share of bars as the backtest."""
        if self._training is not None and hasattr(self._training, "test_fraction"):
            self._training.test_fraction = self.panel.fraction_spin.value() / 100.0

    def _error(self, message: str) -> None:
        self.panel.show_status(message)
        if self._window is not None:
            self._window.show_error(message)

    # ---------------------------------------------------------------- running
    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the last job's thread has ended; False if it is still running."""
        return self._worker is None or self._worker.wait(timeout_ms)

    def cancel(self) -> None:
        """Ask the running backtest to stop at its next batch."""
        if self._worker is not None:
            self._worker.cancel()

    def start_backtest(self) -> bool:
        """Backtest the window's series with the model panel's network and this panel's settings.

        Returns False (after one sentence) when there is nothing to run on or a setting is
        unusable; errors while running arrive later through the worker.
        """
        if self.is_running():
            return False
        series = None if self._window is None else self._window.series
        if series is None:
            self._error("Load a price series before running a backtest.")
            return False
        if self._training is None:
            self._error("The backtest needs the model settings panel; attach it to a window.")
            return False
        try:
            settings = self.panel.settings()
            spec = self._training.panel.spec()
            cfg = self._training.panel.config()
            spec.check_columns(series.frame.columns)
        except StockappError as exc:
            self._error(str(exc))
            return False
        worker = GeneratorWorker(
            lambda should_stop: run_backtest(series, spec, cfg, settings, should_stop), self
        )
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._segment = None
        self._fit = None
        self.outcome = None
        self._show(None)
        self.panel.set_busy(True)
        self.panel.show_status(f"Backtesting {series.name}…")
        self._window.show_side_panel(self.panel)
        self._window.show_message("")  # the "Model ready" hint has been followed
        worker.start()
        self._window.register_worker(worker, f"Backtesting {series.name}…")
        self.backtest_started.emit()
        return True

    def _on_progress(self, p: object) -> None:
        if isinstance(p, BacktestProgress):
            self._segment, self._fit = p, None
            if not p.refit:  # the chart keeps the first, full fit; refits are short fine-tunes
                self.panel.loss_chart.clear()
            what = "Refitting" if p.refit else "Training"
            self.panel.show_status(
                f"{what} for the bars from {p.first_date:%Y-%m-%d} (fit {p.index} of {p.count})…"
            )
        elif isinstance(p, TrainProgress):
            self._fit = p
            if self._segment is not None and self._segment.refit:
                pass
            elif p.kind == "epoch":
                self.panel.loss_chart.add_epoch(p.epoch, p.train_loss, p.val_loss)
            else:
                self.panel.loss_chart.add_batch(p.epoch, p.batch, p.batches, p.train_loss)
        fraction, text = _progress_text(self._segment, self._fit)
        self.panel.show_progress(fraction, text)

    def _on_finished(self, outcome: object) -> None:
        self.panel.set_busy(False)
        if isinstance(outcome, BacktestOutcome) and not self._worker_cancelled():
            self.outcome = outcome
            self.manifest = outcome.manifest
            self._source_folder = None
            self._show(outcome.result, outcome.model_name)
            self.panel.show_progress(1.0, "done")
            self.panel.show_status(self._done_text(outcome))
            self.backtest_finished.emit(outcome)
            return
        self.outcome = None
        self.panel.show_progress(0.0, "cancelled")
        self.panel.show_status("The backtest was cancelled; nothing was kept.")
        self.backtest_finished.emit(None)

    def _on_failed(self, message: str) -> None:
        self.panel.set_busy(False)
        self.outcome = None
        self.panel.show_progress(0.0, "failed")
        self._error(message)
        self.backtest_finished.emit(None)

    def _worker_cancelled(self) -> bool:
        return self._worker is not None and self._worker.cancelled

    @staticmethod
    def _done_text(outcome: BacktestOutcome) -> str:
        r = outcome.result
        seconds = outcome.manifest.get("timings", {}).get("total_seconds", 0.0)
        return (
            f"Forecast {r.n:,} bars from {r.dates[0]:%Y-%m-%d} to {r.dates[-1]:%Y-%m-%d} with "
            f"{len(r.fits)} fit(s) on {outcome.manifest.get('device', '?')} in {seconds:.1f} s."
        )

    # ---------------------------------------------------------------- showing
    def _show(self, result: BacktestResult | None, model_name: str = "Model") -> None:
        self.result = result
        self.model_name = model_name
        if result is None:
            self.view.clear()
            self.table.clear()
        else:
            self.view.set_result(result, model_name)
            self.table.set_result(result, model_name)
        self._update_actions()

    def _update_actions(self) -> None:
        shown = self.result is not None
        for action in (self.save_action, self.csv_action, self.png_action):
            action.setEnabled(shown)

    # ------------------------------------------------------- save, open, export
    def save_run_to(self, path: str | Path) -> bool:
        """Save what is shown as a run folder at ``path`` with its picture ``backtest.png``."""
        folder = Path(path)
        if self.result is None:
            self._error("There is no backtest to save; run one or open a saved run first.")
            return False
        try:
            if self.outcome is not None and self.outcome.result is self.result:
                self.outcome.save(folder)
            else:
                save_run(folder, self.result, self.manifest, None, self.model_name)
                self._copy_model(folder)
            render_backtest_png(self.result, self.model_name, folder / "backtest.png")
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"save the run in {folder}"))
            return False
        self._source_folder = folder
        self.panel.show_status(f"Saved the run in {folder}.")
        return True

    def _copy_model(self, folder: Path) -> None:
        """A reopened run re-saved elsewhere keeps its model files."""
        src = None if self._source_folder is None else self._source_folder / "model"
        if src is not None and src.is_dir() and src.resolve() != (folder / "model").resolve():
            shutil.copytree(src, folder / "model", dirs_exist_ok=True)

    def open_run_from(self, path: str | Path) -> bool:
        """Show the run saved in folder ``path`` without retraining; one sentence if broken."""
        if self.is_running():
            self._error("Wait for the running backtest to finish or cancel it first.")
            return False
        try:
            result, manifest = load_run(Path(path))
        except StockappError as exc:
            self._error(str(exc))
            return False
        self.outcome = None
        self.manifest = manifest
        self._source_folder = Path(path)
        self._show(result, str(manifest.get("model_name", "Model")))
        data = manifest.get("data", {})
        self.panel.show_status(
            f"Opened the run saved in {path}"
            + (f" ({data['name']}, {data.get('source', '')})." if "name" in data else ".")
        )
        return True

    def export_csv_to(self, path: str | Path) -> bool:
        """Write the forecasts table (one row per test bar) to ``path``."""
        if self.result is None:
            self._error("There is no backtest to export; run one or open a saved run first.")
            return False
        try:
            self.result.forecasts_frame().to_csv(Path(path), index=False)
        except OSError as exc:
            self._error(failure_sentence(exc, f"write {path}"))
            return False
        self.panel.show_status(f"Wrote the forecasts to {path}.")
        return True

    def export_png_to(self, path: str | Path) -> bool:
        """Render the charts and a score summary to the PNG file ``path``."""
        if self.result is None:
            self._error("There is no backtest to export; run one or open a saved run first.")
            return False
        try:
            render_backtest_png(self.result, self.model_name, Path(path))
        except StockappError as exc:
            self._error(str(exc))
            return False
        self.panel.show_status(f"Wrote the chart to {path}.")
        return True

    # ---------------------------------------------------------------- dialogs
    def _dialog_parent(self) -> QWidget | None:
        return self._window if isinstance(self._window, QWidget) else None

    def _runs_folder(self) -> str:
        folder = runs_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def _save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._dialog_parent(), "Choose or create a folder for the run", self._runs_folder()
        )
        if folder:
            self.save_run_to(folder)

    def _open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._dialog_parent(), "Open a saved backtest run", self._runs_folder()
        )
        if folder:
            self.open_run_from(folder)

    def _csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Export forecasts",
            str(Path(self._runs_folder()) / "forecasts.csv"),
            "CSV files (*.csv)",
        )
        if path:
            self.export_csv_to(path)

    def _png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Export chart",
            str(Path(self._runs_folder()) / "backtest.png"),
            "PNG images (*.png)",
        )
        if path:
            self.export_png_to(path)
