"""The Data page's widgets: a bundled sample, a CSV file, a Yahoo Finance ticker, adjusted closes.

:class:`DataForm` only builds the form and remembers what was typed in it (dates, bar size,
recent tickers, adjusted); what pressing its buttons does is
:class:`~stockapp.gui.data.panel.DataPanel`'s.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stockapp.data.samples import list_samples
from stockapp.gui.settings import app_settings, read_bool, read_list, read_str

INTERVALS = (("Daily", "1d"), ("Weekly", "1wk"))
MAX_RECENT = 8


def ask_csv_path(parent: QWidget, title: str) -> str:
    """Ask for a price CSV file in the folder last opened; "" when none was chosen."""
    folder = read_str(app_settings(), "data/last_dir", str(Path.home()))
    path, _ = QFileDialog.getOpenFileName(
        parent, title, folder, "CSV files (*.csv *.txt);;All files (*)"
    )
    return path


class DataForm(QWidget):
    """The Data page's controls, laid out, with the form's values from the last launch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build()
        self._restore_form()

    def _build(self) -> None:
        self.sample_combo = QComboBox()
        for info in list_samples():
            self.sample_combo.addItem(info.name, info.name)
            self.sample_combo.setItemData(
                self.sample_combo.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole
            )
        # A button as well as the list: picking the sample the list already shows (after a CSV
        # or a ticker replaced it) must load it again, which a list's own signal cannot promise.
        self.sample_load_button = QPushButton("Load")
        self.sample_load_button.setToolTip("Load the sample shown in the list")
        samples = QGroupBox("Bundled sample")
        samples_layout = QHBoxLayout(samples)
        samples_layout.addWidget(self.sample_combo, 1)
        samples_layout.addWidget(self.sample_load_button)

        self.open_csv_button = QPushButton("Open CSV…")
        self.open_csv_button.setToolTip("Load daily prices from a CSV file (Yahoo Finance format)")
        self.csv_label = QLabel("No file opened")
        self.csv_label.setObjectName("hint")
        self.csv_label.setWordWrap(True)
        files = QGroupBox("CSV file")
        files_layout = QVBoxLayout(files)
        files_layout.addWidget(self.open_csv_button)
        files_layout.addWidget(self.csv_label)

        self.ticker_edit = QLineEdit()
        self.ticker_edit.setPlaceholderText("Ticker, e.g. MSFT")
        self.start_edit = self._date_edit()
        self.end_edit = self._date_edit()
        self.interval_combo = QComboBox()
        for label, code in INTERVALS:
            self.interval_combo.addItem(label, code)
        self.load_button = QPushButton("Load")
        self.load_button.setDefault(True)
        self.load_button.setToolTip("Download the prices from Yahoo Finance (cached on disk)")
        self.recent_list = QListWidget()
        self.recent_list.setToolTip("Click a ticker to load it again")
        self.recent_list.setMaximumHeight(84)
        ticker_row = QHBoxLayout()
        ticker_row.addWidget(self.ticker_edit, 1)
        ticker_row.addWidget(self.load_button)
        web = QGroupBox("Yahoo Finance")
        form = QFormLayout(web)
        form.addRow(ticker_row)
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow("Bars", self.interval_combo)
        self.recent_label = QLabel("Recent")
        form.addRow(self.recent_label)
        form.addRow(self.recent_list)

        self.adjusted_check = QCheckBox("Adjusted close (splits and dividends)")
        self.adjusted_check.setToolTip(
            "Use the Adj Close column, and scale Open/High/Low with it, when the data has one"
        )
        self.adjusted_check.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (samples, files, web):
            layout.addWidget(box)
        layout.addWidget(self.adjusted_check)

    @staticmethod
    def _date_edit() -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMaximumDate(QDate.currentDate())
        return edit

    def _restore_form(self) -> None:
        settings = app_settings()
        today = QDate.currentDate()
        start = QDate.fromString(read_str(settings, "data/last_start"), "yyyy-MM-dd")
        end = QDate.fromString(read_str(settings, "data/last_end"), "yyyy-MM-dd")
        self.start_edit.setDate(start if start.isValid() else today.addYears(-10))
        self.end_edit.setDate(end if end.isValid() else today)
        index = self.interval_combo.findData(read_str(settings, "data/last_interval", "1d"))
        self.interval_combo.setCurrentIndex(max(index, 0))
        self._show_recent(read_list(settings, "data/recent_tickers"))
        self.adjusted_check.setChecked(read_bool(settings, "data/adjusted", True))

    def recent_tickers(self) -> list[str]:
        return [self.recent_list.item(i).text() for i in range(self.recent_list.count())]

    def _remember_ticker(self, symbol: str) -> None:
        recent = [symbol] + [t for t in self.recent_tickers() if t != symbol]
        recent = recent[:MAX_RECENT]
        self._show_recent(recent)
        app_settings().setValue("data/recent_tickers", recent)

    def _show_recent(self, tickers: list[str]) -> None:
        self.recent_list.clear()
        self.recent_list.addItems(tickers)
        self.recent_label.setVisible(bool(tickers))
        self.recent_list.setVisible(bool(tickers))
