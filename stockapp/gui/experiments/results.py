"""The Experiment results tab: the verdicts, a heatmap over two settings, and every run's row.

:class:`SweepResultsView` shows what :func:`stockapp.core.sweep_plan.read_sweep` returns (the
``results.csv`` table and ``summary.json``), so a finished sweep and a reopened folder look the
same. The table sorts on any column and is coloured by each run's signed verdict against
persistence (green better, red worse, none a tie; grey a failed run); a sweep written before the
verdicts existed shows them as unknown. Double-clicking a row asks for that run's folder
(:attr:`SweepResultsView.run_requested`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.sweep_plan import SETTING_ORDER
from stockapp.session.experiments import inputs_text

#: (column in results.csv, header, format) shown in the table.
COLUMNS = (
    ("series", "Series", "{}"),
    ("model", "Model", "{}"),
    ("window", "Window", "{:g}"),
    ("hidden", "Units", "{:g}"),
    ("layers", "Layers", "{:g}"),
    ("dropout", "Dropout", "{:g}"),
    ("lr", "lr", "{:g}"),
    ("seed", "Seed", "{:g}"),
    ("selection_rmse_ratio", "Sel. RMSE/pers.", "{:.4f}"),
    ("rmse_ratio", "Test RMSE/pers.", "{:.4f}"),
    ("dm_better_pvalue", "DM p better", "{:.3f}"),
    ("dm_better_pvalue_holm", "Holm", "{:.3f}"),
    ("verdict", "Verdict", "{}"),
    ("directional_accuracy", "Direction", "{:.1%}"),
    ("strategy_sharpe", "Sharpe", "{:.2f}"),
    ("status", "Status", "{}"),
)
#: Backgrounds by verdict against persistence, and for failed runs.
BETTER, WORSE, FAILED = QColor("#bbf7d0"), QColor("#fecaca"), QColor("#e5e7eb")
LEGEND = (
    "Rows: green, better than persistence (the one-sided Diebold-Mariano p for smaller squared "
    "errors is below 0.05 after Holm over the series' runs); red, worse (the same test the other "
    "way round); no colour, a tie; grey, the run failed (hover its status for why). "
    "Double-click a row to open that run's backtest."
)
#: Shown for a verdict a sweep written before signed verdicts lacks.
UNKNOWN = "unknown"
UNKNOWN_TIP = (
    "This experiment was written before signed verdicts; run it again into the same folder to "
    "test its runs."
)
VERDICT_TIPS = {
    "better": "better than persistence: smaller squared errors, significant after Holm",
    "worse": "worse than persistence: larger squared errors, significant after Holm",
    "tie": "a tie with persistence: neither one-sided test is below 0.05 after Holm",
}
SORT_ROLE = Qt.ItemDataRole.UserRole
#: Rows of the heatmap shown before it scrolls.
HEATMAP_ROWS = 8
#: Lines of verdict sentences shown before they scroll.
VERDICT_LINES = 10


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class ResultsModel(QAbstractTableModel):
    """The rows of ``results.csv``, formatted, with a numeric sort role."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = pd.DataFrame()
        self._cells: dict[str, list] = {}

    def set_table(self, table: pd.DataFrame) -> None:
        self.beginResetModel()
        self.table = table.reset_index(drop=True)
        # Plain Python lists, made once: a pandas lookup per painted cell held the GUI thread
        # for 0.6 s when a sweep's table first showed (issue 14, scripts/bench_gui.py --trace).
        self._cells = {str(c): self.table[c].tolist() for c in self.table.columns}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.table)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def value(self, row: int, column: str) -> object:
        cells = self._cells.get(column)
        if cells is None:
            return None
        value = cells[row]
        return value.item() if isinstance(value, np.generic) else value

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name, _header, fmt = COLUMNS[index.column()]
        value = self.value(index.row(), name)
        if role == Qt.ItemDataRole.DisplayRole:
            if name == "verdict" and _missing(value) and self._ok(index.row()):
                return UNKNOWN
            if _missing(value):
                return ""
            if "pvalue" in name and isinstance(value, float) and value < 0.001:
                return "<0.001"  # not "0.000": a p-value is never zero
            try:
                return fmt.format(value)
            except (TypeError, ValueError):
                return str(value)
        if role == SORT_ROLE:
            if isinstance(value, str) or name == "verdict":
                return "" if _missing(value) else str(value)
            return math.inf if _missing(value) else float(value)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(index.row())
        if role == Qt.ItemDataRole.ToolTipRole and name == "status":
            error = self.value(index.row(), "error")
            return None if _missing(error) else str(error)
        if role == Qt.ItemDataRole.ToolTipRole and name == "verdict" and self._ok(index.row()):
            return UNKNOWN_TIP if _missing(value) else VERDICT_TIPS.get(str(value))
        return None

    def _ok(self, row: int) -> bool:
        return self.value(row, "status") == "ok"

    def _background(self, row: int) -> QBrush | None:
        if not self._ok(row):
            return QBrush(FAILED)
        colour = {"better": BETTER, "worse": WORSE}.get(str(self.value(row, "verdict")))
        return None if colour is None else QBrush(colour)

    def has_verdicts(self) -> bool:
        """Whether every finished run has its signed verdict (older sweeps have none)."""
        verdicts, status = self._cells.get("verdict"), self._cells.get("status")
        if verdicts is None or status is None:
            return False
        return all(not _missing(v) for v, st in zip(verdicts, status, strict=True) if st == "ok")


