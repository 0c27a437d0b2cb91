"""The Backtest results tab: which data the results belong to, the charts, the scores, the bands.

A header names the results' data (and, when the window has moved to other data, says so and
offers to load theirs again). Below it two pages: **Forecasts** holds a splitter with the charts
(:class:`~stockapp.gui.backtest.view.BacktestView`) above the scores
(:class:`~stockapp.gui.backtest.metrics_table.MetricsTable`); **Bands**, shown only for a
distribution head, holds the calibration charts and the coverage by regime
(:class:`~stockapp.gui.bands.view.BandsView`). The bands have a page of their own so that the
price chart keeps its height on a laptop screen. It shows what it is given.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stockapp.gui.backtest.across_series import AcrossSeries
from stockapp.gui.backtest.metrics_table import MetricsTable
from stockapp.gui.backtest.view import BacktestView
from stockapp.gui.bands.view import BandsView
from stockapp.session.state import DataHeader, Results

FORECASTS_PAGE = "Forecasts and scores"
BANDS_PAGE = "Bands"
ACROSS_PAGE = "Across series"


class ResultsTab(QWidget):
    """The tab's widgets: ``data_label`` and ``reload_button`` above ``pages``: the
    ``splitter`` (``view`` over ``table``) and, for a distribution head, ``bands_view``; for a
    backtest of several series a ``series_combo`` in the header picks the series shown and the
    ``across`` page compares them."""

    #: The series to show, picked in the header or on the Across series page.
    series_chosen = Signal(str)

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
        self.series_combo = QComboBox()  # which series of a backtest of several
        self.series_combo.setToolTip("Which of the series forecast the charts and scores show")
        self.series_combo.setVisible(False)
        self.series_combo.textActivated.connect(self.series_chosen)
        header.addWidget(self.series_combo)
        self._across: AcrossSeries | None = None  # made for the first backtest of several
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.setTabBarAutoHide(True)  # no lone tab before a distribution head's results
        self.pages.addTab(self.splitter, FORECASTS_PAGE)
        self._bands_view: BandsView | None = None  # made when first needed (start-up time)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        self._sized = False
        self._has_results = False

    @property
    def bands_view(self) -> BandsView:
        """The calibration charts, on their own page, shown for a distribution head only."""
        if self._bands_view is None:
            self._bands_view = BandsView()
            self.pages.addTab(self._bands_view, BANDS_PAGE)
            self.pages.setTabVisible(self.pages.indexOf(self._bands_view), False)
            self.pages.setTabToolTip(
                self.pages.indexOf(self._bands_view),
                "Whether the forecast bands can be trusted: coverage, calibration, PIT, "
                "coverage by volatility regime",
            )
        return self._bands_view

    def bands_shown(self) -> bool:
        """Whether the Bands page is offered (a distribution head's results are shown)."""
        if self._bands_view is None:
            return False
        return self.pages.isTabVisible(self.pages.indexOf(self._bands_view))

    def show_page(self, name: str) -> None:
        """Bring :data:`FORECASTS_PAGE` or :data:`BANDS_PAGE` to the front."""
        widget = self.bands_view if name == BANDS_PAGE else self.splitter
        self.pages.setCurrentWidget(widget)

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
        self._has_results = results is not None
        self._show_several(results)
        self._share_height()
        if bands is None:
            return
        if not banded and self.pages.currentWidget() is bands:
            self.pages.setCurrentWidget(self.splitter)
        self.pages.setTabVisible(self.pages.indexOf(bands), banded)

    def _show_several(self, results: Results | None) -> None:
        names = [] if results is None else results.series_names
        self.series_combo.blockSignals(True)
        self.series_combo.clear()
        self.series_combo.addItems(names)
        if names:
            self.series_combo.setCurrentText(results.shown)
            self.across.set_several(results.several, results.shown)
        self.series_combo.blockSignals(False)
        self.series_combo.setVisible(bool(names))
        if self._across is None:
            return
        if not names and self.pages.currentWidget() is self._across:
            self.pages.setCurrentWidget(self.splitter)
        self.pages.setTabVisible(self.pages.indexOf(self._across), bool(names))

    @property
    def across(self) -> AcrossSeries:
        """The Across series page (made when first needed)."""
        if self._across is None:
            self._across = AcrossSeries()
            self._across.series_chosen.connect(self.series_chosen)
            self.pages.addTab(self._across, ACROSS_PAGE)
            self.pages.setTabToolTip(
                self.pages.indexOf(self._across),
                "Every series' scores side by side, and how well the forecasts rank them",
            )
        return self._across

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._share_height()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._share_height()

    def _share_height(self) -> None:
        """The first time results show at a real size: the charts get about two thirds of
        the Forecasts page, the scores the rest (they scroll), whatever the scores ask for."""
        total = sum(self.splitter.sizes())
        if self._sized or not self._has_results or not self.splitter.isVisible() or total < 200:
            return
        scores = min(self.table.sizeHint().height(), total * 30 // 100)
        self.splitter.setSizes([total - scores, scores])
        self._sized = True

    def show_header(self, header: DataHeader) -> None:
        """Name the results' data; warn (and offer to load it) when the window shows other."""
        self.data_label.setText(header.text)
        self.data_label.setProperty("stale", header.stale)
        self.data_label.style().unpolish(self.data_label)
        self.data_label.style().polish(self.data_label)
        self.reload_button.setText(header.reload_text)
        self.reload_button.setToolTip(header.reload_tip)
        self.reload_button.setVisible(bool(header.reload_text))
