"""The data panel: choose which prices to study (a bundled sample, a CSV file or a ticker).

The form is :class:`~stockapp.gui.data.view.DataForm`; loading is the window's and the command
line's one way (:func:`stockapp.session.loading.load_series`). Samples and CSV files are read on
the GUI thread (a few thousand rows take milliseconds); ticker
downloads run in a :class:`~stockapp.gui.widgets.workers.GeneratorWorker` announced through
:attr:`DataPanel.worker_started`, so the window can show it as busy and wait for it on close. A
failed load only emits :attr:`DataPanel.failed` with one sentence: whatever was loaded before stays.
The last choice and the recent tickers are remembered in the app settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from stockapp.data.series import PriceSeries
from stockapp.errors import AmbiguousDates, StockappError
from stockapp.gui.data.inputs import InputsBox
from stockapp.gui.data.view import INTERVALS, MAX_RECENT, DataForm, ask_csv_path
from stockapp.gui.settings import app_settings, read_str
from stockapp.gui.widgets.workers import GeneratorWorker, failure_message, run_in_background
from stockapp.session.data_tag import DataTag
from stockapp.session.loading import csv_file, load_series, sample, ticker

__all__ = ["DEFAULT_SAMPLE", "INTERVALS", "MAX_RECENT", "DataChoice", "DataPanel"]

log = logging.getLogger(__name__)

DEFAULT_SAMPLE = "AAPL"


@dataclass(frozen=True)
class DataChoice:
    """What the user chose to load, as remembered between launches.

    ``kind`` is ``"sample"``, ``"csv"`` or ``"ticker"``; ``value`` the sample name, file path or
    symbol; ``start``/``end`` (ISO dates, may be empty) and ``interval`` apply to tickers only;
    ``dayfirst`` (``"day"``, ``"month"`` or empty) to CSV files whose dates read both ways.
    """

    kind: str
    value: str
    start: str = ""
    end: str = ""
    interval: str = "1d"
    dayfirst: str = ""

    def save(self) -> None:
        """Remember this choice; a sample or file keeps the last ticker's dates in the form."""
        settings = app_settings()
        keys = {
            "ticker": ("kind", "value", "start", "end", "interval"),
            "csv": ("kind", "value", "dayfirst"),
        }.get(self.kind, ("kind", "value"))
        for key in keys:
            settings.setValue(f"data/last_{key}", getattr(self, key))

    @classmethod
    def last(cls) -> DataChoice | None:
        """The remembered choice, or None when nothing (valid) was remembered."""
        settings = app_settings()
        kind = read_str(settings, "data/last_kind")
        value = read_str(settings, "data/last_value")
        if kind not in ("sample", "csv", "ticker") or not value:
            return None
        return cls(
            kind,
            value,
            read_str(settings, "data/last_start"),
            read_str(settings, "data/last_end"),
            read_str(settings, "data/last_interval", "1d"),
            read_str(settings, "data/last_dayfirst") if kind == "csv" else "",
        )


