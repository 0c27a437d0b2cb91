"""Run a walk-forward backtest from the window and show it; save, reopen or export it.

:class:`BacktestController` adds a "Backtest results" tab
(:class:`~stockapp.gui.backtest.results_tab.ResultsTab`), the
:class:`~stockapp.gui.backtest.panel.BacktestPanel` side page "Backtest settings" and File menu
entries (:class:`~stockapp.gui.backtest.run_files.RunFiles`) to the main window, and adapts them
to the window's Qt-free state (:class:`~stockapp.session.state.Session`). The backtest itself
is :func:`~stockapp.session.jobs.backtest_job`, a plain generator run by a
:class:`~stockapp.gui.widgets.workers.GeneratorWorker`; the network and training settings come
from the training controller's model panel so both tabs describe the same model.

Run backtest says what it will do before it does it: by default it trains a fresh model on the
bars before the test span; "Use the model just trained" forecasts with the Model page's model
instead when that model learnt from exactly those bars
(:meth:`Session.reusable_model <stockapp.session.state.Session.reusable_model>`). One job runs
at a time (:class:`~stockapp.session.job_slot.JobSlot`): while a model trains, Run backtest is
disabled, with a tooltip saying why.

Every result names its data (:class:`~stockapp.session.data_tag.DataTag`) in a header above the
charts, in its exported file names and in its data quality warnings; when the window moves to
other data the header says the results belong to the previous data, Save run is disabled, and a
button offers to load that data again.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTabWidget

from stockapp.core.backtest import BacktestResult
from stockapp.core.fitted import AlreadyFitted
from stockapp.core.manifest import RunManifest
from stockapp.core.reference import backtest_spans
from stockapp.errors import StockappError
from stockapp.gui.backtest.panel import BacktestPanel
from stockapp.gui.backtest.progress import (  # noqa: F401  (the pacing, read by tests)
    PROGRESS_INTERVAL_S,
    RUNNING_LINE_S,
    BacktestProgressShower,
    always_sent,
)
from stockapp.gui.backtest.results_tab import ResultsTab
from stockapp.gui.backtest.run_files import RunFiles
from stockapp.gui.widgets.workers import GeneratorWorker
from stockapp.models.threads import gui_job_threads
from stockapp.session.data_tag import DataTag
from stockapp.session.job_slot import REASONS
from stockapp.session.jobs import backtest_done_text, backtest_job
from stockapp.session.preload import ensure_models
from stockapp.session.state import Results, Session

#: Why Run backtest is disabled while a model trains, and Train while a backtest runs.
TRAINING_RUNS = REASONS["training"]
BACKTEST_RUNS = REASONS["backtest"]
#: The tab with the charts and scores, and the side page with the settings.
RESULTS_TAB = "Backtest results"
SETTINGS_PAGE = "Backtest settings"


class BacktestController(RunFiles, QObject):
    """Adapts the Backtest results tab, its settings page and the window's results.

    Attributes
    ----------
    outcome
        The last finished backtest with its model, or ``None`` (none yet, cancelled, or a run
        opened from disk, which has no model in memory).
    result, model_name, manifest, data_tag
        What the tab shows (the session's :class:`~stockapp.session.state.Results`): from the
        last backtest or from an opened run folder, and the data it came from.
    """

    backtest_started = Signal()
    #: The finished :class:`~stockapp.models.runner.BacktestOutcome`, or ``None`` when cancelled
    #: or failed.
    backtest_finished = Signal(object)
    #: The folder of a run opened from disk (File > Runs… or Open run folder), once shown.
    run_opened = Signal(object)
    #: The folder of a run whose forward record was asked for in the Runs list (issue 25).
    forward_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = Session()
        self._window: Any = None
        self._training: Any = None
        self._worker: GeneratorWorker | None = None
        self._job_tag: DataTag | None = None
        self._job_model_history: Any = None
        self.panel = BacktestPanel()
        self._progress = BacktestProgressShower(self.panel, lambda: self._window)
        self.tab = ResultsTab()
        self.view, self.table = self.tab.view, self.tab.table
        self.splitter = self.tab.splitter
        self.data_label, self.reload_button = self.tab.data_label, self.tab.reload_button
        self.reload_button.clicked.connect(self.load_results_data)
        self.tab.series_chosen.connect(lambda name: self.session.show_series(name))
        self.panel.run_requested.connect(self.start_backtest)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.settings_changed.connect(self._share_split)
        self._make_file_actions()
        self.run_action = QAction("Run backtest", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+B"))
        self.run_action.setToolTip("Run a walk-forward backtest with the Backtest settings page.")
        self.run_action.triggered.connect(self.start_backtest)
        self._follow(self.session)
        self._update_actions()

    # ------------------------------------------------------------------ the results, in the session
    @property
    def bands_view(self) -> Any:
        """The calibration charts (made when a distribution head's results first show)."""
        return self.tab.bands_view

    @property
    def outcome(self) -> Any:
        results = self.session.results
        return None if results is None else results.outcome

    @property
    def result(self) -> BacktestResult | None:
        return None if self.session.results is None else self.session.results.result

    @property
    def model_name(self) -> str:
        return "Model" if self.session.results is None else self.session.results.model_name

    @property
    def manifest(self) -> RunManifest | None:
        return None if self.session.results is None else self.session.results.manifest

    @manifest.setter
    def manifest(self, manifest: RunManifest) -> None:
        if self.session.results is not None:
            self.session.results = dataclasses.replace(self.session.results, manifest=manifest)

    @property
    def data_tag(self) -> DataTag | None:
        return None if self.session.results is None else self.session.results.data_tag

    # ------------------------------------------------------------------ window
    def attach(self, window: Any, training_controller: Any) -> None:
        """Put the tab, the side panel and the File menu entries into ``window`` and follow
        its session; the model settings are ``training_controller``'s."""
        self._window = window
        self._training = training_controller
        if self.parent() is None:
            self.setParent(window)
        self.session = window.session
        self._follow(self.session)
        window.add_tab(self.tab, RESULTS_TAB)
        window.add_side_panel(self.panel, SETTINGS_PAGE)
        for action in self.file_actions:
            window.add_file_action(action)
        window.add_run_action(self.run_action)
        training_controller.model_trained.connect(self._hint_backtest)
        training_controller.panel.settings_changed.connect(self.update_spans)
        self._data_changed()
        self._share_split()

    def _follow(self, session: Session) -> None:
        session.data_changed.connect(self._data_changed)
        session.model_changed.connect(lambda _model: self._offer_trained_model())
        session.inputs_changed.connect(lambda _inputs: self._offer_trained_model())
        session.results_changed.connect(self._results_changed)
        session.slot.changed.connect(self._slot_changed)
        self._slot_changed()

    def _slot_changed(self, *_: object) -> None:
        self.panel.controls.set_blocked(self.session.slot.blocked_for("backtest"))

    def _data_changed(self) -> None:
        self.panel.set_has_data(self.session.series is not None)
        self._offer_trained_model()
        self._show_data_header()
        self.update_spans()

    def update_spans(self, *_: object) -> None:
        """Shade on the Prices tab the span the backtest will forecast and its first fit's
        validation slice, as the engine and the trainer cut them; nothing on unusable settings."""
        if self._window is None:
            return
        chart = self._window.chart
        series = self.session.series
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
        self.panel.show_test_start(test)

    def _hint_backtest(self, _model: object) -> None:
        """After a training, point at the next step without taking the Model page away."""
        if self._window is not None and not self.is_running():
            self._window.show_message(
                "Model trained. Next, press Run backtest (Ctrl+B) to test these settings on "
                "bars the model never saw."
            )

    def _share_split(self, *_: object) -> None:
        """Training from the Training tab keeps out the same test span as the backtest."""
        try:
            self.session.split = self.panel.settings()
        except StockappError:
            pass  # an unusable combination: the training keeps the last usable split
        self._offer_trained_model()
        self.update_spans()

    def trained_model_span(self) -> tuple[str | None, str]:
        """The span of the model just trained when it can forecast this test span, else
        ``(None, why not)`` (see :meth:`~stockapp.session.state.Session.reusable_model`)."""
        return self.session.reusable_model(self.panel.settings)

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

        Returns False (after one sentence) when there is nothing to run on, another job runs or
        a setting is unusable; errors while running arrive later through the worker.
        """
        if self.is_running():
            return False
        why = self.session.slot.why_not("backtest")
        if why:
            self._error(why)
            return False
        series = self.session.series
        if series is None:
            self._error("Load a price series before running a backtest.")
            return False
        if self._training is None:
            self._error("The backtest needs the model settings panel; attach it to a window.")
            return False
        ensure_models()  # waits for the model code when the window was quicker
        model = self.session.model
        forecaster = None
        try:
            settings = self.panel.settings()
            if self.panel.use_trained:
                span, why = self.trained_model_span()
                if span is None:
                    raise StockappError(why)
                # A copy: refits fine-tune it, and the Model page keeps the model it trained.
                forecaster = AlreadyFitted(
                    copy.deepcopy(model.forecaster), model.result, model.trained_dates
                )
                spec, cfg = model.forecaster.spec, model.forecaster.cfg
            else:
                spec = self._training.spec()
                cfg = self._training.panel.config()
            spec.check_columns(series.frame.columns)
        except StockappError as exc:
            self._error(str(exc))
            return False
        self._job_tag = DataTag.of(series, spec.adjusted)
        self._job_model_history = None if forecaster is None else model.result
        threads = gui_job_threads(self._training.panel.use_all_cores())
        calibration = self._training.panel.calibration()  # the Model page's Bands choice
        worker = GeneratorWorker(
            backtest_job(
                series,
                spec,
                cfg,
                settings,
                threads,
                forecaster,
                calibration,
                inputs=self.session.inputs,
            ),
            self,
            min_interval_s=PROGRESS_INTERVAL_S,
            always=always_sent,
        )
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._progress = BacktestProgressShower(self.panel, lambda: self._window)
        self.session.show_results(None)
        self.panel.set_busy(True)
        others = self.session.inputs.summary()
        with_text = f" with {others}" if others else ""
        self.panel.show_status(f"Backtesting {self._job_tag.text()}{with_text}…")
        self._window.show_side_panel(self.panel)
        self._window.show_message("")  # the "Model ready" hint has been followed
        self.session.slot.take("backtest")
        worker.start()
        self._window.register_worker(
            worker,
            f"Backtesting {series.name}…",
            loses=f"the backtest of {series.name} under way (nothing of it is kept)",
        )
        self.backtest_started.emit()
        return True

    def _on_progress(self, p: object) -> None:
        self._progress.show(p)

    def _on_finished(self, outcome: object) -> None:
        self.session.slot.release("backtest")
        self.panel.set_busy(False)
        cancelled = self._worker is not None and self._worker.cancelled
        if outcome is not None and not cancelled:
            self.session.show_results(Results.live(outcome, self._job_tag))
            self.panel.show_progress(1.0, "done")
            self.panel.show_status(backtest_done_text(outcome))
            trained = self._job_model_history
            if trained is not None:  # the first fit was the Model page's training: show its loss
                self.panel.loss_chart.set_history(
                    trained.train_losses, trained.val_losses, trained.best_epoch or None
                )
            self._show_tab()  # the results, not the training's loss, are what was asked for
            self.backtest_finished.emit(self.outcome)  # of several series, the one shown
            return
        self.panel.show_progress(0.0, "cancelled")
        self.panel.show_status("The backtest was cancelled; nothing was kept.")
        self.backtest_finished.emit(None)

    def _on_failed(self, message: str) -> None:
        self.session.slot.release("backtest")
        self.panel.set_busy(False)
        self.panel.show_progress(0.0, "failed")
        self._error(message)
        self.backtest_finished.emit(None)

    # ---------------------------------------------------------------- showing
    def _show_tab(self) -> None:
        tabs = getattr(self._window, "tabs", None)
        if isinstance(tabs, QTabWidget) and tabs.indexOf(self.tab) >= 0:
            tabs.setCurrentWidget(self.tab)

    def _show(self, result: BacktestResult | None, model_name: str = "Model") -> None:
        """Show ``result`` as results of unrecorded data (``None``: show none)."""
        self.session.show_results(None if result is None else Results(result, model_name))

    def _results_changed(self, results: Results | None) -> None:
        quality = None if self.manifest is None else self.manifest.quality_warnings
        self.tab.show_results(results, quality)
        self._show_data_header()

    def is_stale(self) -> bool:
        """Whether the results shown came from other data than the window shows now."""
        return self.session.results_are_stale()

    def _show_data_header(self) -> None:
        self.tab.show_header(self.session.results_header())
        self._update_actions()

    def load_results_data(self) -> bool:
        """Load the data the results shown came from (sample, CSV file or ticker)."""
        if self._window is None or self.data_tag is None:
            return False
        return self._window.data_panel.load_tag(self.data_tag)
