"""The Training tab: the loss chart of the last training and a summary under it.

The chart is a :class:`~stockapp.gui.widgets.loss_chart.LossChart`, built the first time the tab
shows or is drawn into (:class:`~stockapp.gui.widgets.lazy_page.LazyPage`), so that it costs
nothing before the window's first paint. :class:`~stockapp.gui.training.adapter.TrainingController`
fills it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from stockapp.gui.widgets.lazy_page import LazyPage
from stockapp.gui.widgets.loss_chart import LossChart


class TrainingTab:
    """The tab's page (:attr:`page`), its chart (built on demand) and its summary label."""

    def __init__(self, summary: str = "No model trained yet.") -> None:
        self.summary = QLabel(summary)
        self.summary.setWordWrap(True)
        self._chart: LossChart | None = None
        self.page = LazyPage(self._make)

    @property
    def chart(self) -> LossChart:
        """The loss chart (built now if it was not yet)."""
        self.page.content()
        return self._chart  # type: ignore[return-value]

    def _make(self) -> QWidget:
        self._chart = LossChart()
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self._chart, 1)
        layout.addWidget(self.summary)
        return page