class DataPanel(DataForm):
    """Pick a sample, open a CSV or download a ticker; say what was loaded or why not.

    Signals
    -------
    series_loaded(PriceSeries, DataChoice)
        a load succeeded; the choice has already been remembered.
    failed(str)
        a load failed; one sentence for a person.
    worker_started(GeneratorWorker, str)
        a background load began, with a short busy message ("Downloading MSFT…").
    adjusted_changed(bool)
        the "adjusted close" box was toggled.
    """

    series_loaded = Signal(object, object)
    failed = Signal(str)
    worker_started = Signal(object, str)
    adjusted_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ticker_worker: GeneratorWorker | None = None
        self.sample_combo.activated.connect(
            lambda index: self.load_sample(self.sample_combo.itemData(index))
        )
        self.sample_load_button.clicked.connect(
            lambda: self.load_sample(self.sample_combo.currentData())
        )
        self.open_csv_button.clicked.connect(self.open_csv_dialog)
        self.ticker_edit.returnPressed.connect(lambda: self.load_ticker())
        self.load_button.clicked.connect(lambda: self.load_ticker())
        self.recent_list.itemClicked.connect(lambda item: self.load_ticker(item.text()))
        self.adjusted_check.toggled.connect(self._adjusted_toggled)
        self.inputs_box = InputsBox()  # other series as inputs (issue 24)
        self.inputs_box.ask_date_order = lambda error: self.ask_date_order(error)
        self.inputs_box.failed.connect(self.failed)
        self.layout().addWidget(self.inputs_box)

    # ------------------------------------------------------------------ state

    @property
    def adjusted(self) -> bool:
        """Whether adjusted prices are wanted (and the loaded series has them)."""
        return self.adjusted_check.isEnabled() and self.adjusted_check.isChecked()

    def is_loading(self) -> bool:
        """Whether a ticker download is under way."""
        return self._ticker_worker is not None and self._ticker_worker.is_running()

    # ------------------------------------------------------------------ loading

    def load_choice(self, choice: DataChoice) -> bool:
        """Load a remembered choice; False when it failed (or, for a ticker, could not start)."""
        if choice.kind == "sample":
            return self.load_sample(choice.value)
        if choice.kind == "csv":
            order = {"day": True, "month": False}.get(choice.dayfirst)
            return self.load_csv_path(choice.value, dayfirst=order)
        start = date.fromisoformat(choice.start) if choice.start else None
        end = date.fromisoformat(choice.end) if choice.end else None
        return self.load_ticker(choice.value, start, end, choice.interval) is not None

    def load_tag(self, tag: DataTag) -> bool:
        """Load the data a result names (its typed source, adjusted or raw as it was modelled;
        a ticker over the result's dates); False when it cannot be loaded again."""
        origin = tag.data_source
        if not origin.reloadable:
            return False
        if tag.adjusted != self.adjusted_check.isChecked():
            self.adjusted_check.setChecked(tag.adjusted)
        if origin.kind == "sample":
            return self.load_sample(origin.where)
        if origin.kind == "csv":
            return self.load_csv_path(origin.where, dayfirst=origin.dayfirst)
        try:
            start = date.fromisoformat(tag.first[:10])
            end = date.fromisoformat(tag.last[:10])
        except ValueError:
            start = end = None
        return self.load_ticker(origin.where, start, end, origin.interval) is not None

    def restore_last(self) -> bool:
        """Load the remembered choice; if there is none or it fails, the default sample."""
        choice = DataChoice.last()
        if choice is not None and self.load_choice(choice):
            return True
        return self.load_sample(DEFAULT_SAMPLE)

    def load_sample(self, name: str) -> bool:
        """Load a bundled sample now; False (and :attr:`failed`) when it cannot be read."""
        series = self._load_now(lambda: load_series(sample(name)))
        if series is None:
            return False
        index = self.sample_combo.findData(series.name)
        if index >= 0:
            self.sample_combo.setCurrentIndex(index)
        self._loaded(series, DataChoice("sample", series.name))
        return True

    def load_csv_path(self, path: str | Path, dayfirst: bool | None = None) -> bool:
        """Load a CSV file now; False (and :attr:`failed`) when it cannot be used.

        When its dates read both day first and month first and the file does not tell which,
        :attr:`ask_date_order` asks the person; no answer keeps the data on screen.
        """
        try:
            series = self._load_now(
                lambda: load_series(csv_file(path, dayfirst)), passthrough=AmbiguousDates
            )
        except AmbiguousDates as exc:
            dayfirst = self.ask_date_order(exc)
            if dayfirst is None:
                self.failed.emit(f"{Path(path).name} was not loaded: no date order was chosen.")
                return False
            series = self._load_now(lambda: load_series(csv_file(path, dayfirst)))
        if series is None:
            return False
        self.csv_label.setText(Path(path).name)
        self.csv_label.setToolTip(str(path))
        app_settings().setValue("data/last_dir", str(Path(path).parent))
        order = "" if dayfirst is None else ("day" if dayfirst else "month")
        self._loaded(series, DataChoice("csv", str(Path(path).resolve()), dayfirst=order))
        return True

    def ask_date_order(self, error: AmbiguousDates) -> bool | None:
        """Ask whether a CSV's dates are day first (True) or month first (False); None: cancel.

        Tests replace this attribute with a function giving the answer.
        """
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Which comes first in these dates?")
        box.setText(
            f"Dates such as {error.example} can be read two ways, and this file does not say "
            "which it means. Which is right?"
        )
        day = box.addButton(error.day_first_example.capitalize(), QMessageBox.ButtonRole.YesRole)
        month = box.addButton(error.month_first_example.capitalize(), QMessageBox.ButtonRole.NoRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is day else False if clicked is month else None

    def open_csv_dialog(self) -> None:
        """Ask for a CSV file and load it."""
        path = ask_csv_path(self, "Open price CSV")
        if path:
            self.load_csv_path(path)

    def load_ticker(
        self,
        symbol: str | None = None,
        start: date | None = None,
        end: date | None = None,
        interval: str | None = None,
    ) -> GeneratorWorker | None:
        """Download ``symbol`` in the background (the form's values where not given).

        Returns the worker, or None when the request was refused (no symbol, a bad date range,
        or a download already running); a refusal is explained through :attr:`failed`.
        """
        if self.is_loading():
            return None
        symbol = (symbol or self.ticker_edit.text()).strip().upper()
        if not symbol:
            self.failed.emit("Type a ticker symbol such as MSFT, then press Load.")
            return None
        start = start or self.start_edit.date().toPython()
        end = end or self.end_edit.date().toPython()
        interval = interval or self.interval_combo.currentData()
        if start >= end:
            self.failed.emit(
                f"The start date {start:%Y-%m-%d} must be before the end date {end:%Y-%m-%d}."
            )
            return None
        self.ticker_edit.setText(symbol)
        self.start_edit.setDate(QDate(start))
        self.end_edit.setDate(QDate(end))
        self.interval_combo.setCurrentIndex(max(self.interval_combo.findData(interval), 0))
        choice = DataChoice("ticker", symbol, start.isoformat(), end.isoformat(), interval)
        until = end + timedelta(days=1)  # the form's "To" is inclusive, the loader's end is not
        worker = run_in_background(
            lambda: load_series(ticker(symbol, interval), start=start, end=until), self
        )
        worker.finished.connect(lambda series: self._ticker_loaded(worker, series, choice))
        worker.failed.connect(lambda message: self._ticker_failed(worker, message))
        self._ticker_worker = worker
        self.load_button.setEnabled(False)
        self.worker_started.emit(worker, f"Downloading {symbol} from Yahoo Finance…")
        return worker

    def cancel(self) -> None:
        """Forget a running download: its result, when it comes, is dropped."""
        if self._ticker_worker is not None:
            self._ticker_worker.cancel()
            self._ticker_worker = None
        self.load_button.setEnabled(True)

    # ------------------------------------------------------------------ internals

    def _load_now(
        self, load: Callable[[], PriceSeries], passthrough: type[Exception] | tuple = ()
    ) -> PriceSeries | None:
        """``load()``, or None after saying why in :attr:`failed` (``passthrough`` is raised)."""
        try:
            series = load()
        except passthrough:
            raise
        except StockappError as exc:
            self.failed.emit(str(exc))
            return None
        except Exception as exc:  # a bug, not the user's fault: log it, say one sentence
            log.error("loading prices failed", exc_info=exc)
            self.failed.emit(failure_message(exc))
            return None
        self.cancel()  # a newer choice wins over a download still running
        return series

    def note_series(self, series: PriceSeries) -> None:
        """Match the controls to the series on screen (adjusted close only when it has one)."""
        self.adjusted_check.setEnabled(series.has_adjusted)

    def _loaded(self, series: PriceSeries, choice: DataChoice) -> None:
        choice.save()
        self.note_series(series)
        self.series_loaded.emit(series, choice)

    def _ticker_loaded(self, worker: GeneratorWorker, series: object, choice: DataChoice) -> None:
        if worker is not self._ticker_worker or worker.cancelled:
            return
        self._ticker_worker = None
        self.load_button.setEnabled(True)
        if not isinstance(series, PriceSeries):
            self.failed.emit(f"The download of {choice.value} returned no prices.")
            return
        self._remember_ticker(choice.value)
        self._loaded(series, choice)

    def _ticker_failed(self, worker: GeneratorWorker, message: str) -> None:
        if worker is not self._ticker_worker or worker.cancelled:
            return
        self._ticker_worker = None
        self.load_button.setEnabled(True)
        self.failed.emit(message)

    def _adjusted_toggled(self, checked: bool) -> None:
        app_settings().setValue("data/adjusted", checked)
        self.adjusted_changed.emit(checked)
