"""The Data page's "Other series" box (issue 24): series (a bundled sample, a CSV file, a ticker)
and calendar inputs that the next backtest's fresh model reads beside the series' own past, as
the command line's ``--with-sample/--with-csv/--with-ticker`` and ``--calendar`` do, and series
it forecasts too, as ``backtest --sample A --sample B ...`` (``--global``: one network).

The choice itself is the session's :class:`~stockapp.session.inputs.InputChoice`; this box only
edits it, remembers it between launches and says what it means. A sample or a file is read when
it is added, so a file that cannot be used is one sentence at once; a ticker is downloaded when
the backtest runs (off the window's thread), over the series' own dates.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.covariates import COVARIATE_FEATURES
from stockapp.data.samples import list_samples
from stockapp.errors import AmbiguousDates, StockappError
from stockapp.gui.data.view import ask_csv_path
from stockapp.gui.settings import app_settings, read_list
from stockapp.gui.widgets.workers import failure_message
from stockapp.session.inputs import CALENDAR_WORDS, FEATURE_WORDS, InputChoice
from stockapp.session.loading import csv_file, load_series, sample, ticker

log = logging.getLogger(__name__)

SETTINGS_KEY = "data/inputs"
#: What the box is for, said under its title.
HINT = (
    "Inputs: a backtest's fresh model also reads them, each forecast only their bars dated "
    "before the bar it forecasts. Series forecast too are backtested beside this one and, three "
    "or more, scored across series."
)
#: The two roles of a series added, in the order of the role list.
ROLES = (("as an input to the model", "input"), ("as a series to forecast too", "target"))


class InputsBox(QGroupBox):
    """Edit the other series and calendar inputs of the next backtest.

    Signals
    -------
    changed(InputChoice)
        the choice changed (and has been remembered).
    failed(str)
        a series could not be added; one sentence for a person.
    """

    changed = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Other series", parent)
        self._choice = InputChoice()
        #: Asks whether a CSV's dates are day first; the Data page gives its own dialog.
        self.ask_date_order = lambda error: None
        self._build()
        self._restore()

    # ------------------------------------------------------------------ the choice
    @property
    def choice(self) -> InputChoice:
        return self._choice

    def set_choice(self, choice: InputChoice) -> None:
        """Show ``choice``, remember it and announce it."""
        self._choice = choice
        self.list.clear()
        self.list.addItems(choice.lines())
        listed = bool(choice.requests or choice.targets)
        self.list.setVisible(listed)
        self.remove_button.setVisible(listed)
        for key, box in [*self.calendar_checks.items(), ("one", self.one_network_check)]:
            box.blockSignals(True)
            box.setChecked(choice.one_network if key == "one" else key in choice.calendar)
            box.blockSignals(False)
        self.one_network_check.setVisible(bool(choice.targets))
        app_settings().setValue(SETTINGS_KEY, choice.to_list())
        self.changed.emit(choice)

    def features(self) -> tuple[str, ...]:
        """The features ticked for the next series added (the log return when none are)."""
        return tuple(k for k, box in self.feature_checks.items() if box.isChecked())

    def add_sample(self, name: str | None = None) -> bool:
        """Add a bundled sample (the list's when not given); False after one sentence."""
        source = sample(name or self.sample_combo.currentData())
        if not self._readable(lambda: load_series(source)):
            return False
        self._add(source)
        return True

    def add_csv(self, path: str | Path, dayfirst: bool | None = None) -> bool:
        """Add a CSV file; its dates' order is asked when the file does not tell it."""
        name = Path(path).name
        try:
            readable = self._readable(
                lambda: load_series(csv_file(str(path), dayfirst)), f"{name} cannot be an input: "
            )
        except AmbiguousDates as exc:
            dayfirst = self.ask_date_order(exc)
            if dayfirst is None:
                self.failed.emit(f"{name} was not added: no date order was chosen.")
                return False
            return self.add_csv(path, dayfirst)
        if readable:
            self._add(csv_file(str(Path(path).resolve()), dayfirst))
        return readable

    def add_ticker(self, symbol: str | None = None) -> bool:
        """Add a Yahoo Finance ticker (downloaded when the backtest runs, over its dates)."""
        symbol = (symbol if symbol is not None else self.ticker_edit.text()).strip().upper()
        if not symbol:
            self.failed.emit("Type the ticker of the series to add as an input, such as SPY.")
            return False
        self.ticker_edit.clear()
        self._add(ticker(symbol, "1d"))
        return True

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._choice.requests):
            self.set_choice(self._choice.without(row))

    # ------------------------------------------------------------------ internals
    def _add(self, source) -> None:
        if self.role_combo.currentData() == "target":
            self.set_choice(self._choice.add_target(source))
        else:
            self.set_choice(self._choice.add(source, self.features()))

    def _role_changed(self) -> None:
        for box in self.feature_checks.values():
            box.setEnabled(self.role_combo.currentData() == "input")

    def _readable(self, load, prefix: str = "") -> bool:
        """Whether ``load()`` reads the series; else False after one sentence (``prefix`` before
        a data error's own). A CSV's ambiguous dates are raised for the caller to ask."""
        try:
            load()
        except AmbiguousDates:
            raise
        except StockappError as exc:
            self.failed.emit(prefix + str(exc))
            return False
        except Exception as exc:  # a bug: logged, one sentence
            log.error("reading an input failed", exc_info=exc)
            self.failed.emit(failure_message(exc))
            return False
        return True

    def _open_csv(self) -> None:
        path = ask_csv_path(self, "Add a CSV file as an input")
        if path:
            self.add_csv(path)

    def _calendar_toggled(self) -> None:
        keys = [k for k, box in self.calendar_checks.items() if box.isChecked()]
        self.set_choice(self._choice.with_calendar(keys))

    def _restore(self) -> None:
        choice = InputChoice.from_list(read_list(app_settings(), SETTINGS_KEY))
        self.set_choice(choice)

    def _build(self) -> None:
        hint = QLabel(HINT)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.list = QListWidget()
        self.list.setMaximumHeight(72)
        self.list.setToolTip("The series the model reads besides the one it forecasts")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Stop giving the selected series to the model")
        self.remove_button.clicked.connect(self.remove_selected)

        self.sample_combo = QComboBox()
        for info in list_samples():
            self.sample_combo.addItem(info.name, info.name)
        self.add_sample_button = QPushButton("Add")
        self.add_sample_button.setToolTip("Give the model this sample's bars as inputs")
        self.add_sample_button.clicked.connect(lambda: self.add_sample())
        self.add_csv_button = QPushButton("Add CSV…")
        self.add_csv_button.clicked.connect(self._open_csv)
        self.ticker_edit = QLineEdit()
        self.ticker_edit.setPlaceholderText("Ticker, e.g. SPY")
        self.ticker_edit.returnPressed.connect(lambda: self.add_ticker())
        self.add_ticker_button = QPushButton("Add")
        self.add_ticker_button.setToolTip("Downloaded from Yahoo Finance when the backtest runs")
        self.add_ticker_button.clicked.connect(lambda: self.add_ticker())

        self.feature_checks: dict[str, QCheckBox] = {}
        features = QGridLayout()
        features.setContentsMargins(0, 0, 0, 0)
        for i, key in enumerate(COVARIATE_FEATURES):
            box = QCheckBox(FEATURE_WORDS[key])
            box.setToolTip(f"Take its {COVARIATE_FEATURES[key]}")
            box.setChecked(key == "return")
            self.feature_checks[key] = box
            features.addWidget(box, i // 2, i % 2)
        self.calendar_checks: dict[str, QCheckBox] = {}
        calendar = QHBoxLayout()
        calendar.addWidget(QLabel("Calendar:"))
        for key, words in CALENDAR_WORDS.items():
            box = QCheckBox(words)
            box.setToolTip(f"The {words} of the bar being forecast (known in advance)")
            box.toggled.connect(lambda _checked: self._calendar_toggled())
            self.calendar_checks[key] = box
            calendar.addWidget(box)
        calendar.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.list)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        self.role_combo = QComboBox()
        for words, role in ROLES:
            self.role_combo.addItem(words, role)
        self.role_combo.setToolTip("What the next series added is for")
        self.role_combo.currentIndexChanged.connect(lambda _i: self._role_changed())
        layout.addWidget(QLabel("Add the next series"))
        layout.addWidget(self.role_combo)
        layout.addLayout(features)
        for widgets in (
            (self.sample_combo, self.add_sample_button),
            (self.add_csv_button,),
            (self.ticker_edit, self.add_ticker_button),
        ):
            row = QHBoxLayout()
            for w in widgets:
                row.addWidget(w, 1 if w is widgets[0] and len(widgets) > 1 else 0)
            if len(widgets) == 1:
                row.addStretch(1)
            layout.addLayout(row)
        layout.addLayout(calendar)
        self.one_network_check = QCheckBox("One network across the series forecast")
        self.one_network_check.setToolTip(
            "Train one network on every series forecast (each scaled on its own past, with its "
            "identity as an input) instead of a model each"
        )
        self.one_network_check.toggled.connect(
            lambda on: self.set_choice(self._choice.with_one_network(on))
        )
        self.one_network_check.setVisible(False)
        layout.addWidget(self.one_network_check)
