"""The Runs list: every saved run with its data, model, test span and scores; open, rename,
delete (to the trash, with Undo) and show its folder.

The listing, naming and trash live in :mod:`stockapp.core.run_index`; this dialog only shows them.
It is not modal: a person can keep it open beside the window and open one run after another.
The list is sorted when it is read and when a heading is clicked; a rename changes the row where
it stands and keeps it selected, so the next click does not land on another run.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.run_index import (
    RunSummary,
    list_runs,
    read_summary,
    rename_run,
    restore_run,
    trash_run,
)
from stockapp.errors import StockappError

#: Column title -> tooltip.
COLUMNS = {
    "Run": "The run's name (its folder in the runs folder).",
    "Data": "The prices the run forecast.",
    "Model": "The network that made the forecasts.",
    "Test span": "The bars the backtest forecast, each from the bars before it only.",
    "RMSE ÷ persistence": "The model's RMSE divided by that of 'next bar = this bar'; "
    "below 1 means the model's forecasts were closer to the real prices.",
    "Direction p (PT)": "Pesaran-Timmermann p-value: how likely the model's up/down hits "
    "would be by luck; below 0.05 suggests real directional skill.",
    "DM p": "Two-sided Diebold-Mariano p-value of equal squared errors against persistence: "
    "small on either side; the RMSE ratio says which (open the run for its verdict).",
    "Strategy": "Total return of trading on the forecasts, after costs, over the test span.",
    "Buy & hold": "Total return of holding the stock over the same span.",
    "Date": "When the backtest was run.",
}


#: Where each cell keeps its run's folder.
_FOLDER_ROLE = Qt.ItemDataRole.UserRole
#: The rename box's width in pixels: room for a long name, never wider than a laptop screen.
RENAME_MIN_WIDTH, RENAME_MAX_WIDTH = 460, 900


class _Item(QTableWidgetItem):
    """A cell that sorts by a key (a number or a date), not by its text."""

    def __init__(self, text: str, key: object) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.key, getattr(other, "key", None)
        try:
            return bool(mine < theirs)  # type: ignore[operator]
        except TypeError:
            return str(mine) < str(theirs)


def _num(value: float, fmt: str) -> tuple[str, float]:
    """Text and sort key; unknown numbers read "—" and sort last."""
    if math.isnan(value):
        return "—", math.inf
    return format(value, fmt), value


def _cells(run: RunSummary) -> list[tuple[str, object]]:
    if run.problem:
        return [(run.name, run.name), (run.problem, "")] + [("", "")] * (len(COLUMNS) - 2)
    created = run.created.astimezone() if run.created is not None else None
    return [
        (run.name, run.name.lower()),
        (run.data, run.data.lower()),
        (run.model, run.model.lower()),
        (run.span, run.first_date),
        _num(run.rmse_ratio, ".3f"),
        _num(run.pt_pvalue, ".3f"),
        _num(run.dm_pvalue, ".3f"),
        _num(run.strategy_return, "+.1%"),
        _num(run.buyhold_return, "+.1%"),
        (
            "" if created is None else f"{created:%Y-%m-%d %H:%M}",
            "" if created is None else created.isoformat(),
        ),
    ]


class RunsDialog(QDialog):
    """The saved runs in ``root``, newest first, sortable by any column.

    Signals
    -------
    open_requested(Path)
        the person asked to open this run folder.
    forward_requested(Path)
        the person asked for this run's forward record (the window's Forward page).
    """

    open_requested = Signal(object)
    forward_requested = Signal(object)

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.runs: list[RunSummary] = []
        self._trashed: tuple[Path, str] | None = None
        self.setWindowTitle("Runs")
        self.resize(1150, 480)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for i, tip in enumerate(COLUMNS.values()):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        # Every column as wide as its contents, the run's name too (it scrolls sideways rather
        # than cutting names); the last column takes any spare width.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # Sorted when the list is read and when a heading is clicked, not whenever a cell
        # changes: a renamed run stays on its row, so the next click still lands on it.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.sortIndicatorChanged.connect(self.table.sortItems)
        # Newest first until the person clicks another heading.
        header.setSortIndicator(list(COLUMNS).index("Date"), Qt.SortOrder.DescendingOrder)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.empty_label = QLabel(
            "No saved runs yet. Run a backtest, then File > Save run keeps it here."
        )
        self.empty_label.setWordWrap(True)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setObjectName("runsStatus")
        self.folder_label = QLabel(f"Runs folder: {self.root}")
        self.folder_label.setToolTip(str(self.root))

        self.open_button = QPushButton("Open")
        self.open_button.setDefault(True)
        self.open_button.setToolTip("Show this run's charts and scores (no retraining).")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_button.setToolTip("Move the run to the trash inside the runs folder.")
        self.undo_button = QPushButton("Undo delete")
        self.undo_button.setVisible(False)
        self.forward_button = QPushButton("Forward record")
        self.forward_button.setToolTip(
            "Show this run's forecasts written down before their outcome, and record the next."
        )
        self.forward_button.clicked.connect(self.forward_selected)
        self.reveal_button = QPushButton("Show folder")
        self.reveal_button.setToolTip("Open the run's folder in the file manager.")
        self.close_button = QPushButton("Close")
        self.open_button.clicked.connect(self.open_selected)
        self.rename_button.clicked.connect(self._rename_dialog)
        self.delete_button.clicked.connect(self.delete_selected)
        self.undo_button.clicked.connect(self.undo_delete)
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.close_button.clicked.connect(self.close)

        buttons = QHBoxLayout()
        for button in (
            self.open_button,
            self.forward_button,
            self.rename_button,
            self.delete_button,
            self.undo_button,
            self.reveal_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.refresh()

    # ------------------------------------------------------------------ listing
    def refresh(self, select: Path | None = None) -> None:
        """Read the runs folder again; select the run in folder ``select`` if it is listed."""
        if select is None:
            current = self.selected()
            select = None if current is None else current.folder
        self.runs = list_runs(self.root)
        table = self.table
        table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            self._fill(row, run)
        header = table.horizontalHeader()
        table.sortItems(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.table.setVisible(bool(self.runs))
        self.empty_label.setVisible(not self.runs)
        target = select if select is not None else (self.runs[0].folder if self.runs else None)
        if target is not None:
            self.select(target)
        self._update_buttons()

    def _fill(self, row: int, run: RunSummary) -> None:
        for col, (text, key) in enumerate(_cells(run)):
            item = _Item(text, key)
            item.setData(_FOLDER_ROLE, str(run.folder))
            if run.problem:
                item.setToolTip(run.problem)
            elif col == 0:
                item.setToolTip(str(run.folder))
            self.table.setItem(row, col, item)

    def row_of(self, folder: Path) -> int:
        """The table row showing the run in ``folder`` (-1 if none)."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and Path(item.data(_FOLDER_ROLE)) == Path(folder):
                return row
        return -1

    def select(self, folder: Path) -> bool:
        row = self.row_of(folder)
        if row >= 0:
            self.table.selectRow(row)
        return row >= 0

    def selected(self) -> RunSummary | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        folder = Path(self.table.item(rows[0].row(), 0).data(_FOLDER_ROLE))
        return next((r for r in self.runs if r.folder == folder), None)

    def column_texts(self, column: str) -> list[str]:
        """The texts shown in ``column``, top to bottom (for tests and people alike)."""
        col = list(COLUMNS).index(column)
        return [self.table.item(r, col).text() for r in range(self.table.rowCount())]

    # ------------------------------------------------------------------ actions
    def open_selected(self) -> bool:
        run = self.selected()
        if run is None:
            return False
        if run.problem:
            self._say(f"{run.name} cannot be opened: {run.problem}")
            return False
        self.open_requested.emit(run.folder)
        return True

    def forward_selected(self) -> bool:
        """Ask for the selected run's forward record (the Forward page)."""
        run = self.selected()
        if run is None:
            return False
        if run.problem:
            self._say(f"{run.name} cannot be opened: {run.problem}")
            return False
        self.forward_requested.emit(run.folder)
        return True

    def rename_selected(self, new_name: str) -> bool:
        """Rename the selected run to ``new_name``; one sentence below the list on failure."""
        run = self.selected()
        if run is None:
            return False
        try:
            folder = rename_run(run.folder, new_name)
        except StockappError as exc:
            self._say(str(exc))
            return False
        self._say(f"Renamed {run.name} to {folder.name}.")
        # in place: the list is not sorted again until it is read again or a heading is clicked
        row = self.row_of(run.folder)
        renamed = read_summary(folder)
        self.runs = [renamed if r.folder == run.folder else r for r in self.runs]
        self._fill(row, renamed)
        self.table.selectRow(row)
        return True

    def delete_selected(self) -> bool:
        """Move the selected run to the trash; Undo delete brings it back."""
        run = self.selected()
        if run is None:
            return False
        try:
            trashed = trash_run(run.folder)
        except StockappError as exc:
            self._say(str(exc))
            return False
        self._trashed = (trashed, run.name)
        self.undo_button.setVisible(True)
        self._say(f"Moved {run.name} to the trash ({self.root.name}/.trash).")
        self.refresh()
        return True

    def undo_delete(self) -> bool:
        """Bring back the run deleted last."""
        if self._trashed is None:
            return False
        trashed, name = self._trashed
        try:
            folder = restore_run(trashed, name)
        except StockappError as exc:
            self._say(str(exc))
            return False
        self._trashed = None
        self.undo_button.setVisible(False)
        self._say(f"Restored {folder.name}.")
        self.refresh(select=folder)
        return True

    def reveal_selected(self) -> bool:
        """Open the selected run's folder in the system's file manager."""
        run = self.selected()
        if run is None:
            return False
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.folder))))

    def _rename_dialog(self) -> None:
        run = self.selected()
        if run is None:
            return
        box = self.rename_box(run.name)
        if box.exec() == QInputDialog.DialogCode.Accepted:
            self.rename_selected(box.textValue())

    def rename_box(self, name: str) -> QInputDialog:
        """The rename question, its text box wide enough for ``name`` and then some."""
        box = QInputDialog(self)
        box.setWindowTitle("Rename run")
        box.setLabelText("New name:")
        box.setTextValue(name)
        wide = self.fontMetrics().horizontalAdvance(name + "W" * 12)
        box.resize(max(RENAME_MIN_WIDTH, min(wide + 60, RENAME_MAX_WIDTH)), box.sizeHint().height())
        return box

    def _say(self, text: str) -> None:
        self.status_label.setText(text)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        for button in (
            self.open_button,
            self.forward_button,
            self.rename_button,
            self.delete_button,
            self.reveal_button,
        ):
            button.setEnabled(chosen)
