"""The "Across series" page of a backtest that forecast several series (issue 24.5): one row of
scores per series, from the same numbers its own table shows, and below them the cross-section
scores in words (:meth:`~stockapp.core.cross_section.CrossSection.sentences`, three or more
series). Clicking a row shows that series' charts and table; it shows what it is given.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.significance import format_pvalue

#: The table's columns: title and tooltip.
COLUMNS = (
    ("Series", "The series forecast; click a row to show its charts and table"),
    ("Test bars", "Bars forecast in its test span"),
    ("RMSE", "Root mean squared error of the model's price forecasts"),
    ("Skill", "1 - the model's mean squared error / persistence's (positive: smaller errors)"),
    ("p better", "One-sided Diebold-Mariano p that its squared errors are smaller than "
     "persistence's"),
    ("vs pers.", "better or worse where one side's p is below 0.05, else tie"),
    ("Hit %", "Direction called right where forecast and market moved"),
    ("PT p", "Pesaran-Timmermann test of direction skill"),
    ("Rule", "Total return of the trading rule after costs"),
    ("Buy & hold", "Total return of buying at the first test bar and selling at the last"),
)  # fmt: skip
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: When fewer than three series were forecast.
NEEDS_THREE = "Cross-section scores need three or more series."


def series_row(name: str, outcome: Any) -> list[str]:
    """One series' cells, from the metrics its own run writes to ``metrics.json``."""
    m = outcome.result.metrics_dict(outcome.model_name)

    def pct(x: Any) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}"

    def ret(d: Any) -> str:
        total = None if not d else d.get("total_return")
        return "n/a" if total is None else f"{total:+.1%}"

    p_better, pt = m.get("dm_better_pvalue"), m.get("pt_pvalue")
    return [
        name,
        f"{m['n']:,}",
        f"{m['rmse']:.4g}",
        f"{m['skill']:+.4f}",
        "n/a" if p_better is None else format_pvalue(p_better).removeprefix("p = "),
        m.get("verdict") or "n/a",
        pct(m.get("directional_accuracy")),
        "n/a" if pt is None else format_pvalue(pt).removeprefix("p = "),
        ret(m.get("strategy")),
        ret(m.get("buy_and_hold")),
    ]


class AcrossSeries(QWidget):
    """Per-series scores and the cross-section summary of a backtest of several series."""

    #: A row was clicked: the name of its series.
    series_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellClicked.connect(lambda row, _col: self._chosen(row))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel()
        self.notes.setObjectName("hint")
        self.notes.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.notes)

    def set_several(self, several: Any, shown: str = "") -> None:
        """Show every series of ``several`` (a ``SeveralOutcome``), ``shown``'s row selected."""
        names = list(several.outcomes)
        self.table.setRowCount(len(names))
        for r, name in enumerate(names):
            for c, text in enumerate(series_row(name, several.outcomes[name])):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(RIGHT)
                self.table.setItem(r, c, item)
        if shown in names:
            self.table.blockSignals(True)
            self.table.selectRow(names.index(shown))
            self.table.blockSignals(False)
        cross = several.cross_section
        model = next(iter(several.outcomes.values())).model_name if names else "The model"
        how = "One network learnt across them." if several.one_network else (
            "Each series had a model of its own."
        )  # fmt: skip
        said = NEEDS_THREE if cross is None else " ".join(cross.sentences(model))
        self.summary.setText(f"{how} {said}")
        self.notes.setText(" ".join(several.notes))
        self.notes.setVisible(bool(several.notes))

    def shown_rows(self) -> list[list[str]]:
        """The table's text, row by row (for tests and copying)."""
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    def _chosen(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.series_chosen.emit(item.text())
