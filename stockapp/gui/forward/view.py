"""The Forward page's widgets: a run's forecasts against the outcomes so far, and its scores.

The chart draws each ledger entry's forecast at its target date, the realised close once the bar
has closed, and the 80% band where the model has one. Backfill (forecasts whose outcome was
already known when they were made) is drawn grey and hollow, apart from the forward record's
red forecasts, and a dashed line marks where the forward record begins. Below: how many bars
the scores rest on, the scores in sentences, and the buttons. It only shows what it is given
(:class:`~stockapp.session.forward_page.ForwardRecord`); the work is the adapter's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from stockapp.gui.widgets.axes import date_axis, timestamps
from stockapp.gui.widgets.empty_state import EmptyState
from stockapp.gui.widgets.legend import legend_below

TAB_TITLE = "Forward"
EMPTY = (
    "No run chosen. Open a saved run (File > Runs…), or select one in the Runs list and press "
    "Forward record, to see its forecasts written down before their outcome."
)
NO_ENTRIES = "No forecast recorded for this run yet; press Forecast now to write the first."
FORECAST_TIP = (
    "Refresh the run's prices, forecast every bar without a forecast up to the next one and "
    "append them to the run's ledger (the same as `stockapp forward RUN_DIR`)."
)
VERIFY_TIP = (
    "Check the ledger: its hash chain, every forecast reproduced by the model from the bars it "
    "read, and each issued before its bar closed (`stockapp forward RUN_DIR --verify`)."
)
FORWARD_COLOUR = "#d62728"
BACKFILL_COLOUR = "#9ca3af"
REALISED_COLOUR = "#111827"


class ForwardView(QWidget):
    """The Forward tab. Signals: ``forecast_requested()``, ``verify_requested()``."""

    forecast_requested = Signal()
    verify_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel("")
        self.heading.setObjectName("chartTitle")
        self.heading.setWordWrap(True)
        self.plot_widget = pg.PlotWidget(axisItems={"bottom": date_axis()})
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("left", "Close")
        # Prices in their own unit, also with no data yet (not "Close (x0.001)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = legend_below(self.plot, columns=3)  # under the axis, over no forecast
        self._build_items()
        self.empty = EmptyState(self.plot_widget, [self.plot], EMPTY)

        self.counts = QLabel("")
        self.counts.setObjectName("forwardCounts")
        self.scores = QLabel("")
        self.scores.setWordWrap(True)
        self.scores.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("forwardStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.forecast_button = QPushButton("Forecast now")
        self.forecast_button.setToolTip(FORECAST_TIP)
        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip(VERIFY_TIP)
        self.forecast_button.clicked.connect(self.forecast_requested)
        self.verify_button.clicked.connect(self.verify_requested)

        buttons = QHBoxLayout()
        buttons.addWidget(self.forecast_button)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.counts)
        layout.addWidget(self.scores)
        layout.addLayout(buttons)
        self.clear(EMPTY)

    def _build_items(self) -> None:
        plot = self.plot
        band_pen = pg.mkPen(FORWARD_COLOUR, width=0.8)
        self.band_lo = pg.PlotDataItem([], [], pen=band_pen)
        self.band_hi = pg.PlotDataItem([], [], pen=band_pen)
        self.band = pg.FillBetweenItem(
            self.band_lo, self.band_hi, brush=pg.mkBrush(214, 39, 40, 40)
        )
        self.band.setZValue(-10)
        # The fill's own bounds start at (0, 0) while it has no curves: its edges (added below)
        # already give the view its range, so the fill must not widen it to 1970 and 0.
        plot.addItem(self.band, ignoreBounds=True)
        for item in (self.band_lo, self.band_hi):
            plot.addItem(item)
        self.realised = plot.plot(
            [], [], pen=pg.mkPen(REALISED_COLOUR, width=1.4), name="Realised close",
            connect="finite",
        )  # fmt: skip
        self.backfill = plot.plot(
            [], [], pen=None, symbol="o", symbolSize=7, symbolPen=pg.mkPen(BACKFILL_COLOUR),
            symbolBrush=None, name="Backfill forecast (outcome already known)",
        )  # fmt: skip
        self.forward = plot.plot(
            [], [], pen=None, symbol="o", symbolSize=8, symbolPen=pg.mkPen(FORWARD_COLOUR),
            symbolBrush=pg.mkBrush(FORWARD_COLOUR), name="Forward forecast (80% band shaded)",
        )  # fmt: skip
        self.start_line = pg.InfiniteLine(
            angle=90, movable=False,
            pen=pg.mkPen("#6b7280", width=1, style=Qt.PenStyle.DashLine),
            label="forward record starts", labelOpts={"position": 0.95, "color": "#6b7280"},
        )  # fmt: skip
        self.start_line.setVisible(False)
        plot.addItem(self.start_line, ignoreBounds=True)

    # ------------------------------------------------------------------ showing
    def clear(self, text: str) -> None:
        """No record to show; ``text`` says why in the chart's place."""
        self.heading.setText("")
        for item in (self.realised, self.backfill, self.forward, self.band_lo, self.band_hi):
            item.setData([], [])
        self.start_line.setVisible(False)
        self.counts.setText("")
        self.scores.setText("")
        self.empty.set_text(text)
        self.empty.set_empty(True)

    def show_record(self, record) -> None:
        """Draw a :class:`~stockapp.session.forward_page.ForwardRecord`."""
        try:
            where = str(record.ledger.relative_to(record.folder))
        except ValueError:
            where = str(record.ledger)
        self.heading.setText(
            f"{record.folder.name}: {record.model_name} on {record.series} — forecasts "
            f"written down before their outcome ({where})"
        )
        self.heading.setToolTip(str(record.ledger))
        lines = record.lines()
        self.scores.setText("\n".join(lines[1:] if record.scores and record.entries else lines))
        self.counts.setText(record.counts() if record.entries else "")
        if record.problem or not record.entries:
            for item in (self.realised, self.backfill, self.forward, self.band_lo, self.band_hi):
                item.setData([], [])
            self.start_line.setVisible(False)
            self.empty.set_text(record.problem or NO_ENTRIES)
            self.empty.set_empty(True)
            return
        data = record.chart()
        x = timestamps(data.dates)
        live = ~data.backfill
        self.realised.setData(x, data.realised)
        self.backfill.setData(x[data.backfill], data.forecast[data.backfill])
        self.forward.setData(x[live], data.forecast[live])
        shade = live & np.isfinite(data.lower) & np.isfinite(data.upper)
        self.band_lo.setData(x[shade], data.lower[shade])
        self.band_hi.setData(x[shade], data.upper[shade])
        if live.any():
            self.start_line.setPos(float(x[np.argmax(live)]) - 0.5 * 86400)
        self.start_line.setVisible(bool(live.any()))
        self.empty.set_empty(False)
        self.plot.enableAutoRange()

    def set_busy(self, busy: bool, text: str = "") -> None:
        """While a job of this page runs: both buttons off, ``text`` beside them."""
        self.forecast_button.setEnabled(not busy)
        self.verify_button.setEnabled(not busy)
        if text:
            self.status.setText(text)

    def say(self, text: str) -> None:
        """One sentence beside the buttons (a result, or what went wrong)."""
        self.status.setText(text)
