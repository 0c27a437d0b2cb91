"""Train a forecaster in the background from the model panel, and save or open trained models.

:class:`TrainingController` wires the :class:`~stockapp.gui.model_panel.ModelPanel` (a side
panel) and the :class:`~stockapp.gui.loss_chart.LossChart` (a "Training" tab) into the main
window. The training itself is ``RecurrentForecaster.fit``, a plain generator run by a
:class:`~stockapp.gui.workers.GeneratorWorker`; this module only turns its progress events into
widget updates, at most a few times a second so that a fast trainer cannot flood the GUI thread.

The model only ever sees the training past: the bars before the test span that the backtest
forecasts later (the last ``test_fraction`` of the series, chosen exactly as the walk-forward
engine chooses it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QLabel, QTabWidget, QVBoxLayout, QWidget

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings, first_test_bar
from stockapp.errors import StockappError
from stockapp.gui.failures import failure_sentence
from stockapp.gui.loss_chart import LossChart
from stockapp.gui.model_panel import ModelPanel
from stockapp.gui.workers import GeneratorWorker
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.networks import MODEL_KINDS
from stockapp.models.trainer import TrainConfig, TrainProgress, TrainResult, warm_up
from stockapp.paths import data_dir

#: Least time between two updates of the progress bar and new epoch points (ms).
UI_REFRESH_MS = 200
#: Least time between two redraws of the in-epoch running loss line (s). Every chart redraw
#: runs pyqtgraph's Python paint code, which must win the GIL back from the training thread
#: item by item, so the chart is redrawn rarely and the cheap C++ progress bar often.
RUNNING_LINE_S = 1.0


def training_prices(series: Any, spec: FeatureSpec, test_fraction: float = 0.2) -> pd.DataFrame:
    """The bars a model may learn from: everything before the backtest's test span.

    ``series`` is a :class:`~stockapp.data.series.PriceSeries`; the split is the walk-forward
    engine's own (:func:`~stockapp.core.walkforward.first_test_bar`), so training here never
    sees a bar that the backtest later scores.
    """
    prices = series.prices(spec.adjusted)
    start = first_test_bar(prices.index, BacktestSettings(test_fraction=test_fraction), 0)
    return prices.iloc[:start]


class TrainingController(QObject):
    """Owns the model panel, the loss chart and the trained model of one main window.

    Attributes
    ----------
    forecaster
        The last trained (or opened) model, or ``None``.
    result
        How its training went (``None`` for a model opened without history).
    test_fraction
        Share of the last bars kept out of training for the backtest.
    """

    model_trained = Signal(object)
    training_started = Signal()
    training_ended = Signal()
    #: After the chart has drawn newly finished epochs: how many epochs it shows.
    epochs_shown = Signal(int)

    def __init__(self, parent: QObject | None = None, test_fraction: float = 0.2) -> None:
        super().__init__(parent)
        warm_up()  # torch's lazy imports now, not in the training thread
        self.test_fraction = test_fraction
        self.forecaster: RecurrentForecaster | None = None
        self.result: TrainResult | None = None
        self.panel = ModelPanel()
        self.chart = LossChart()
        self.summary = QLabel("No model trained yet.")
        self.summary.setWordWrap(True)
        self.tab = QWidget()
        layout = QVBoxLayout(self.tab)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.summary)
        self._window: Any = None
        self._worker: GeneratorWorker | None = None
        self._pending_epochs: list[TrainProgress] = []
        self._pending_batch: TrainProgress | None = None
        self._last_progress: TrainProgress | None = None
        self._running_drawn = 0.0
        self._job: dict[str, Any] = {}
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(UI_REFRESH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self.panel.train_requested.connect(self.start_training)
        self.panel.cancel_requested.connect(self.cancel)
        self.save_action = QAction("Save model…", self)
        self.open_action = QAction("Open model…", self)
        self.save_action.setEnabled(False)
        self.save_action.triggered.connect(self._save_dialog)
        self.open_action.triggered.connect(self._open_dialog)

    # ------------------------------------------------------------------ window
    def attach(self, window: Any) -> None:
        """Put the panel, the tab and the File menu entries into ``window`` (a MainWindow)."""
        self._window = window
        if self.parent() is None:
            self.setParent(window)
        window.add_side_panel(self.panel, "Model")
        window.add_tab(self.tab, "Training")
        for action in (self.open_action, self.save_action):
            window.add_file_action(action)
        window.series_changed.connect(self._series_changed)
        if hasattr(window, "adjusted_changed"):
            window.adjusted_changed.connect(self.panel.set_adjusted)
        self.panel.set_adjusted(bool(getattr(window, "adjusted", True)))
        self._series_changed(window.series)

    def _series_changed(self, series: Any) -> None:
        # A running job trained on its own copy of the prices; a new series only changes what
        # the *next* training may use.
        self.panel.set_columns(None if series is None else series.frame.columns)

    def _error(self, message: str) -> None:
        self.panel.show_result(message)
        if self._window is not None:
            self._window.show_error(message)

    # --------------------------------------------------------------- training
    def spec(self) -> FeatureSpec:
        """The panel's feature spec (adjusted prices or not as the window shows them)."""
        return self.panel.spec()

    def train_prices(self, series: Any = None, spec: FeatureSpec | None = None) -> pd.DataFrame:
        """The training past of ``series`` (default: the window's) for ``spec`` (default:
        :meth:`spec`): the bars before the backtest's test span."""
        series = self._window.series if series is None else series
        spec = self.spec() if spec is None else spec
        return training_prices(series, spec, self.test_fraction)

    def is_running(self) -> bool:
        """Whether a training job is running."""
        return self._worker is not None and self._worker.is_running()

    def start_training(self) -> bool:
        """Train a new model on the current series with the panel's settings.

        Returns False (after showing one sentence) when there is nothing to train on or the
        settings are unusable; training errors arrive later through the worker.
        """
        if self.is_running():
            return False
        series = None if self._window is None else self._window.series
        if series is None:
            self._error("Load a price series before training a model.")
            return False
        try:
            spec = self.spec()
            cfg = self.panel.config()
            spec.check_columns(series.frame.columns)
            prices = self.train_prices(series, spec)
            forecaster = RecurrentForecaster(spec, cfg)
        except StockappError as exc:
            self._error(str(exc))
            return False
        forecaster.data_fingerprint = series.fingerprint
        self._job = {"forecaster": forecaster, "prices": prices, "name": series.name}
        worker = GeneratorWorker(lambda should_stop: forecaster.fit(prices, should_stop), self)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._pending_epochs.clear()
        self._pending_batch = None
        self._last_progress = None
        self.chart.clear(max_epochs=cfg.epochs)
        self.summary.setText(f"Training on {series.name}: {self._span_text(prices)}…")
        self.panel.set_busy(True)
        self._window.show_side_panel(self.panel)  # Cancel and the progress stay in sight
        self._show_tab()
        if self.tab.isVisible():
            # Paint the emptied chart now, before the training thread competes for the GIL.
            self.tab.repaint()
        worker.start()  # before registering: the window only tracks running work
        if self._window is not None:
            self._window.register_worker(worker, "Training the model…")
        self.training_started.emit()
        return True

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the last job's thread has ended; False if it is still running."""
        return self._worker is None or self._worker.wait(timeout_ms)

    def _show_tab(self) -> None:
        tabs = getattr(self._window, "tabs", None)
        if isinstance(tabs, QTabWidget) and tabs.indexOf(self.tab) >= 0:
            tabs.setCurrentWidget(self.tab)

    def cancel(self) -> None:
        """Ask the running job to stop; it ends within a batch and keeps the best weights."""
        if self._worker is not None:
            self._worker.cancel()

    def _on_progress(self, p: object) -> None:
        if not isinstance(p, TrainProgress):
            return
        if p.kind == "epoch":
            self._pending_epochs.append(p)
            self._pending_batch = None
        else:
            self._pending_batch = p
        self._last_progress = p
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        new_epochs = bool(self._pending_epochs)
        for p in self._pending_epochs:
            self.chart.add_epoch(p.epoch, p.train_loss, p.val_loss)
        self._pending_epochs.clear()
        b = self._pending_batch
        now = time.monotonic()
        if b is not None and (new_epochs or now - self._running_drawn >= RUNNING_LINE_S):
            self.chart.add_batch(b.epoch, b.batch, b.batches, b.train_loss)
            self._running_drawn = now
            self._pending_batch = None
        if self._last_progress is not None and self.is_running():
            self.panel.show_progress(self._last_progress)
        if new_epochs:
            self.epochs_shown.emit(self.chart.epoch_count())

    def _on_finished(self, result: object) -> None:
        self._flush_timer.stop()
        self._pending_epochs.clear()
        self._pending_batch = None
        job, self._job = self._job, {}
        self.panel.set_busy(False)
        if not isinstance(result, TrainResult):
            self._error("Training ended without a result; train again.")
            self.training_ended.emit()
            return
        self.chart.set_history(result.train_losses, result.val_losses, result.best_epoch or None)
        self.panel.show_result(result.message)
        epochs = len(result.train_losses)
        if result.stop_reason == "early_stopped":
            self.panel.controls.set_progress(1.0, f"stopped early after epoch {epochs}")
        elif result.stop_reason == "completed":
            self.panel.controls.set_progress(1.0, "done")
        else:
            self.panel.controls.set_progress(0.0, f"cancelled after {epochs} epoch(s)")
        if result.best_epoch == 0:
            # Cancelled before one epoch finished: nothing worth keeping.
            self.summary.setText(result.message)
            self.training_ended.emit()
            return
        self.forecaster = job["forecaster"]
        self.result = result
        self.save_action.setEnabled(True)
        self.summary.setText(self._summary(job, result))
        self.training_ended.emit()
        self.model_trained.emit(self.forecaster)

    def _on_failed(self, message: str) -> None:
        self._flush_timer.stop()
        self._job = {}
        self.panel.set_busy(False)
        self.summary.setText(f"Training failed: {message}")
        self._error(message)
        self.training_ended.emit()

    # ------------------------------------------------------------- summaries
    @staticmethod
    def _span_text(prices: pd.DataFrame) -> str:
        if len(prices) == 0:
            return "no bars"
        return f"{len(prices)} bars, {prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}"

    def _summary(self, job: dict, result: TrainResult) -> str:
        spec: FeatureSpec = job["forecaster"].spec
        cfg: TrainConfig = job["forecaster"].cfg
        kind = MODEL_KINDS.get(cfg.model, cfg.model)
        per_epoch = sum(result.epoch_seconds) / max(len(result.epoch_seconds), 1)
        monitored = "validation" if result.val_losses else "training"
        return "\n".join(
            [
                f"{kind}, hidden {cfg.hidden} × {cfg.layers} layer(s), window {spec.window}, "
                f"features {', '.join(spec.features)} → {spec.target}.",
                f"Trained on {job['name']}: {self._span_text(job['prices'])} (the last "
                f"{self.test_fraction:.0%} is kept for the backtest).",
                f"{result.device}{' with CUDA graphs' if result.cuda_graphs else ''}: "
                f"{len(result.train_losses)} epoch(s), {per_epoch:.2f} s per epoch; best "
                f"{monitored} loss {result.best_loss:.4g} at epoch {result.best_epoch}.",
                result.message,
                self._next_bar_text(job["forecaster"]),
            ]
        ).strip()

    def _next_bar_text(self, forecaster: RecurrentForecaster) -> str:
        """The model's forecast for the bar after the last one loaded ("" if it cannot make one).

        Made from the latest window, with the model as trained (on the past before the test span).
        """
        series = None if self._window is None else self._window.series
        if series is None:
            return ""
        try:
            prices = series.prices(forecaster.spec.adjusted)
            last = len(prices) - 1
            forecast = float(forecaster.predict_next(prices, np.array([last]))[0])
        except StockappError:
            return ""
        close = float(prices["Close"].iloc[-1])
        return (
            f"Forecast for the bar after {prices.index[-1]:%Y-%m-%d}: {forecast:,.2f} "
            f"({forecast / close - 1:+.2%} on the last close {close:,.2f}); judge it by the "
            "backtest, not by this number."
        )

    # ---------------------------------------------------------- save and open
    def save_model_to(self, path: str | Path) -> bool:
        """Save the current model into folder ``path``; False after one sentence on failure."""
        if self.forecaster is None:
            self._error("There is no trained model to save; train or open one first.")
            return False
        try:
            self.forecaster.save(Path(path))
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"save the model in {path}"))
            return False
        self.panel.show_result(f"Saved the model in {path}.")
        return True

    def open_model_from(self, path: str | Path) -> bool:
        """Open the model saved in folder ``path`` and make it the current one.

        A folder that is not a readable model, or a model whose features need columns the
        current series lacks, gives one sentence and leaves the current model in place.
        """
        try:
            forecaster = RecurrentForecaster.load(Path(path))
            series = None if self._window is None else self._window.series
            if series is not None:
                forecaster.check_compatible(series.frame.columns)
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"open the model in {path}"))
            return False
        self.forecaster = forecaster
        self.result = forecaster.last_result
        self.panel.set_values(forecaster.spec, forecaster.cfg)
        self.panel.set_adjusted(bool(getattr(self._window, "adjusted", forecaster.spec.adjusted)))
        if isinstance(self.result, TrainResult):
            self.chart.set_history(
                self.result.train_losses, self.result.val_losses, self.result.best_epoch or None
            )
        else:
            self.chart.clear()
        self.save_action.setEnabled(True)
        self.summary.setText(
            f"Opened the model saved in {path}.\n{self._next_bar_text(forecaster)}".strip()
        )
        self.panel.show_result(f"Opened the model saved in {path}.")
        self.model_trained.emit(forecaster)
        return True

    def _dialog_parent(self) -> QWidget | None:
        return self._window if isinstance(self._window, QWidget) else None

    def _pick_model_folder(self, title: str) -> str:
        """A folder chosen in a dialog that starts in the models folder ("" if cancelled)."""
        start = data_dir() / "models"
        start.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getExistingDirectory(self._dialog_parent(), title, str(start))

    def _save_dialog(self) -> None:
        folder = self._pick_model_folder("Choose or create a folder for the model")
        if folder:
            self.save_model_to(folder)

    def _open_dialog(self) -> None:
        folder = self._pick_model_folder("Open a saved model folder")
        if folder:
            self.open_model_from(folder)
