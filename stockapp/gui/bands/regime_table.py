"""Coverage by volatility regime: how often each forecaster's band held in calm and wild spells.

For one band level (50, 80 or 95%, chosen above the table) each row gives a forecaster's share of
outcomes inside its band over all test bars, in each third of its own forecast sigma (low,
middle, high) and over the :data:`~stockapp.core.bands.AFTER_JUMP` bars from the largest jump in
realised volatility. The calibrated bands come first; the model's and GARCH's own (raw) bands
follow when the backtest calibrated them, so the two can be read side by side. The numbers are the
scores' (``metrics.json``'s ``coverage_80_by_tercile``, ``coverage_80_after_jump``, ...).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.bands import AFTER_JUMP, SUFFIXES
from stockapp.core.distribution import BandForecasts

#: Forecaster key -> row name.
NAMES = {"model": "Model", "garch": "GARCH(1,1)-t", "ewma": "EWMA 0.94", "rolling": "Rolling vol."}
#: Forecasters whose own (uncalibrated) bands get a row of their own when calibrated.
RAW_ROWS = ("model", "garch")
COLUMNS = ("All bars", "Low sigma\nthird", "Middle\nthird", "High sigma\nthird", "After the\njump")
#: A share held further than this from the nominal level is tinted (issue 22's tercile target).
TOLERANCE = 0.05
_OFF = QColor("#fde2c8")


def _percent(v: float) -> str:
    return "–" if not math.isfinite(v) else f"{v * 100:.1f}%"


def regime_cells(scores: object, suffix: str) -> list[float]:
    """Share held over all bars, in each sigma third, and after the jump, at level ``suffix``."""
    return [
        float(getattr(scores, f"coverage_{suffix}")),
        *(float(v) for v in getattr(scores, f"coverage_{suffix}_by_tercile")),
        float(getattr(scores, f"coverage_{suffix}_after_jump")),
    ]


class RegimeTable(QWidget):
    """The level choice and the coverage-by-regime table of one backtest's bands."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bands: BandForecasts | None = None
        self._model_name = "Model"
        self._jump_date = ""
        self._rows: list[tuple[str, bool]] = []
        self.level = QComboBox(self)
        for level, suffix in SUFFIXES.items():
            self.level.addItem(f"{level:.0%} band", suffix)
        self.level.setCurrentIndex(list(SUFFIXES.values()).index("80"))
        self.level.currentIndexChanged.connect(self._fill)
        self.title = QLabel("<b>Coverage by volatility regime</b>", self)
        self.title.setToolTip(
            "Share of outcomes inside each forecaster's band: over all test bars, in each third "
            "of its own forecast sigma, and in the bars after the largest volatility jump. A "
            f"band that holds keeps its level in every column; cells off by more than "
            f"{TOLERANCE * 100:.0f} points are tinted."
        )
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setAlternatingRowColors(True)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addWidget(self.level)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)

    def set_bands(self, bands: BandForecasts | None, model_name: str = "Model", dates=None) -> None:
        """Fill the table from ``bands`` (``None`` empties it); ``dates`` name the jump's bar."""
        self._bands, self._model_name = bands, model_name
        at = None if bands is None else bands.jump()
        self._jump_date = "" if at is None or dates is None else f"{dates[at]:%Y-%m-%d}"
        self._rows = []
        if bands is not None:
            self._rows = [(k, False) for k in NAMES if k in bands.scores]
            if bands.raw is not None:
                self._rows += [(k, True) for k in RAW_ROWS if k in bands.raw.scores]
        self._fill()

    def row_names(self) -> list[str]:
        return [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]

    def cell_text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return "" if item is None else item.text()

    def _row_name(self, key: str, raw: bool) -> str:
        name = self._model_name if key == "model" else NAMES[key]
        if self._bands is None or self._bands.raw is None:
            return name
        return f"{name}, own (raw)" if raw else f"{name}, calibrated"

    def _fill(self) -> None:
        suffix = self.level.currentData()
        nominal = int(suffix) / 100
        self.table.setRowCount(len(self._rows))
        jump = f"{AFTER_JUMP} bars from the largest volatility jump"
        after = self.table.horizontalHeaderItem(len(COLUMNS) - 1)
        after.setToolTip(f"{jump}{f' ({self._jump_date})' if self._jump_date else ''}")
        for row, (key, raw) in enumerate(self._rows):
            source = self._bands.raw if raw else self._bands
            header = QTableWidgetItem(self._row_name(key, raw))
            header.setToolTip(
                "the forecaster's own bands, before the online calibration"
                if raw
                else "the bands drawn and saved (forecasts.csv's lower_/upper_ columns)"
            )
            self.table.setVerticalHeaderItem(row, header)
            for col, v in enumerate(regime_cells(source.scores[key], suffix)):
                item = QTableWidgetItem(_percent(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if math.isfinite(v) and abs(v - nominal) > TOLERANCE:
                    item.setBackground(QBrush(_OFF))
                    item.setForeground(QBrush(QColor("#111827")))
                    item.setToolTip(f"off the nominal {nominal:.0%} by more than 5 points")
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        self.table.setFixedHeight(height + self.table.verticalHeader().length())