def _cell_color(ratio: float) -> QColor:
    """Green below 1 (better than persistence), red above, stronger the further from 1."""
    strength = min(abs(ratio - 1.0) / 0.05, 1.0)
    base = QColor("#16a34a") if ratio < 1.0 else QColor("#dc2626")
    white = QColor("#ffffff")
    mix = 0.15 + 0.55 * strength

    def blend(a: int, b: int) -> int:
        return int(round(a * (1 - mix) + b * mix))

    return QColor(
        blend(white.red(), base.red()),
        blend(white.green(), base.green()),
        blend(white.blue(), base.blue()),
    )


def heatmap_cells(
    table: pd.DataFrame, rows: str, cols: str, series: str
) -> tuple[list, list, dict[tuple, tuple[float, float, int]]]:
    """Mean test RMSE/persistence per (row value, column value) of ``series``'s finished runs.

    Within each seed the runs of a cell (the other settings that vary) are averaged first; the
    cell is the mean over seeds, with the standard deviation over seeds and the number of seeds.
    """
    ok = table[(table["series"].astype(str) == series) & (table["status"] == "ok")]
    ok = ok.dropna(subset=["rmse_ratio"])
    row_values = sorted(ok[rows].dropna().unique().tolist(), key=_sort_key)
    col_values = sorted(ok[cols].dropna().unique().tolist(), key=_sort_key)
    cells = {}
    if ok.empty:
        return row_values, col_values, cells
    keys = [rows] if rows == cols else [rows, cols]
    per_seed = ok.groupby([*keys, "seed"])["rmse_ratio"].mean().reset_index()
    for key, group in per_seed.groupby(keys):
        key = key if isinstance(key, tuple) else (key,)
        r, c = (key[0], key[0]) if rows == cols else key
        values = group["rmse_ratio"].to_numpy(np.float64)
        sd = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
        cells[(r, c)] = (float(np.mean(values)), sd, int(values.size))
    return row_values, col_values, cells


