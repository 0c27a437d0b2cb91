"""The Inside tab's adapter: explain the last backtest's forecasts, compare RNN, GRU and LSTM.

:class:`InsideController` feeds the :class:`~stockapp.gui.inside.view.InsideView` from the last
backtest (the model it trained and its test bars) or from a run opened from disk (its saved
model, once the window shows the data it was made on), and runs the work in the background:
explaining one forecast (:func:`~stockapp.session.jobs.explain_bar`, a moment's work that does
not take the job slot) and comparing the three kinds (:func:`~stockapp.session.jobs.compare_job`,
a training that takes the window's one job slot, so Train, Run backtest and Run experiment wait
for it and it waits for them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QObject

from stockapp.core.bars import format_dates
from stockapp.errors import StockappError
from stockapp.gui.inside.view import EMPTY, TAB_TITLE, InsideView
from stockapp.gui.widgets.lazy_page import LazyPage
from stockapp.gui.widgets.workers import GeneratorWorker, run_in_background
from stockapp.models.config import MODEL_KINDS
from stockapp.session.data_tag import DataTag
from stockapp.session.jobs import compare_job, explain_bar
from stockapp.session.preload import ensure_models
from stockapp.session.state import Session

__all__ = ["EMPTY", "TAB_TITLE", "InsideController", "InsideView"]


class InsideController(QObject):
    """Feeds the Inside tab from the last backtest and runs its work in the background."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: The tab's page; its charts are built when first shown or drawn into (start-up time).
        self.page = LazyPage(self._make_view)
        self.page.built.connect(self._update_compare)
        self.session = Session()
        self._window: Any = None
        self._forecaster: Any = None
        self._prices = None
        self._dates: list[str] = []
        self._first_test = 0
        self._result: Any = None
        self._intraday = False
        self._wanted: Any = None  # a clicked bar to explain once an opened run's data is back
        self._backtest: Any = None
        self._pending: tuple[Any, Any, Any] | None = None  # an opened run awaiting its data
        self._opened: tuple[Any, Any, Any] | None = None  # the opened run shown (or awaited)
        self._made_on: DataTag | None = None  # the data the model shown was made on
        self._explain_worker: GeneratorWorker | None = None
        self._kinds_worker: GeneratorWorker | None = None

    @property
    def view(self) -> InsideView:
        """The tab's charts (built now if they were not yet)."""
        return self.page.content()  # type: ignore[return-value]

    def _make_view(self) -> InsideView:
        view = InsideView()
        view.date_chosen.connect(self.explain)
        view.compare_requested.connect(self.compare)
        view.cancel_requested.connect(self.cancel)
        view.compare_button.setEnabled(False)
        if self._backtest is not None:
            view.load_button.clicked.connect(self._backtest.load_results_data)
        return view

    def attach(self, window: Any, backtest_controller: Any) -> None:
        """Add the tab to ``window`` and follow ``backtest_controller``'s finished backtests."""
        self._window = window
        if self.parent() is None:
            self.setParent(window)
        self.session = window.session
        window.add_tab(self.page, TAB_TITLE)
        self._backtest = backtest_controller
        backtest_controller.backtest_finished.connect(self._backtest_finished)
        backtest_controller.tab.series_chosen.connect(  # another series of a run of several
            lambda _name: self._backtest_finished(backtest_controller.outcome)
        )
        backtest_controller.view.forecast_clicked.connect(self.show_forecast)
        backtest_controller.run_opened.connect(self.open_run)
        self.session.data_changed.connect(self._data_changed)
        self.session.slot.changed.connect(lambda _holder: self._update_compare())

    def _backtest_finished(self, outcome: object) -> None:
        series = self.session.series
        if outcome is None or series is None:
            return
        self._pending = None
        self._opened = None
        prices = getattr(outcome, "prices", None)  # with other inputs: the frame it read
        if prices is None:
            prices = series.prices(outcome.forecaster.spec.adjusted)
        self.set_model(outcome.forecaster, prices, outcome.result)

    def show_forecast(self, date: Any) -> None:
        """Bring the tab forward at the forecast of test bar ``date`` (a timestamp)."""
        if self._forecaster is None:
            self._wanted = date  # an opened run waiting for its data: explain this bar then
        elif self._label(date) in self._dates:
            self.view.date_box.setCurrentText(self._label(date))
        tabs = getattr(self._window, "tabs", None)
        if tabs is not None and tabs.indexOf(self.page) >= 0:
            tabs.setCurrentWidget(self.page)

    def _label(self, date: Any) -> str:
        return format_dates(pd.DatetimeIndex([date]), intraday=self._intraday)[0]

    def open_run(self, folder: Any) -> None:
        """Follow a run opened from disk: its saved model, on its data once the window has it."""
        folder = Path(folder)
        self._pending = self._wanted = self._opened = None
        self._forget_model()
        results = getattr(getattr(self._backtest, "session", None), "results", None)
        several = None if results is None else results.several
        if several is not None:
            self.view.clear(
                f"The run in {folder.name} forecast {len(several.outcomes)} series; Inside looks "
                "at a model of one series, so run the backtest again to look inside (its "
                "forecasts and scores are on the other pages)."
            )
            return
        if not (folder / "model").is_dir():
            self.view.clear(
                f"The run in {folder.name} was saved without its model, so there is nothing "
                "to look inside."
            )
            return
        ensure_models()
        from stockapp.models.forecaster import RecurrentForecaster

        try:
            model = RecurrentForecaster.load(folder / "model")
        except StockappError as exc:
            self.view.clear(str(exc))
            return
        tag = DataTag.from_manifest(self._backtest.manifest)
        manifest = self._backtest.manifest
        self._pending = self._opened = (model, self._backtest.result, tag, manifest)
        self._follow_pending()

    def _data_changed(self) -> None:
        """Other data on screen: the charts of a model made on other data go, with its
        comparison; an opened run waits for its data to come back."""
        if self._pending is None and self._forecaster is not None:
            if self.session.same_data(self._made_on):
                return
            self._forget_model()
            if self._opened is None:
                self.view.clear(EMPTY)
                return
            self._pending = self._opened
        self._follow_pending()

    def _follow_pending(self) -> None:
        """Explain the opened run once the window shows the data it was made on."""
        if self._pending is None or self._window is None:
            return
        model, result, tag, manifest = self._pending
        series = self.session.series
        if self.session.same_data(tag):
            self._pending = None
            self.view.load_button.setVisible(False)
            prices = series.prices(model.spec.adjusted)
            if getattr(manifest, "covariates", None) or getattr(manifest, "calendar", None):
                from stockapp.session.run_inputs import reload_inputs

                try:  # the other series it read, loaded again and aligned as in training
                    inputs = reload_inputs(manifest, model.spec.adjusted, whole=True)
                    prices = inputs.align(prices, series.name)
                except StockappError as exc:
                    self.view.clear(str(exc))
                    return
            self.set_model(model, prices, result)
            return
        self._forget_model()
        if tag is None:
            self.view.clear(
                "This run does not record the data it was made on, so its forecasts cannot be "
                "explained from the data on screen."
            )
            return
        reload_text = tag.reload_text()
        self.view.clear(
            f"This run's forecasts were made on {tag.text()} but the window shows "
            f"{self.session.data_text()}; "
            + (f"press “{reload_text}” to look inside them." if reload_text else
               "load that data to look inside them.")
        )  # fmt: skip
        self.view.load_button.setText(reload_text)
        self.view.load_button.setVisible(bool(reload_text))

    def _forget_model(self) -> None:
        self._forecaster, self._prices, self._dates, self._result = None, None, [], None
        self._update_compare()

    def set_model(self, forecaster: Any, prices, result: Any) -> None:
        """Explain ``forecaster``'s forecasts of ``result``'s test bars, drawn from ``prices``."""
        self.view.load_button.setVisible(False)
        self._made_on = self.session.data_tag()
        self._intraday = bool(result.intraday)
        self._forecaster, self._prices = forecaster, prices
        self._dates = format_dates(result.dates, intraday=result.intraday)
        self._first_test = int(prices.index.get_loc(result.dates[0]))
        self._result = result
        self._update_compare()
        wanted = self._label(self._wanted) if self._wanted is not None else None
        self._wanted = None
        current = wanted if wanted in self._dates else self._dates[-1]
        self.view.set_dates(self._dates, current)
        self.explain(current)

    def explain(self, date: str) -> GeneratorWorker | None:
        """Compute the explanation of the forecast of test bar ``date`` in the background."""
        if self._forecaster is None or date not in self._dates:
            return None
        owner = self._forecaster
        try:  # the fit that made this forecast (a run keeps every fit's weights)
            work, fit = explain_bar(owner, self._result, self._prices, self._dates.index(date))
        except StockappError as exc:
            self._failed(str(exc))
            return None
        worker = run_in_background(
            work,
            self,
            on_finished=lambda ex: self._explained(ex, owner, fit),
            on_failed=self._failed,
        )
        self._explain_worker = worker
        if self._window is not None:
            self._window.register_worker(worker, f"Explaining the forecast of {date}…")
        return worker

    def _explained(self, ex: Any, model: Any = None, fit: Any = None) -> None:
        if model is not None and model is not self._forecaster:
            return  # another model (a newer backtest or an opened run) came meanwhile
        if self.view.date_box.currentText() in ("", ex.date):
            used = self._forecaster if fit is None else fit.forecaster
            last = getattr(used, "last_result", None)
            self.view.show_explanation(ex, epochs=getattr(last, "gradient_flow_epochs", None))
            if fit is None or fit.count <= 1 and not fit.note:
                return
            if fit.count > 1 and "Faint line" in self.view.flow_text.text():
                self.view.flow_text.setText(
                    self.view.flow_text.text() + f" Recorded during fit {fit.used + 1}'s training."
                )
            made = ""
            if fit.count > 1:
                through = getattr(fit.fit, "trained_through", None)
                made = f" Made by fit {fit.index + 1} of {fit.count}" + (
                    f", trained through {through}." if through else "."
                )
            note = f" {fit.note}" if fit.note else ""
            self.view.heading.setText(self.view.heading.text() + made + note)

    # ------------------------------------------------------------------ comparing kinds
    def compare(self, epochs: int | None = None) -> GeneratorWorker | None:
        """Train RNN, GRU and LSTM on the training bars (``epochs`` each, default
        :data:`~stockapp.models.explain.COMPARE_EPOCHS`) and overlay their gradient flow."""
        if self._forecaster is None or self.is_comparing():
            return None
        why = self.session.slot.why_not("compare")
        if why:
            self._failed(why)
            return None
        spec, cfg = self._forecaster.spec, self._forecaster.cfg
        past = self._prices.iloc[: self._first_test]
        worker = GeneratorWorker(compare_job(past, spec, cfg, epochs), self)
        worker.progress.connect(self._kinds_progress)
        owner = self._forecaster
        worker.finished.connect(lambda result: self._kinds_finished(result, owner))
        worker.failed.connect(self._failed)
        worker.done.connect(self._compare_done)
        self._kinds_worker = worker
        self.session.slot.take("compare")
        self.view.set_busy(True, 0.0, "starting…")
        worker.start()
        if self._window is not None:
            self._window.register_worker(worker, "Comparing RNN, GRU and LSTM…")
        return worker

    def is_comparing(self) -> bool:
        return self._kinds_worker is not None and self._kinds_worker.is_running()

    def cancel(self) -> None:
        if self._kinds_worker is not None:
            self._kinds_worker.cancel()

    def _compare_done(self) -> None:
        self.session.slot.release("compare")
        self.view.set_busy(False)
        self._update_compare()

    def _update_compare(self) -> None:
        """Compare needs a model, and the job slot free; its tooltip says why not."""
        if not self.page.is_built():
            return  # set when the view is made
        blocked = self.session.slot.blocked_for("compare")
        if not self.is_comparing():
            self.view.compare_button.setEnabled(self._forecaster is not None and not blocked)
        self.view.compare_button.setToolTip(blocked or self.view.COMPARE_TIP)

    def _kinds_progress(self, p: Any) -> None:
        done = (p.index - 1 + (p.epoch - (p.flow is None)) / max(p.epochs, 1)) / p.count
        text = f"{MODEL_KINDS[p.kind]} {p.index}/{p.count} · epoch {p.epoch}/{p.epochs}"
        self.view.set_busy(True, max(0.0, done), text)

    def _kinds_finished(self, result: Any, owner: Any = None) -> None:
        if owner is not None and owner is not self._forecaster:
            return  # made for a model no longer shown (other data came meanwhile)
        if result.cancelled and not result.flows:
            self.view.kinds_text.setText(
                "Cancelled before any kind finished; the chart keeps what it showed."
            )
            return
        self.view.show_kinds(result)

    def _failed(self, message: str) -> None:
        if self._window is not None:
            self._window.show_error(message)
        else:
            self.view.heading.setText(message)
