"""Run a walk-forward backtest from the window, show it, and save, reopen or export it.

:class:`BacktestController` adds a "Backtest results" tab (charts above, scores below), the
:class:`~stockapp.gui.backtest.panel.BacktestPanel` side page "Backtest settings" and File menu
entries (Save run, Save run as, Runs, Open run folder, exports) to the main window. The
backtest itself is :func:`stockapp.models.runner.run_backtest`, a plain generator run by a
:class:`~stockapp.gui.widgets.workers.GeneratorWorker`; the network and training settings
come from the training controller's model panel so both tabs describe the same model.

Run backtest says what it will do before it does it: by default it trains a fresh model on the
bars before the test span; "Use the model just trained" forecasts with the Model page's model
instead when that model learnt from exactly those bars. One job runs at a time: while a model
trains, Run backtest is disabled (and Train while a backtest runs), with a tooltip saying why.

Every result names its data (:class:`~stockapp.session.data_tag.DataTag`) in a header above the
charts, in its exported file names and in its data quality warnings; when the window moves to
other data the header says the results belong to the previous data, Save run is disabled, and a
button offers to load that data again.

Save run is one click: the run goes into the runs folder under a readable name (data, model,
date and time); Runs… lists every saved run (:mod:`stockapp.gui.runs.library`) to open, rename,
delete or show. Export dialogs start in the folder last exported to, with a name from the run.

Every action that can fail for a person's reason (no data, a broken run folder, an unwritable
file) ends in one sentence shown by the window, never a traceback.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.backtest import BacktestResult
from stockapp.core.fitted import AlreadyFitted
from stockapp.core.manifest import RunManifest
from stockapp.core.reference import backtest_spans
from stockapp.core.run_index import default_run_name, free_folder, run_time
from stockapp.core.runs import load_run, save_run, weights_through_note, write_csv
from stockapp.core.sweep_run import SweepSpans, sweep_spans
from stockapp.core.walkforward import BacktestProgress, first_test_bar, plan_segments
from stockapp.errors import StockappError
from stockapp.gui.backtest.metrics_table import MetricsTable
from stockapp.gui.backtest.panel import NO_TRAINED_MODEL, BacktestPanel
from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.bands.view import BandsView
from stockapp.gui.failures import failure_sentence
from stockapp.gui.pictures import render_backtest_png
from stockapp.gui.runs.library import RunsDialog
from stockapp.gui.settings import app_settings, read_str
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.models.runner import BacktestOutcome, run_backtest
from stockapp.models.threads import gui_job_threads, torch_threads
from stockapp.models.trainer import EpochEstimate, TrainProgress
from stockapp.paths import runs_dir
from stockapp.session.data_tag import DataTag, day_text

#: Least time between two batch progress values the backtest thread sends (s); fit starts and
#: epoch ends are always sent.
PROGRESS_INTERVAL_S = 0.1
#: Least time between two redraws of the small loss chart's in-epoch running line (s).
RUNNING_LINE_S = 1.0


def _always_sent(value: object) -> bool:
    return (
        isinstance(value, (BacktestProgress, EpochEstimate))
        or getattr(value, "kind", "") == "epoch"
    )


#: Why Run backtest is disabled while a model trains, and Train while a backtest runs.
TRAINING_RUNS = "A model is training; wait for it or cancel it."
BACKTEST_RUNS = "A backtest is running; wait for it or cancel it."
#: The tab with the charts and scores, and the side page with the settings.
RESULTS_TAB = "Backtest results"
SETTINGS_PAGE = "Backtest settings"
#: Where the export dialogs remember the folder last written to.
EXPORT_FOLDER_KEY = "export/folder"


def _progress_text(seg: BacktestProgress | None, p: TrainProgress | None) -> tuple[float, str]:
    """Overall fraction done and a short label, from the latest segment and epoch reports."""
    if seg is None:
        return 0.0, "starting…"
    done = 0.0
    label = f"fit {seg.index}/{seg.count}"
    if p is not None and p.phase == "catch-up":  # the epochs are chosen: learning the slice
        done = 1.0
        label += f" · catch-up {p.epoch}/{p.epochs}"
    elif p is not None:
        inside = p.batch / p.batches if p.kind == "batch" and p.batches else 1.0
        done = min((p.epoch - 1 + inside) / max(p.epochs, 1), 1.0)
        label += f" · epoch {p.epoch}/{p.epochs}"
    return (seg.index - 1 + done) / max(seg.count, 1), label


class BacktestController(QObject):
    """Owns the Backtest results tab, its settings page and the last backtest of one main window.

    Attributes
    ----------
    outcome
        The last finished backtest with its model, or ``None`` (none yet, cancelled, or a run
        opened from disk, which has no model in memory).
    result, model_name, manifest
        What the tab shows: from the last backtest or from an opened run folder.
    data_tag
        The data the results shown came from (``None`` when none are shown).
    """

    backtest_started = Signal()
    #: The finished :class:`BacktestOutcome`, or ``None`` when cancelled or failed.
    backtest_finished = Signal(object)
    #: The folder of a run opened from disk (File > Runs… or Open run folder), once shown.
    run_opened = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.outcome: BacktestOutcome | None = None
        self.result: BacktestResult | None = None
        self.model_name = "Model"
        self.manifest: RunManifest | None = None
        self._source_folder: Path | None = None
        self._window: Any = None
        self._training: Any = None
        self._worker: GeneratorWorker | None = None
        self._segment: BacktestProgress | None = None
        self._fit: TrainProgress | None = None
        self._running_drawn = 0.0
        self._job_tag: DataTag | None = None
        self._job_model_history: Any = None
        self.data_tag: DataTag | None = None

        self.panel = BacktestPanel()
        self.view = BacktestView()
        self.table = MetricsTable()
        self.data_label = QLabel("No backtest yet.")
        self.data_label.setObjectName("resultsData")
        self.data_label.setStyleSheet('QLabel[stale="true"] { color: #b45309; }')
        self.data_label.setWordWrap(True)
        self.data_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reload_button = QPushButton()
        self.reload_button.setVisible(False)
        self.reload_button.clicked.connect(self.load_results_data)
        header = QHBoxLayout()
        header.setContentsMargins(6, 4, 6, 0)
        header.addWidget(self.data_label, 1)
        header.addWidget(self.reload_button)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.table)
        self.bands_view = BandsView()  # calibration charts, shown for a distribution head
        self.bands_view.setVisible(False)
        self.splitter.addWidget(self.bands_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.tab = QWidget()
        tab_layout = QVBoxLayout(self.tab)
        tab_layout.setContentsMargins(0, 0, 0, 0)
        tab_layout.addLayout(header)
        tab_layout.addWidget(self.splitter, 1)
        self.panel.run_requested.connect(self.start_backtest)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.settings_changed.connect(self._share_split)

        self.runs_dialog: RunsDialog | None = None
        self.last_saved: Path | None = None
        self.save_action = QAction("Save run", self)
        self.save_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.save_as_action = QAction("Save run as…", self)
        self.save_as_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.runs_action = QAction("Runs…", self)
        self.runs_action.setShortcut(QKeySequence("Ctrl+R"))
        self.runs_action.setToolTip("List the saved runs: open, rename, delete or show one.")
        self.open_action = QAction("Open run folder…", self)
        self.csv_action = QAction("Export forecasts CSV…", self)
        self.png_action = QAction("Export chart PNG…", self)
        self.run_action = QAction("Run backtest", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+B"))
        self.run_action.setToolTip("Run a walk-forward backtest with the Backtest settings page.")
        self.run_action.triggered.connect(self.start_backtest)
        self.save_action.triggered.connect(self.save_run_default)
        self.save_as_action.triggered.connect(self._save_dialog)
        self.runs_action.triggered.connect(self.show_runs)
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
        window.add_tab(self.tab, RESULTS_TAB)
        window.add_side_panel(self.panel, SETTINGS_PAGE)
        for action in (
            self.save_action,
            self.save_as_action,
            self.runs_action,
            self.open_action,
            self.csv_action,
            self.png_action,
        ):
            window.add_file_action(action)
        if hasattr(window, "add_run_action"):
            window.add_run_action(self.run_action)
        window.series_changed.connect(self._series_changed)
        if hasattr(window, "adjusted_changed"):
            window.adjusted_changed.connect(lambda _adjusted: self._data_changed())
        training_controller.model_trained.connect(self._hint_backtest)
        training_controller.model_trained.connect(lambda _model: self._offer_trained_model())
        # One job at a time: both jobs seed and load the same device.
        if hasattr(training_controller, "training_started"):
            training_controller.training_started.connect(
                lambda: self.panel.controls.set_blocked(TRAINING_RUNS)
            )
            training_controller.training_ended.connect(lambda: self.panel.controls.set_blocked(""))
        if hasattr(training_controller, "set_blocked"):
            self.backtest_started.connect(lambda: training_controller.set_blocked(BACKTEST_RUNS))
            self.backtest_finished.connect(lambda _outcome: training_controller.set_blocked(""))
        if hasattr(training_controller, "panel") and hasattr(
            training_controller.panel, "settings_changed"
        ):
            training_controller.panel.settings_changed.connect(self.update_spans)
        self._series_changed(window.series)
        self._share_split()

    def _series_changed(self, series: Any) -> None:
        self.panel.set_has_data(series is not None)
        self._data_changed()

    def _data_changed(self) -> None:
        self._offer_trained_model()
        self._show_data_header()
        self.update_spans()

    def update_spans(self, *_: object) -> None:
        """Shade on the Prices tab the span the backtest will forecast and its first fit's
        validation slice, as the engine and the trainer cut them; nothing on unusable settings."""
        chart = getattr(self._window, "chart", None)
        if not hasattr(chart, "set_spans"):
            return
        series = getattr(self._window, "series", None)
        if series is None or self._training is None:
            chart.set_spans(None)
            return
        try:
            spec = self._training.spec()
            cfg = self._training.panel.config()
            dates = series.prices(spec.adjusted).index
            test, val = backtest_spans(dates, spec.window, self.panel.settings(), cfg.val_fraction)
        except StockappError:
            chart.set_spans(None)
            return
        chart.set_spans(test, val)

    def _hint_backtest(self, _model: object) -> None:
        """After a training, point at the next step without taking the Model page away."""
        if self._window is not None and not self.is_running():
            self._window.show_message(
                "Model trained. Next, press Run backtest (Ctrl+B) to test these settings on "
                "bars the model never saw."
            )

    def _share_split(self, *_: object) -> None:
        """Training from the Training tab keeps out the same test span as the backtest."""
        if self._training is not None and hasattr(self._training, "split"):
            try:
                self._training.split = self.panel.settings()
            except StockappError:
                pass  # an unusable combination: the training keeps the last usable split
        self._offer_trained_model()
        self.update_spans()

    # ------------------------------------------------------- the model just trained
    def trained_model_span(self) -> tuple[str | None, str]:
        """The span of the model just trained when it can forecast this test span, else
        ``(None, why not)``.

        It can when it learnt from exactly the bars the backtest's first fit would train on:
        the same data, adjusted or raw as the window shows, ending on the bar before the test
        span, and its weights learnt through that bar (``weights_through``: a training
        cancelled while it learnt from its validation slice stopped short of it).
        """
        training = self._training
        model = getattr(training, "forecaster", None)
        tag: DataTag | None = getattr(training, "trained_on", None)
        series = None if self._window is None else self._window.series
        if model is None or tag is None or getattr(training, "result", None) is None:
            return None, NO_TRAINED_MODEL
        if not tag.same_data(series, self._window.adjusted):
            return None, (
                f"The model just trained belongs to {tag.text()}, not to the data now shown; "
                "train again on it."
            )
        try:
            span = self._first_fit_span(series, model.spec)
        except StockappError as exc:
            return None, str(exc)
        if span is None or (span[0], span[-1]) != (tag.first, tag.last):
            want = "no bars" if span is None else f"{span[0]} to {span[-1]}"
            return None, (
                f"The model just trained learnt from {tag.first} to {tag.last}, but this test "
                f"span's first fit trains on {want}; train again or change the test span."
            )
        trained = training.result
        through = getattr(trained, "weights_through", None)
        if through is None or through != getattr(trained, "trained_through", None):
            return None, (
                f"The model just trained stopped before its weights learnt from the bars up to "
                f"{tag.last} (they learnt through {through or 'an earlier bar'}); train again."
            )
        return f"{tag.first} to {tag.last}", ""

    def _first_fit_span(self, series: Any, spec: Any) -> tuple[str, str] | None:
        """First and last date the walk-forward engine's first fit trains on."""
        prices = series.prices(spec.adjusted)
        settings = self.panel.settings()
        start = first_test_bar(prices.index, settings, 0)
        segments = plan_segments(len(prices), start, settings)
        if not segments or segments[0].train_end <= segments[0].train_start:
            return None
        seg = segments[0]
        return day_text(prices.index[seg.train_start]), day_text(prices.index[seg.train_end - 1])

    def _offer_trained_model(self) -> None:
        if self._window is None:
            return
        span, why = self.trained_model_span()
        self.panel.set_trained_option(span, why)

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
        if self.panel.controls.blocked:
            self._error(self.panel.controls.blocked)
            return False
        series = None if self._window is None else self._window.series
        if series is None:
            self._error("Load a price series before running a backtest.")
            return False
        if self._training is None:
            self._error("The backtest needs the model settings panel; attach it to a window.")
            return False
        forecaster = None
        try:
            settings = self.panel.settings()
            if self.panel.use_trained:
                span, why = self.trained_model_span()
                if span is None:
                    raise StockappError(why)
                model = self._training.forecaster
                # A copy: refits fine-tune it, and the Model page keeps the model it trained.
                forecaster = AlreadyFitted(
                    copy.deepcopy(model),
                    self._training.result,
                    self._training.trained_dates,
                )
                spec, cfg = model.spec, model.cfg
            else:
                spec = self._training.spec()
                cfg = self._training.panel.config()
            spec.check_columns(series.frame.columns)
        except StockappError as exc:
            self._error(str(exc))
            return False
        self._job_tag = DataTag.of(series, spec.adjusted)
        self._job_model_history = None if forecaster is None else self._training.result
        threads = gui_job_threads(self._training.panel.use_all_cores())

        def work(should_stop):
            with torch_threads(threads):  # one core left to the window (issue 14)
                return (
                    yield from run_backtest(
                        series, spec, cfg, settings, should_stop, forecaster=forecaster
                    )
                )

        worker = GeneratorWorker(
            work, self, min_interval_s=PROGRESS_INTERVAL_S, always=_always_sent
        )
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._segment = None
        self._fit = None
        self._running_drawn = 0.0
        self.outcome = None
        self._show(None)
        self.panel.set_busy(True)
        self.panel.show_status(f"Backtesting {self._job_tag.text()}…")
        self._window.show_side_panel(self.panel)
        self._window.show_message("")  # the "Model ready" hint has been followed
        worker.start()
        self._window.register_worker(
            worker,
            f"Backtesting {series.name}…",
            loses=f"the backtest of {series.name} under way (nothing of it is kept)",
        )
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
        elif isinstance(p, EpochEstimate):  # how long the first fit's epochs take, timed
            if self._segment is not None and not self._segment.refit:
                self.panel.show_status(p.sentence())
                if hasattr(self._window, "show_message"):
                    self._window.show_message(p.sentence())
        elif isinstance(p, TrainProgress):
            self._fit = p
            if (self._segment is not None and self._segment.refit) or p.phase == "catch-up":
                pass  # the chart keeps the first fit's epochs as early stopping chose them
            elif p.kind == "epoch":
                self.panel.loss_chart.add_epoch(p.epoch, p.train_loss, p.val_loss)
                self._running_drawn = time.monotonic()
            elif time.monotonic() - self._running_drawn >= RUNNING_LINE_S:
                # Each chart redraw competes with the fit for the GIL: the running line is
                # drawn once a second at most, the cheap progress bar on every value.
                self.panel.loss_chart.add_batch(p.epoch, p.batch, p.batches, p.train_loss)
                self._running_drawn = time.monotonic()
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
            trained = self._job_model_history
            if trained is not None:  # the first fit was the Model page's training: show its loss
                self.panel.loss_chart.set_history(
                    trained.train_losses, trained.val_losses, trained.best_epoch or None
                )
            self._show_tab()  # the results, not the training's loss, are what was asked for
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
        timings, device = outcome.manifest.timings, outcome.manifest.device
        seconds = 0.0 if timings is None else timings.total_seconds
        return (
            f"Forecast {r.n:,} bars from {r.dates[0]:%Y-%m-%d} to {r.dates[-1]:%Y-%m-%d} with "
            f"{len(r.fits)} fit(s) on {device or '?'} in {seconds:.1f} s."
        )

    # ---------------------------------------------------------------- showing
    def _show_tab(self) -> None:
        tabs = getattr(self._window, "tabs", None)
        if isinstance(tabs, QTabWidget) and tabs.indexOf(self.tab) >= 0:
            tabs.setCurrentWidget(self.tab)

    def _show(
        self,
        result: BacktestResult | None,
        model_name: str = "Model",
        spans: SweepSpans | None = None,
    ) -> None:
        """Show ``result``; a sweep's run (``spans``, a :class:`SweepSpans`) is scored on its
        test span, as the experiment's table scores it, with the selection span said apart."""
        self.result = result
        scored = result if spans is None else spans.test
        self.model_name = model_name
        if result is None:
            self.data_tag = None
            self.view.clear()
            self.table.clear()
            self.bands_view.clear()
        else:
            self.data_tag = DataTag.from_manifest(self.manifest) or self._job_tag
            self.view.set_result(result, model_name)
            self.table.set_result(scored, model_name)
            self.table.set_note("" if spans is None else spans.sentence())
            self.table.set_quality(self._quality_warnings())
            self.bands_view.set_result(scored, model_name)
        banded = getattr(result, "bands", None) is not None
        if banded and self.bands_view.isHidden():  # share the height, or the charts get none
            total = max(sum(self.splitter.sizes()), 1000)
            bands = total * 27 // 100
            scores = min(self.table.sizeHint().height(), total * 28 // 100)
            self.splitter.setSizes([total - bands - scores, scores, bands])
        self.bands_view.setVisible(banded)
        self._show_data_header()

    def _quality_warnings(self) -> list[str] | None:
        """The data quality warnings the results' manifest records; None when it records none
        (a run saved before runs recorded them)."""
        return None if self.manifest is None else self.manifest.quality_warnings

    def is_stale(self) -> bool:
        """Whether the results shown came from other data than the window shows now."""
        if self.result is None or self.data_tag is None or self._window is None:
            return False
        return not self.data_tag.same_data(self._window.series, self._window.adjusted)

    def _show_data_header(self) -> None:
        """Name the results' data above the charts; warn when the window shows other data."""
        tag = self.data_tag
        stale = self.is_stale()
        if self.result is None or tag is None:
            text = "No backtest yet." if self.result is None else "Data not recorded."
        elif stale:
            series = self._window.series
            now = "no data" if series is None else DataTag.of(series, self._window.adjusted).text()
            text = (
                f"⚠ These results belong to the previous data: <b>{tag.text()}</b>. The window "
                f"now shows {now}."
            )
        else:
            text = f"Results for <b>{tag.text()}</b>"
        self.data_label.setText(text)
        self.data_label.setProperty("stale", stale)
        self.data_label.style().unpolish(self.data_label)
        self.data_label.style().polish(self.data_label)
        reload_text = tag.reload_text() if stale and tag is not None else ""
        self.reload_button.setText(reload_text)
        self.reload_button.setToolTip(
            f"Load the data these results came from: {tag.source}" if reload_text else ""
        )
        self.reload_button.setVisible(bool(reload_text))
        self._update_actions()

    def _update_actions(self) -> None:
        shown = self.result is not None
        for action in (self.csv_action, self.png_action):
            action.setEnabled(shown)
        # A run made in this session is saved with its model; with other data on screen that
        # pairing is easy to mistake, so saving waits until the run's data is back.
        stale_live = self.is_stale() and self.outcome is not None
        for action in (self.save_action, self.save_as_action):
            action.setEnabled(shown and not stale_live)
        self.save_action.setToolTip(
            f"These results belong to {self.data_tag.text()}; load that data again to save them."
            if stale_live and self.data_tag is not None
            else "Save the results shown, with their model, in the runs folder under a name "
            "made of the data, the model and the date."
        )

    def load_results_data(self) -> bool:
        """Load the data the results shown came from (sample, CSV file or ticker)."""
        tag = self.data_tag
        if self._window is None or tag is None or not tag.data_source.reloadable:
            return False
        origin = tag.data_source
        panel = self._window.data_panel
        if tag.adjusted != panel.adjusted_check.isChecked():
            panel.adjusted_check.setChecked(tag.adjusted)
        if origin.kind == "sample":
            return panel.load_sample(origin.where)
        if origin.kind == "csv":
            return panel.load_csv_path(origin.where, dayfirst=origin.dayfirst)
        try:
            start = datetime.fromisoformat(tag.first[:10]).date()
            end = datetime.fromisoformat(tag.last[:10]).date()
        except ValueError:
            start = end = None
        return panel.load_ticker(origin.where, start, end, origin.interval) is not None

    def _data_text(self) -> str | None:
        return None if self.data_tag is None else self.data_tag.text()

    def suggested_name(self, what: str = "") -> str:
        """A file or folder name for the results shown: data, model, and ``what``."""
        parts = [self.data_tag.slug() if self.data_tag else "backtest", self.model_name, what]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(p for p in parts if p)).strip("-_")

    # ------------------------------------------------------- save, open, export
    def save_run_to(self, path: str | Path) -> bool:
        """Save what is shown as a run folder at ``path`` with its picture ``backtest.png``.

        The command line's writer (:func:`~stockapp.core.runs.save_run`): the folder is written
        whole beside ``path`` and swapped in, so an earlier run there leaves nothing behind, and
        a folder of other files is refused in one sentence.
        """
        folder = Path(path)
        if self.result is None:
            self._error("There is no backtest to save; run one or open a saved run first.")
            return False
        result, name, data = self.result, self.model_name, self._data_text()

        def picture(png: Path) -> None:
            render_backtest_png(result, name, png, data=data)

        try:
            if self.outcome is not None and self.outcome.result is self.result:
                # with the manifest shown (one record of the run, not the outcome's copy)
                dataclasses.replace(self.outcome, manifest=self.manifest).save(folder, picture)
            else:
                save_run(folder, result, self.manifest, self._model_copier(), name, picture)
        except (StockappError, OSError) as exc:
            self._error(failure_sentence(exc, f"save the run in {folder}"))
            return False
        self._source_folder = folder
        self.last_saved = folder
        self.panel.show_status(f"Saved the run in {folder}.")
        if self.runs_dialog is not None and self.runs_dialog.isVisible():
            self.runs_dialog.refresh(select=folder)
        return True

    def default_run_folder(self) -> Path:
        """A free folder in the runs folder named after the data, the model and the time."""
        data = self.data_tag.name if self.data_tag is not None else "backtest"
        when = (
            self.manifest and run_time(self.manifest)
        ) or datetime.now().astimezone()  # the Date column's time
        return free_folder(runs_dir(), default_run_name(data, self.model_name, when))

    def save_run_default(self) -> Path | None:
        """Save what is shown into the runs folder under a readable name, in one click.

        Returns the folder, or ``None`` after one sentence when there is nothing to save or it
        cannot be written. A run opened from a folder and unchanged is not copied again.
        """
        if self.result is None:
            self._error("There is no backtest to save; run one or open a saved run first.")
            return None
        folder = self.default_run_folder()
        if not self.save_run_to(folder):
            return None
        if self._window is not None:
            self._window.show_message(f"Saved the run as {folder.name} (File > Runs… lists it).")
        return folder

    def show_runs(self) -> RunsDialog:
        """Show the Runs list (one per window, refreshed each time it is shown)."""
        if self.runs_dialog is None:
            self.runs_dialog = RunsDialog(runs_dir(), self._dialog_parent())
            self.runs_dialog.open_requested.connect(self._open_from_list)
        self.runs_dialog.refresh(select=self.last_saved)
        if self.runs_dialog.isVisible():
            self.runs_dialog.activateWindow()
        self.runs_dialog.show()
        return self.runs_dialog

    def _open_from_list(self, folder: Path) -> None:
        if self.open_run_from(folder):
            self._show_tab()
            if self.runs_dialog is not None:
                self.runs_dialog.close()
        elif self.runs_dialog is not None and self.last_error_text:
            self.runs_dialog.status_label.setText(self.last_error_text)

    @property
    def last_error_text(self) -> str:
        return "" if self._window is None else str(self._window.last_error or "")

    def _model_copier(self):
        """How a reopened run re-saved (elsewhere or in its own folder, which is replaced)
        keeps its model files: copied into the run being written; None without a model."""
        src = None if self._source_folder is None else self._source_folder / "model"
        if src is None or not src.is_dir():
            return None
        # copyfile, not copy2: the copies get the usual file mode, not an older run's 0600.
        return lambda dest: shutil.copytree(src, dest, copy_function=shutil.copyfile)

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
        spans = sweep_spans(Path(path), result, manifest)
        self._show(result, manifest.shown_model_name, spans)
        data = manifest.data
        lacks = weights_through_note(result.fits)  # a run saved before fits recorded it
        self.panel.show_status(
            f"Opened the run saved in {path}"
            + (f" ({data.name}, {data.source})." if data is not None and data.name else ".")
            + (f" {lacks}" if lacks else "")
        )
        self.run_opened.emit(Path(path))
        return True

    def export_csv_to(self, path: str | Path) -> bool:
        """Write the forecasts table (one row per test bar) to ``path``."""
        if self.result is None:
            self._error("There is no backtest to export; run one or open a saved run first.")
            return False
        try:
            write_csv(Path(path), self.result.forecasts_frame(), index=False)
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
            render_backtest_png(self.result, self.model_name, Path(path), data=self._data_text())
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

    def _export_folder(self) -> Path:
        """The folder the last export went to (the runs folder at first)."""
        folder = Path(read_str(app_settings(), EXPORT_FOLDER_KEY, "") or self._runs_folder())
        return folder if folder.is_dir() else Path(self._runs_folder())

    @staticmethod
    def _remember_export_folder(path: str | Path) -> None:
        settings = app_settings()
        settings.setValue(EXPORT_FOLDER_KEY, str(Path(path).parent))
        settings.sync()

    def _save_dialog(self) -> None:
        """Save run as: a name typed in the dialog becomes a new folder (created, never
        "Directory not found")."""
        folder, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Save the run as a new folder",
            str(self.default_run_folder()),
            "Run folders (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
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
            str(self._export_folder() / f"{self.suggested_name('forecasts')}.csv"),
            "CSV files (*.csv)",
        )
        if path and self.export_csv_to(path):
            self._remember_export_folder(path)

    def _png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent(),
            "Export chart",
            str(self._export_folder() / f"{self.suggested_name('backtest')}.png"),
            "PNG images (*.png)",
        )
        if path and self.export_png_to(path):
            self._remember_export_folder(path)