def _sort_key(value: object) -> tuple:
    return (0, float(value), "") if isinstance(value, (int, float)) else (1, 0.0, str(value))


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class SweepResultsView(QWidget):
    """Verdicts on top, the heatmap with its two settings, and the sortable table."""

    #: The run key of a double-clicked row.
    run_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = pd.DataFrame()
        self.summary: dict = {}
        self.folder_label = QLabel("No experiment yet: run one from the Experiment settings page.")
        self.folder_label.setWordWrap(True)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # The verdicts of many series scroll within about ten lines, leaving the table its room
        # (each verdict is three to four lines at 1280 px).
        self.verdict_scroll = QScrollArea()
        self.verdict_scroll.setWidget(self.verdict_label)
        self.verdict_scroll.setWidgetResizable(True)
        self.verdict_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.verdict_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verdict_scroll.setMaximumHeight(self.fontMetrics().lineSpacing() * VERDICT_LINES + 4)

        self.series_combo = QComboBox()
        self.rows_combo = QComboBox()
        self.cols_combo = QComboBox()
        for combo in (self.series_combo, self.rows_combo, self.cols_combo):
            combo.currentIndexChanged.connect(self.draw_heatmap)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Mean test RMSE / persistence over seeds on"))
        pick.addWidget(self.series_combo)
        pick.addWidget(QLabel("rows"))
        pick.addWidget(self.rows_combo)
        pick.addWidget(QLabel("columns"))
        pick.addWidget(self.cols_combo)
        pick.addStretch(1)
        self.heatmap = QTableWidget()
        self.heatmap.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.heatmap.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

        self.model = ResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.doubleClicked.connect(self._double_clicked)
        legend = QLabel(LEGEND)
        legend.setObjectName("hint")
        legend.setWordWrap(True)
        # Until an experiment is shown the page is its one sentence: no empty heatmap, table
        # or choices of nothing (issue 20.6: empty states draw nothing).
        self.results_area = QWidget()
        area = QVBoxLayout(self.results_area)
        area.setContentsMargins(0, 0, 0, 0)
        area.addLayout(pick)
        area.addWidget(self.heatmap)
        area.addWidget(self.view, 1)
        area.addWidget(legend)
        self.results_area.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.verdict_scroll)
        layout.addWidget(self.results_area, 1)
        layout.addStretch(0)

    # ------------------------------------------------------------------ showing
    def show_sweep(self, table: pd.DataFrame, summary: dict, folder: str = "") -> None:
        """Show a sweep's results table and summary (as :func:`read_sweep` returns them)."""
        self.table = table
        self.summary = summary
        self.results_area.setVisible(True)
        self.model.set_table(table)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        done, total = summary.get("runs_finished", len(table)), summary.get("runs_total", "?")
        failed = summary.get("runs_failed", 0)
        old = "" if self.model.has_verdicts() or not done else f" {UNKNOWN_TIP}"
        self.folder_label.setText(
            f"{done} of {total} runs finished, {failed} failed"
            + (f"; in {folder}" if folder else "")
            + ("." if old or inputs_text(summary) else "")
            + inputs_text(summary)
            + old
        )
        lines = []
        for entry in summary.get("series", []):
            spans, verdict = entry.get("spans"), entry["verdict"]
            lines.append(verdict if not spans or spans in verdict else f"{verdict} ({spans}.)")
        self.verdict_label.setText("\n".join(lines))
        varied = [
            k for k in SETTING_ORDER if k in table.columns and table[k].dropna().nunique() > 1
        ]
        # The varied settings first; then the shared ones, so that with one varied setting the
        # columns default to another (one column) instead of a diagonal of blanks.
        shared = [
            k
            for k in SETTING_ORDER
            if k in table.columns and k not in varied and table[k].notna().any()
        ]
        choices = varied + shared
        for i, (name, _header, _fmt) in enumerate(COLUMNS):
            # a setting every run shares is said once, in the verdicts, not in every row
            constant = name in SETTING_ORDER and name not in varied and name != "model"
            self.view.setColumnHidden(i, constant)
        for combo in (self.series_combo, self.rows_combo, self.cols_combo):
            combo.blockSignals(True)
            combo.clear()
        for name in dict.fromkeys(table["series"].astype(str).tolist()):
            self.series_combo.addItem(name)
        for combo in (self.rows_combo, self.cols_combo):
            for name in choices:
                combo.addItem(name)
        self.rows_combo.setCurrentIndex(0)
        self.cols_combo.setCurrentIndex(1 if len(choices) > 1 else 0)
        for combo in (self.series_combo, self.rows_combo, self.cols_combo):
            combo.blockSignals(False)
        self.draw_heatmap()

    def draw_heatmap(self, *_: object) -> None:
        rows, cols = self.rows_combo.currentText(), self.cols_combo.currentText()
        series = self.series_combo.currentText()
        self.heatmap.clear()
        if self.table.empty or not rows or not cols:
            self.heatmap.setRowCount(0)
            self.heatmap.setColumnCount(0)
            return
        row_values, col_values, cells = heatmap_cells(self.table, rows, cols, series)
        self.heatmap.setRowCount(len(row_values))
        self.heatmap.setColumnCount(len(col_values))
        self.heatmap.setVerticalHeaderLabels([f"{rows} {_text(v)}" for v in row_values])
        self.heatmap.setHorizontalHeaderLabels([f"{cols} {_text(v)}" for v in col_values])
        for i, r in enumerate(row_values):
            for j, c in enumerate(col_values):
                cell = cells.get((r, c))
                if cell is None:
                    continue
                mean, sd, n = cell
                spread = "" if math.isnan(sd) else f" ± {sd:.4f}"
                item = QTableWidgetItem(f"{mean:.4f}{spread}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QBrush(_cell_color(mean)))
                item.setToolTip(
                    f"{series}, {rows} {_text(r)}, {cols} {_text(c)}: mean test RMSE / "
                    f"persistence {mean:.4f} over {n} seed{'s' * (n != 1)}"
                    + ("" if math.isnan(sd) else f", seed spread (sd) {sd:.4f}")
                    + " (below 1 beats persistence)."
                )
                self.heatmap.setItem(i, j, item)
        self._fit_heatmap()

    def _fit_heatmap(self) -> None:
        """As tall as its rows (up to :data:`HEATMAP_ROWS` of them), leaving the rest to the
        table."""
        rows = min(self.heatmap.rowCount(), HEATMAP_ROWS)
        height = self.heatmap.horizontalHeader().height() + 2 * self.heatmap.frameWidth()
        height += sum(self.heatmap.rowHeight(i) for i in range(rows))
        self.heatmap.setMaximumHeight(height + 2)

    def key_at(self, proxy_row: int) -> str:
        """The run key of the table's row ``proxy_row`` as sorted on screen."""
        source = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        return str(self.model.value(source.row(), "key"))

    def _double_clicked(self, index: QModelIndex) -> None:
        self.run_requested.emit(self.key_at(index.row()))
