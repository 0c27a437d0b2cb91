"""The Backtest results tab: which data the results belong to, the charts, the scores, the bands.

A header names the results' data (and, when the window has moved to other data, says so and
offers to load theirs again); below it a splitter holds the charts
(:class:`~stockapp.gui.backtest.view.BacktestView`), the scores
(:class:`~stockapp.gui.backtest.metrics_table.MetricsTable`) and, for a distribution head, the
calibration charts (:class:`~stockapp.gui.bands.view.BandsView`). It shows what it is given.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from stockapp.gui.backtest.metrics_table import MetricsTable
from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.bands.view import BandsView
from stockapp.session.state import DataHeader, Results


class ResultsTab(QWidget):
    """The tab's widgets: ``data_label`` and ``reload_button`` above ``splitter`` (``view``,
    ``table``, ``bands_view``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = BacktestView()
        self.table = MetricsTable()
        self.data_label = QLabel("No backtest yet.")
        self.data_label.setObjectName("resultsData")
        self.data_label.setStyleSheet('QLabel[stale="true"] { color: #b45309; }')
        self.data_label.setWordWrap(True)
        self.data_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reload_button = QPushButton()
        self.reload_button.setVisible(False)
        header = QHBoxLayout()
        header.setContentsMargins(6, 4, 6, 0)
        header.addWidget(self.data_label, 1)
        header.addWidget(self.reload_button)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.table)
        self._bands_view: BandsView | None = None  # made when first needed (start-up time)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.splitter, 1)

    @property
    def bands_view(self) -> BandsView:
        """The calibration charts below the scores, shown for a distribution head only."""
        if self._bands_view is None:
            self._bands_view = BandsView()
            self._bands_view.setVisible(False)
            self.splitter.addWidget(self._bands_view)
        return self._bands_view

    def show_results(self, results: Results | None, quality: list[str] | None = None) -> None:
        """Draw ``results`` (a sweep's run scored on its test span, as the experiment's table
        scores it, with the selection span said apart); ``None`` empties the tab."""
        result = None if results is None else results.result
        banded = getattr(result, "bands", None) is not None
        bands = self.bands_view if banded or self._bands_view is not None else None
        if results is None:
            self.view.clear()
            self.table.clear()
            if bands is not None:
                bands.clear()
        else:
            scored, name = results.scored, results.model_name
            self.view.set_result(results.result, name)
            self.table.set_result(scored, name)
            self.table.set_note("" if results.spans is None else results.spans.sentence())
            self.table.set_quality(quality)
            if bands is not None:
                bands.set_result(scored, name)
        if bands is None:
            return
        if banded and bands.isHidden():  # share the height, or the charts get none
            total = max(sum(self.splitter.sizes()), 1000)
            below = total * 27 // 100
            scores = min(self.table.sizeHint().height(), total * 28 // 100)
            self.splitter.setSizes([total - below - scores, scores, below])
        bands.setVisible(banded)

    def show_header(self, header: DataHeader) -> None:
        """Name the results' data; warn (and offer to load it) when the window shows other."""
        self.data_label.setText(header.text)
        self.data_label.setProperty("stale", header.stale)
        self.data_label.style().unpolish(self.data_label)
        self.data_label.style().polish(self.data_label)
        self.reload_button.setText(header.reload_text)
        self.reload_button.setToolTip(header.reload_tip)
        self.reload_button.setVisible(bool(header.reload_text))
