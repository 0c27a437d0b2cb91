"""Train a forecaster in the background from the model panel, and save or open trained models.

:class:`TrainingController` wires the :class:`~stockapp.gui.training.model_panel.ModelPanel` (a side
panel) and the :class:`~stockapp.gui.widgets.loss_chart.LossChart` (a "Training" tab) into the main
window. The training itself is ``RecurrentForecaster.fit``, a plain generator run by a
:class:`~stockapp.gui.widgets.workers.GeneratorWorker`; this module only turns its progress
events into widget updates, at most a few times a second so that a fast trainer cannot flood
the GUI thread.

The model only ever sees the training past: the bars before the test span that the backtest
forecasts later (the Backtest settings page's test span, chosen exactly as the walk-forward
engine chooses it), and it models the prices the window shows: adjusted or raw is read from the
window when a training starts, never remembered by the model panel. A trained model remembers
its data (:class:`~stockapp.session.data_tag.DataTag`); when the window moves to other data the
summary says so and Save model is disabled until that data is back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QTabWidget, QVBoxLayout, QWidget

from stockapp.core.features import FeatureSpec
from stockapp.core.reference import persistence_loss
from stockapp.core.walkforward import BacktestSettings, first_test_bar
from stockapp.errors import StockappError
from stockapp.gui.failures import failure_sentence
from stockapp.gui.training.model_panel import TARGET_LABELS, ModelPanel, feature_label
from stockapp.gui.widgets.loss_chart import LossChart
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.models.forecaster import RecurrentForecaster
from stockapp.models.networks import MODEL_KINDS
from stockapp.models.threads import gui_job_threads, torch_threads
from stockapp.models.trainer import (
    EpochEstimate,
    TrainConfig,
    TrainProgress,
    TrainResult,
    warm_up,
)
from stockapp.paths import data_dir
from stockapp.session.data_tag import DataTag

#: Least time between two updates of the progress bar and new epoch points (ms).
UI_REFRESH_MS = 200
#: Least time between two batch progress values the training thread sends to the GUI thread
#: (s); the others are dropped in the training thread (epoch ends are always sent).
PROGRESS_INTERVAL_S = 0.05
#: Least time between two redraws of the in-epoch running loss line (s). Every chart redraw
#: runs pyqtgraph's Python paint code, which must win the GIL back from the training thread
#: item by item, so the chart is redrawn rarely and the cheap C++ progress bar often.
RUNNING_LINE_S = 1.0


def training_prices(
    series: Any,
    spec: FeatureSpec,
    test_fraction: float = 0.2,
    split: BacktestSettings | None = None,
) -> pd.DataFrame:
    """The bars a model may learn from: everything before the backtest's test span.

    ``series`` is a :class:`~stockapp.data.series.PriceSeries`; the test span is ``split``'s
    (a share of the bars or a start date), else the last ``test_fraction``. The split is the
    walk-forward engine's own (:func:`~stockapp.core.walkforward.first_test_bar`), so training
    here never sees a bar that the backtest later scores.
    """
    prices = series.prices(spec.adjusted)
    split = BacktestSettings(test_fraction=test_fraction) if split is None else split
    start = first_test_bar(prices.index, split, 0)
    return prices.iloc[:start]


@dataclass(frozen=True)
class ReferenceLoss:
    """First event of a training job: the persistence loss on its validation windows."""

    value: float | None


def _always_sent(value: object) -> bool:
    return (
        isinstance(value, (ReferenceLoss, EpochEstimate)) or getattr(value, "kind", "") == "epoch"
    )


def training_job(
    forecaster: RecurrentForecaster, prices: pd.DataFrame, threads: int
) -> Callable[[Callable[[], bool]], Generator[Any, None, Any]]:
    """The work of one training started from the window, run by a worker thread.

    It first reports the persistence loss (the loss chart's reference line, computed here rather
    than on the GUI thread), then trains with ``threads`` torch threads (restored afterwards).
    """
    cfg = forecaster.cfg

    def train(should_stop: Callable[[], bool]) -> Generator[Any, None, Any]:
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


class TrainingController(QObject):
    """Owns the model panel, the loss chart and the trained model of one main window.

    Attributes
    ----------
    forecaster
        The last trained (or opened) model, or ``None``.
    result
        How its training went (``None`` for a model opened without history).
    split
        The backtest's settings whose test span is kept out of training (the Backtest settings
        page shares its own; :attr:`test_fraction` is its share of bars).
    trained_on, trained_dates
        The data the current model was trained on and the dates of its training rows
        (``None`` for an opened model).
    """

    model_trained = Signal(object)
    training_started = Signal()
    training_ended = Signal()
    #: After the chart has drawn newly finished epochs: how many epochs it shows.
    epochs_shown = Signal(int)

    def __init__(self, parent: QObject | None = None, test_fraction: float = 0.2) -> None:
        super().__init__(parent)
        warm_up()  # torch's lazy imports now, not in the training thread
        self.split = BacktestSettings(test_fraction=test_fraction)
        self.trained_on: DataTag | None = None
        self.trained_dates: pd.DatetimeIndex | None = None
        self._blocked = ""
        self.forecaster: RecurrentForecaster | None = None
        self.result: TrainResult | None = None
        self.panel = ModelPanel()
        self.chart = LossChart()
        self._summary_text = "No model trained yet."
        self.summary = QLabel(self._summary_text)
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
        self.train_action = QAction("Train", self)
        self.train_action.setShortcut(QKeySequence("Ctrl+T"))
        self.train_action.setToolTip("Train a model with the Model page's settings.")
        self.train_action.triggered.connect(self.start_training)
        self.save_action = QAction("Save model…", self)
        self.open_action = QAction("Open model…", self)
        self.save_action.setEnabled(False)
        self.save_action.triggered.connect(self._save_dialog)
        self.open_action.triggered.connect(self._open_dialog)

    @property
    def test_fraction(self) -> float:
        """Share of the last bars kept out of training (when the test span is not a date)."""
        return self.split.test_fraction

    @test_fraction.setter
    def test_fraction(self, value: float) -> None:
        self.split = dataclasses.replace(self.split, test_fraction=float(value))

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
        if hasattr(window, "add_run_action"):
            window.add_run_action(self.train_action)
        window.series_changed.connect(self._series_changed)
        if hasattr(window, "adjusted_changed"):
            window.adjusted_changed.connect(lambda _adjusted: self._mark_stale())
        self._series_changed(window.series)

    def _series_changed(self, series: Any) -> None:
        # A running job trained on its own copy of the prices; a new series only changes what
        # the *next* training may use.
        self.panel.set_columns(None if series is None else series.frame.columns)
        self._mark_stale()

    def window_adjusted(self) -> bool:
        """Whether the window shows (so a job models) adjusted prices."""
        return bool(getattr(self._window, "adjusted", True))

    def is_stale(self) -> bool:
        """Whether the current model was trained on other data than the window shows now."""
        if self.forecaster is None or self.trained_on is None:
            return False
        series = None if self._window is None else self._window.series
        return not self.trained_on.same_data(series, self.window_adjusted())

    def _mark_stale(self) -> None:
        """Say on the Training tab whether the model belongs to the data on screen."""
        stale = self.is_stale()
        self.save_action.setEnabled(self.forecaster is not None and not stale)
        self.save_action.setToolTip(
            f"The model belongs to {self.trained_on.text()}; load that data again to save it."
            if stale and self.trained_on is not None
            else "Save the trained model in a folder."
        )
        self.summary.setText(self._summary_text)
        if stale and self.trained_on is not None:
            self.summary.setText(
                f"⚠ This model belongs to the previous data ({self.trained_on.text()}), not to "
                f"the data now shown.\n{self._summary_text}"
            )

    def set_blocked(self, why: str) -> None:
        """Refuse to start training while other work runs (``why``), or allow it again ("")."""
        self._blocked = why
        self.panel.controls.set_blocked(why)

    def _error(self, message: str) -> None:
        self.panel.show_result(message)
        if self._window is not None:
            self._window.show_error(message)

    # --------------------------------------------------------------- training
    def spec(self) -> FeatureSpec:
        """The panel's feature spec, modelling adjusted prices exactly when the window shows them.

        The window's choice is read now, at the start of every job, so what is on screen is
        what gets modelled.
        """
        return dataclasses.replace(self.panel.spec(), adjusted=self.window_adjusted())

    def train_prices(self, series: Any = None, spec: FeatureSpec | None = None) -> pd.DataFrame:
        """The training past of ``series`` (default: the window's) for ``spec`` (default:
        :meth:`spec`): the bars before the backtest's test span."""
        series = self._window.series if series is None else series
        spec = self.spec() if spec is None else spec
        return training_prices(series, spec, split=self.split)

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
        if self._blocked:
            self._error(self._blocked)
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
        tag = DataTag.of(series, spec.adjusted, prices.index[0], prices.index[-1])
        self._job = {"forecaster": forecaster, "prices": prices, "name": series.name, "tag": tag}
        threads = gui_job_threads(self.panel.use_all_cores())
        worker = GeneratorWorker(
            training_job(forecaster, prices, threads),
            self,
            min_interval_s=PROGRESS_INTERVAL_S,
            always=_always_sent,
        )
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._pending_epochs.clear()
        self._pending_batch = None
        self._last_progress = None
        self.chart.clear(max_epochs=cfg.epochs)
        self._set_summary(f"Training on {tag.text()} ({len(prices)} bars)…")
        self.panel.set_busy(True)
        self._window.show_side_panel(self.panel)  # Cancel and the progress stay in sight
        self._show_tab()
        if self.tab.isVisible():
            # Paint the emptied chart now, before the training thread competes for the GIL.
            self.tab.repaint()
        worker.start()  # before registering: the window only tracks running work
        if self._window is not None:
            self._window.register_worker(
                worker,
                "Training the model…",
                loses="the training under way (the epochs trained so far are lost)",
            )
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
        if isinstance(p, ReferenceLoss):
            self.chart.set_reference(p.value)
            return
        if isinstance(p, EpochEstimate):
            self.show_estimate(p)
            return
        if not isinstance(p, TrainProgress):
            return
        if p.phase == "catch-up":  # learning the validation slice after early stopping:
            self._last_progress = p  # the progress bar follows, the loss chart keeps its epochs
            if not self._flush_timer.isActive():
                self._flush_timer.start()
            return
        if p.kind == "epoch":
            self._pending_epochs.append(p)
            self._pending_batch = None
        else:
            self._pending_batch = p
        self._last_progress = p
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def show_estimate(self, estimate: EpochEstimate) -> None:
        """Say how long an epoch will take (timed on the first batches), on the Training tab
        and in the status bar, as the training starts."""
        self._set_summary(f"{self._summary_text} {estimate.sentence()}")
        if hasattr(self._window, "show_message"):
            self._window.show_message(estimate.sentence())

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
            self._set_summary(result.message)
            self.training_ended.emit()
            return
        self.forecaster = job["forecaster"]
        self.result = result
        self.trained_on = job["tag"]
        self.trained_dates = job["prices"].index
        self._set_summary(self._summary(job, result))
        self.training_ended.emit()
        self.model_trained.emit(self.forecaster)

    def _on_failed(self, message: str) -> None:
        self._flush_timer.stop()
        self._job = {}
        self.panel.set_busy(False)
        self._set_summary(f"Training failed: {message}")
        self._error(message)
        self.training_ended.emit()

    # ------------------------------------------------------------- summaries
    def _set_summary(self, text: str) -> None:
        self._summary_text = text
        self._mark_stale()

    def _summary(self, job: dict, result: TrainResult) -> str:
        spec: FeatureSpec = job["forecaster"].spec
        cfg: TrainConfig = job["forecaster"].cfg
        kind = MODEL_KINDS.get(cfg.model, cfg.model)
        per_epoch = sum(result.epoch_seconds) / max(len(result.epoch_seconds), 1)
        monitored = "validation" if result.val_losses else "training"
        return "\n".join(
            [
                f"{kind}, hidden {cfg.hidden} × {cfg.layers} layer(s), window {spec.window}, "
                f"features {', '.join(feature_label(f) for f in spec.features)} → "
                f"{TARGET_LABELS.get(spec.target, spec.target).lower()}.",
                f"Trained on {job['tag'].text()} ({len(job['prices'])} bars; the bars after "
                "them are kept for the backtest).",
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
        self.trained_on = None  # a saved model records a fingerprint, not its span
        self.trained_dates = None
        self.panel.set_values(forecaster.spec, forecaster.cfg)
        self.chart.set_reference(None)  # a saved model does not record its training data
        if isinstance(self.result, TrainResult):
            self.chart.set_history(
                self.result.train_losses, self.result.val_losses, self.result.best_epoch or None
            )
        else:
            self.chart.clear()
        self._set_summary(
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
