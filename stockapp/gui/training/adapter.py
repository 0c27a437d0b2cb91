"""Train a forecaster in the background from the model panel, and save or open trained models.

:class:`TrainingController` adapts the :class:`~stockapp.gui.training.model_panel.ModelPanel` (a
side page) and the :class:`~stockapp.gui.widgets.loss_chart.LossChart` (a "Training" tab) to the
window's Qt-free state (:class:`~stockapp.session.state.Session`). The training itself is
:func:`~stockapp.session.jobs.training_job`, a plain generator run by a
:class:`~stockapp.gui.widgets.workers.GeneratorWorker`; this module only turns its progress
events into widget updates, at most a few times a second so that a fast trainer cannot flood
the GUI thread.

The model only ever sees the training past: the bars before the test span that the backtest
forecasts later (:meth:`Session.training_prices <stockapp.session.state.Session.training_prices>`,
the engine's first-fit span), and it models the prices the window shows: adjusted or raw is read
from the window when a training starts, never remembered by the model panel. The model remembers
its data (:class:`~stockapp.session.data_tag.DataTag`); when the window moves to other data the
summary says so and Save model is disabled until that data is back. One job runs at a time
(:class:`~stockapp.session.job_slot.JobSlot`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTabWidget

from stockapp.core.features import FeatureSpec
from stockapp.core.walkforward import BacktestSettings
from stockapp.errors import StockappError
from stockapp.gui.training.model_files import ModelFiles
from stockapp.gui.training.model_panel import ModelPanel
from stockapp.gui.training.tab import TrainingTab
from stockapp.gui.widgets.loss_chart import LossChart
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.models.config import EpochEstimate, TrainProgress, TrainResult
from stockapp.models.threads import gui_job_threads
from stockapp.session.data_tag import DataTag
from stockapp.session.jobs import ReferenceLoss, training_job
from stockapp.session.preload import ensure_models
from stockapp.session.state import Session, TrainedModel, training_prices
from stockapp.session.training import next_bar_text, training_summary

__all__ = ["ReferenceLoss", "TrainingController", "training_job", "training_prices"]

#: Least time between two updates of the progress bar and new epoch points (ms).
UI_REFRESH_MS = 200
#: Least time between two batch progress values the training thread sends to the GUI thread
#: (s); the others are dropped in the training thread (epoch ends are always sent).
PROGRESS_INTERVAL_S = 0.05
#: Least time between two redraws of the in-epoch running loss line (s). Every chart redraw
#: runs pyqtgraph's Python paint code, which must win the GIL back from the training thread
#: item by item, so the chart is redrawn rarely and the cheap C++ progress bar often.
RUNNING_LINE_S = 1.0


def _always_sent(value: object) -> bool:
    return (
        isinstance(value, (ReferenceLoss, EpochEstimate)) or getattr(value, "kind", "") == "epoch"
    )


class TrainingController(ModelFiles, QObject):
    """Adapts the model panel, the loss chart and the window's model (in its session).

    Attributes
    ----------
    forecaster, result, trained_on, trained_dates
        The window's model (:class:`~stockapp.session.state.TrainedModel`): the last trained
        or opened forecaster, how its training went (``None`` for a model opened without
        history), and the data and dates it learnt from (``None`` for an opened model).
    split
        The backtest's settings whose test span is kept out of training (the Backtest settings
        page shares its own; :attr:`test_fraction` is its share of bars).
    """

    model_trained = Signal(object)
    training_started = Signal()
    training_ended = Signal()
    #: After the chart has drawn newly finished epochs: how many epochs it shows.
    epochs_shown = Signal(int)

    def __init__(self, parent: QObject | None = None, test_fraction: float = 0.2) -> None:
        super().__init__(parent)
        self.session = Session(BacktestSettings(test_fraction=test_fraction))
        self.panel = ModelPanel()
        self._summary_text = "No model trained yet."
        self.training_tab = TrainingTab(self._summary_text)
        self.summary = self.training_tab.summary
        #: The Training tab's page; its chart is built when first shown or drawn into.
        self.tab = self.training_tab.page
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

    # ------------------------------------------------------------------ the model, in the session
    @property
    def model(self) -> TrainedModel | None:
        return self.session.model

    @property
    def forecaster(self) -> Any:
        return None if self.model is None else self.model.forecaster

    @property
    def result(self) -> TrainResult | None:
        return None if self.model is None else self.model.result

    @property
    def trained_on(self) -> DataTag | None:
        return None if self.model is None else self.model.trained_on

    @property
    def trained_dates(self) -> pd.DatetimeIndex | None:
        return None if self.model is None else self.model.trained_dates

    @property
    def split(self) -> BacktestSettings:
        return self.session.split

    @split.setter
    def split(self, settings: BacktestSettings) -> None:
        self.session.split = settings

    @property
    def test_fraction(self) -> float:
        """Share of the last bars kept out of training (when the test span is not a date)."""
        return self.split.test_fraction

    @test_fraction.setter
    def test_fraction(self, value: float) -> None:
        self.split = dataclasses.replace(self.split, test_fraction=float(value))

    # ------------------------------------------------------------------ window
    def attach(self, window: Any) -> None:
        """Put the panel, the tab and the File menu entries into ``window`` (a MainWindow) and
        follow its session."""
        self._window = window
        if self.parent() is None:
            self.setParent(window)
        self.session = window.session
        window.add_side_panel(self.panel, "Model")
        window.add_tab(self.tab, "Training")
        for action in (self.open_action, self.save_action):
            window.add_file_action(action)
        window.add_run_action(self.train_action)
        self.session.data_changed.connect(self._data_changed)
        self.session.model_changed.connect(lambda _model: self._mark_stale())
        self.session.slot.changed.connect(self._slot_changed)
        window.devices_found.connect(self.panel.set_devices)
        self._data_changed()
        self._slot_changed()

    def _data_changed(self) -> None:
        # A running job trained on its own copy of the prices; new data only changes what the
        # *next* training may use.
        series = self.session.series
        self.panel.set_columns(None if series is None else series.frame.columns)
        self._mark_stale()

    def _slot_changed(self, *_: object) -> None:
        self.panel.controls.set_blocked(self.session.slot.blocked_for("training"))

    def window_adjusted(self) -> bool:
        """Whether the window shows (so a job models) adjusted prices."""
        return self.session.adjusted

    def is_stale(self) -> bool:
        """Whether the current model was trained on other data than the window shows now."""
        return self.session.model_is_stale()

    def _mark_stale(self) -> None:
        """Say on the Training tab whether the model belongs to the data on screen."""
        stale = self.is_stale()
        self.save_action.setEnabled(self.forecaster is not None and not stale)
        self.save_action.setToolTip(
            f"The model belongs to {self.trained_on.text()}; load that data again to save it."
            if stale
            else "Save the trained model in a folder."
        )
        note = self.session.model_note()
        self.summary.setText(f"{note}\n{self._summary_text}" if note else self._summary_text)

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
        return self.session.training_prices(self.spec() if spec is None else spec, series)

    def is_running(self) -> bool:
        """Whether a training job is running."""
        return self._worker is not None and self._worker.is_running()

    def start_training(self) -> bool:
        """Train a new model on the current series with the panel's settings.

        Returns False (after showing one sentence) when there is nothing to train on, another
        job runs or the settings are unusable; training errors arrive later through the worker.
        """
        if self.is_running():
            return False
        why = self.session.slot.why_not("training")
        if why:
            self._error(why)
            return False
        series = self.session.series
        if series is None:
            self._error("Load a price series before training a model.")
            return False
        ensure_models()  # waits for the model code when the window was quicker
        from stockapp.models.forecaster import RecurrentForecaster

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
        self._job = {"forecaster": forecaster, "prices": prices, "tag": tag}
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
        self.session.slot.take("training")
        worker.start()  # before registering: the window only tracks running work
        self._window.register_worker(
            worker,
            "Training the model…",
            loses="the training under way (the epochs trained so far are lost)",
        )
        self.training_started.emit()
        return True

    @property
    def chart(self) -> LossChart:
        """The Training tab's loss chart (built now if it was not yet)."""
        return self.training_tab.chart

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
        if self._window is not None:
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
        self.session.slot.release("training")
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
        forecaster, prices, tag = job["forecaster"], job["prices"], job["tag"]
        self.session.set_model(TrainedModel(forecaster, result, tag, prices.index))
        next_bar = next_bar_text(forecaster, self.session.series)
        self._set_summary(training_summary(forecaster, tag, len(prices), result, next_bar))
        self.training_ended.emit()
        self.model_trained.emit(forecaster)

    def _on_failed(self, message: str) -> None:
        self._flush_timer.stop()
        self._job = {}
        self.session.slot.release("training")
        self.panel.set_busy(False)
        self._set_summary(f"Training failed: {message}")
        self._error(message)
        self.training_ended.emit()

    def _set_summary(self, text: str) -> None:
        self._summary_text = text
        self._mark_stale()
