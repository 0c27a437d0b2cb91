"""Read-only tables exactly as big as their cells: no blank rows, no scroll bar but where needed.

:class:`FittedTable` asks its layout for the width of its columns and :func:`fit_height` makes
it as tall as its rows, so the score tables read like printed ones; :func:`paint_verdict` tints
a cell by a signed verdict (green better, red worse).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

T = TypeVar("T")
#: Cell backgrounds of a signed verdict (none for a tie).
VERDICT_COLOURS = {"better": QColor("#bbf7d0"), "worse": QColor("#fecaca")}


class FittedTable(QTableWidget):
    """A table that asks its layout for exactly the width of its columns."""

    def __init__(self, rows: int, columns: int) -> None:
        super().__init__(rows, columns)
        # At most as wide as the columns; narrower (with a scroll bar) when space is short.
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        # Columns fit their contents again whenever shown or restyled: follow them.
        self.horizontalHeader().sectionResized.connect(self._columns_changed)
        self.verticalHeader().sectionResized.connect(self._columns_changed)

    def content_width(self) -> int:
        header = self.verticalHeader()
        width = 0 if header.isHidden() else header.sizeHint().width()
        return width + self.horizontalHeader().length() + 2 * self.frameWidth()

    def _columns_changed(self, *_: object) -> None:
        self.updateGeometry()
        fit_height(self)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.content_width(), hint.height())


def fitted_table(rows: int, columns: list[str], tips: list[str]) -> FittedTable:
    table = FittedTable(rows, len(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)  # one line per row, so the fitted height never depends on width
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    for col, (name, tip) in enumerate(zip(columns, tips, strict=True)):
        item = QTableWidgetItem(name)
        item.setToolTip(tip)
        table.setHorizontalHeaderItem(col, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def paint_verdict(item: QTableWidgetItem, verdict: str | None) -> None:
    """Green for ``better``, red for ``worse``, nothing for a tie or no test."""
    colour = VERDICT_COLOURS.get(verdict or "")
    if colour is not None:
        item.setBackground(QBrush(colour))
        item.setForeground(QBrush(QColor("#111827")))  # dark text on the light tint


def fit_height(table: FittedTable) -> None:
    """Make the table exactly as tall as its rows so no vertical scroll bar or blank shows."""
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += table.verticalHeader().length()
    if table.content_width() > table.width():  # the horizontal scroll bar will show
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)


def table_lines(table: QTableWidget) -> list[str]:
    """The table as tab-separated lines: the header row, then each row with its header."""
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    lines = ["\t".join(["", *heads])]
    for r in range(table.rowCount()):
        head = table.verticalHeaderItem(r)
        cells = [table.item(r, c) for c in range(table.columnCount())]
        lines.append(
            "\t".join([head.text() if head else ""] + [c.text() if c else "" for c in cells])
        )
    return lines


def flow_rows(blocks: list[tuple[T, int]], width: int, spacing: int) -> list[list[T]]:
    """``blocks`` (each with its width) placed like words: side by side while they fit in
    ``width``, the rest on the next rows; a block wider than ``width`` gets a row alone."""
    rows: list[list[T]] = [[]]
    used = 0
    for block, w in blocks:
        if rows[-1] and used + spacing + w > width:
            rows.append([])
            used = 0
        used += (spacing if rows[-1] else 0) + w
        rows[-1].append(block)
    return rows


class RefittingPage(QWidget):
    """A scrolled page of tables; re-flows them (``arrange``) and refits their heights whenever
    its width changes."""

    def __init__(self, tables: tuple[FittedTable, ...], arrange: Callable[[], None]) -> None:
        super().__init__()
        self._tables = tables
        self._arrange = arrange

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()
        for table in self._tables:
            fit_height(table)
