"""The price chart: close line or candlesticks over a volume pane, with a crosshair readout.

Both panes share one time axis (x linked, dates as UTC timestamps). The mouse wheel and drags zoom
and pan through time only; the y axes follow the bars on screen. The line is clipped to the view
and downsampled by peaks, and candles are built from arrays around the view (merged into coarser
ones when zoomed far out: :mod:`.candlesticks`), so decades of daily bars or a million minute bars
stay smooth. Without a volume column the price pane takes the whole height and carries the dates.

The crosshair labels its date and price at the edges of the panes, next to the axes. Shaded
spans (:meth:`PriceChart.set_spans`) show which bars a backtest will forecast and which ones
its first fit keeps for validation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from stockapp.data.series import PriceSeries
from stockapp.gui.widgets.axes import CompactAxis, compact_number, date_axis, date_label, timestamps
from stockapp.gui.widgets.candlesticks import CandlestickItem, VolumeBarsItem
from stockapp.gui.widgets.chart_spans import SpanShading
from stockapp.gui.widgets.empty_state import EmptyState

STYLES = ("line", "candles")
LINE_COLOR = "#1f5fa8"
AXIS_WIDTH = 64  # both panes' value axes get this width, so their time axes line up
EMPTY_TEXT = (
    "Load prices to see them here: on the Data page pick a bundled sample, open a CSV file or "
    "type a Yahoo Finance ticker."
)
_CROSSHAIR_FILL = "#3c4048"


def _price_text(value: float) -> str:
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"


class PriceChart(QWidget):
    """Prices of one :class:`PriceSeries`, line or candles, with volume below.

    Signals
    -------
    style_changed(str)
        ``"line"`` or ``"candles"``, when the user (or :meth:`set_style`) switches.
    """

    style_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: PriceSeries | None = None
        self._adjusted = False
        self._style = "line"
        self._x = np.empty(0)
        self._bars = pd.DataFrame()

        self.title = QLabel()
        self.title.setObjectName("chartTitle")
        self.readout = QLabel()
        self.readout.setObjectName("chartReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.line_button = QPushButton("Line")
        self.candles_button = QPushButton("Candles")
        self._style_group = QButtonGroup(self)
        for button, style in ((self.line_button, "line"), (self.candles_button, "candles")):
            button.setCheckable(True)
            button.setToolTip(f"Draw the prices as {'a close line' if style == 'line' else style}")
            self._style_group.addButton(button)
            button.clicked.connect(lambda _=False, s=style: self.set_style(s))
        self.line_button.setChecked(True)
        self.reset_button = QPushButton("Reset zoom")
        self.reset_button.setToolTip("Show every row again (zoom with the wheel, pan by dragging)")
        self.reset_button.clicked.connect(self.reset_view)

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title, 1)
        for button in (self.line_button, self.candles_button, self.reset_button):
            header.addWidget(button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.graphics.ci.setSpacing(0)
        self.price_plot = self.graphics.addPlot(
            row=0, col=0, axisItems={"bottom": date_axis(), "right": pg.AxisItem("right")}
        )
        self.volume_plot = self.graphics.addPlot(
            row=1, col=0, axisItems={"bottom": date_axis(), "right": CompactAxis("right")}
        )
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self._configure_plots()

        self.curve = pg.PlotDataItem(pen=pg.mkPen(LINE_COLOR, width=1))
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True, method="peak")
        self.candles = CandlestickItem()
        self.volume = VolumeBarsItem()
        self.price_plot.addItem(self.curve)
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volume)
        self.shading = SpanShading(self.price_plot)
        self._add_crosshair()
        self._volume_shown = True
        self.empty_state = EmptyState(
            self.graphics, [self.price_plot, self.volume_plot], EMPTY_TEXT
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        self.readout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
        self._apply_style()
        self._show_readout(None)
        self.empty_state.set_empty(True)

    # ------------------------------------------------------------------ public API

    @property
    def series(self) -> PriceSeries | None:
        return self._series

    @property
    def style(self) -> str:
        return self._style

    def set_series(self, series: PriceSeries | None, adjusted: bool = False) -> None:
        """Show ``series`` (adjusted prices when asked and available) and zoom to all its rows."""
        self._series, self._adjusted = series, adjusted
        if series is None or len(series) == 0:
            self._x, self._bars = np.empty(0), pd.DataFrame()
            self.curve.setData([], [])
            self.candles.set_data(*(np.empty(0),) * 5)
            self.volume.set_data(np.empty(0), np.empty(0), np.empty(0, bool))
            self.title.setText("")
            self._show_readout(None)
            self._hide_crosshair()
            self.empty_state.set_empty(True)
            return
        self.empty_state.set_empty(False)
        self._x = timestamps(series.dates)
        self._bars = series.prices(adjusted)
        close = self._bars["Close"].to_numpy(float)
        self.curve.setData(self._x, close)
        if series.has_ohlc:
            b = self._bars
            self.candles.set_data(
                self._x, b["Open"].to_numpy(), b["High"].to_numpy(), b["Low"].to_numpy(), close
            )
        else:
            self.candles.set_data(*(np.empty(0),) * 5)
        if series.has_volume:
            up = close >= (
                self._bars["Open"].to_numpy() if series.has_ohlc else np.r_[close[0], close[:-1]]
            )
            self.volume.set_data(self._x, self._bars["Volume"].to_numpy(float), up)
        self._show_volume_pane(series.has_volume)
        self.candles_button.setEnabled(series.has_ohlc)
        self.title.setText(
            f"<b>{series.name}</b>" + (" · adjusted" if adjusted and series.has_adjusted else "")
        )
        self._apply_style()
        self.reset_view()
        self._show_readout(len(self._x) - 1)

    def set_style(self, style: str) -> None:
        """``"line"`` (close) or ``"candles"`` (needs Open/High/Low)."""
        if style not in STYLES:
            raise ValueError(f"unknown chart style {style!r}; expected one of {STYLES}")
        changed = style != self._style
        self._style = style
        self._apply_style()
        if changed:
            self.style_changed.emit(style)

    def point_count(self) -> int:
        """How many rows the visible price item holds (all rows of the series)."""
        if self._showing_candles():
            return len(self.candles)
        x, _ = self.curve.getOriginalDataset()
        return 0 if x is None else len(x)

    def reset_zoom(self) -> None:
        """Zoom out to every row and let the y axes fit them (Ctrl+0, the Reset zoom button)."""
        self.reset_view()

    def reset_view(self) -> None:
        """Zoom out to every row and let the y axes fit them."""
        if not len(self._x):
            return
        pad = (self._x[-1] - self._x[0]) * 0.01 or 86400.0
        lo, hi = self._x[0] - pad, self._x[-1] + pad
        for plot in (self.price_plot, self.volume_plot):
            plot.vb.setLimits(xMin=lo, xMax=hi, minXRange=self._min_x_range())
        self.price_plot.setXRange(lo, hi, padding=0)
        self.price_plot.enableAutoRange(axis="y")
        self.volume_plot.enableAutoRange(axis="y")

    def _min_x_range(self) -> float:
        """The closest zoom: ten days, or fifty bars of an intraday series."""
        spacing = float(np.median(np.diff(self._x))) if len(self._x) > 1 else 86400.0
        return min(10 * 86400.0, 50 * spacing)

    def readout_text(self) -> str:
        """The crosshair readout as plain text (for tests and tooltips)."""
        document = QTextDocument()
        document.setHtml(self.readout.text())
        return " ".join(document.toPlainText().split())

    def show_bar(self, index: int) -> None:
        """Put the crosshair on row ``index`` and show its values."""
        if not len(self._x):
            return
        index = int(np.clip(index, 0, len(self._x) - 1))
        self._vline.setPos(self._x[index])
        self._vline_volume.setPos(self._x[index])
        self._date_label.setText(date_label(self._x[index]))
        self._place_crosshair_labels()
        self._show_readout(index)

    def is_empty(self) -> bool:
        """Whether the chart shows its empty-state note (no series loaded)."""
        return self.empty_state.is_empty()

    def is_volume_shown(self) -> bool:
        """Whether the volume pane is part of the chart (only when the series has volumes)."""
        return self._volume_shown

    def crosshair_labels(self) -> tuple[str, str] | None:
        """The date and price the crosshair shows at the axes, or ``None`` when it is hidden."""
        if not self._date_label.isVisible():
            return None
        price = self._price_label.toPlainText() if self._price_label.isVisible() else ""
        return self._date_label.toPlainText(), price

    def set_spans(
        self, test_start: pd.Timestamp | None, validation_start: pd.Timestamp | None = None
    ) -> None:
        """Shade the bars a backtest will forecast and its first fit's validation slice (see
        :meth:`~stockapp.gui.widgets.chart_spans.SpanShading.set_spans`)."""
        self.shading.set_spans(test_start, validation_start)

    def spans(self) -> dict[str, tuple[float, float]]:
        """The shaded spans as ``{"test": (start, end), "validation": ...}`` in timestamps."""
        return self.shading.spans()

    @property
    def _test_label(self) -> pg.TextItem:
        return self.shading.test_label

    @property
    def _validation_label(self) -> pg.TextItem:
        return self.shading.validation_label

    # ---------------------------------------------------------------------- internals

    def _configure_plots(self) -> None:
        for plot in (self.price_plot, self.volume_plot):
            plot.showAxis("right")
            plot.hideAxis("left")
            plot.getAxis("right").setWidth(AXIS_WIDTH)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMouseEnabled(x=True, y=False)
            plot.setAutoVisible(y=True)
            plot.setMenuEnabled(False)
            plot.hideButtons()
        self.price_plot.hideAxis("bottom")
        self.volume_plot.setXLink(self.price_plot)
        self.volume_plot.setMaximumHeight(200)
        self.volume_plot.getAxis("right").setLabel("")

    def _show_volume_pane(self, show: bool) -> None:
        """Volume below prices, or (no volumes) prices alone, carrying the date axis."""
        if show != self._volume_shown:
            layout = self.graphics.ci
            if show:
                layout.addItem(self.volume_plot, row=1, col=0)
                layout.layout.setRowStretchFactor(1, 1)
            else:
                layout.removeItem(self.volume_plot)
            self._volume_shown = show
        self.volume_plot.setVisible(show)
        self.price_plot.showAxis("bottom", not show)

    def _add_crosshair(self) -> None:
        pen = pg.mkPen("#8a8f98", width=1, style=Qt.PenStyle.DashLine)
        self._vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self._hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        self._vline_volume = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        for line, plot in (
            (self._vline, self.price_plot),
            (self._hline, self.price_plot),
            (self._vline_volume, self.volume_plot),
        ):
            line.setVisible(False)
            line.setZValue(10)
            plot.addItem(line, ignoreBounds=True)
        # Labels at the axes: the price at the right edge, the date at the bottom edge.
        self._price_label = pg.TextItem(color="w", fill=_CROSSHAIR_FILL, anchor=(1, 0.5))
        self._date_label = pg.TextItem(color="w", fill=_CROSSHAIR_FILL, anchor=(0.5, 1))
        for label in (self._price_label, self._date_label):
            label.setVisible(False)
            label.setZValue(20)
        self.price_plot.addItem(self._price_label, ignoreBounds=True)
        self.price_plot.addItem(self._date_label, ignoreBounds=True)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

    def _hide_crosshair(self) -> None:
        for item in (
            self._vline,
            self._vline_volume,
            self._hline,
            self._price_label,
            self._date_label,
        ):
            item.setVisible(False)

    def _place_crosshair_labels(self) -> None:
        """Pin the date label to the bottom of the lowest pane, the price label to the right."""
        bottom_plot = self.volume_plot if self._volume_shown else self.price_plot
        if self._date_label.getViewBox() is not bottom_plot.vb:
            self._date_label.getViewBox().removeItem(self._date_label)
            bottom_plot.addItem(self._date_label, ignoreBounds=True)
        (_, x1), _ = self.price_plot.vb.viewRange()
        _, (y0, _) = bottom_plot.vb.viewRange()
        self._date_label.setPos(self._vline.value(), y0)
        self._price_label.setPos(x1, self._hline.value())
        self._price_label.setText(_price_text(self._hline.value()))

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        inside = None
        for plot in (self.price_plot, self.volume_plot):
            if plot.isVisible() and plot.sceneBoundingRect().contains(scene_pos):
                inside = plot
        visible = inside is not None and len(self._x) > 0
        for item in (self._vline, self._vline_volume, self._date_label):
            item.setVisible(visible)
        for item in (self._hline, self._price_label):
            item.setVisible(visible and inside is self.price_plot)
        if not visible:
            self._show_readout(len(self._x) - 1 if len(self._x) else None)
            return
        point = inside.vb.mapSceneToView(scene_pos)
        self._hline.setPos(point.y())
        index = int(np.searchsorted(self._x, point.x()))
        if index > 0 and (
            index == len(self._x) or point.x() - self._x[index - 1] < self._x[index] - point.x()
        ):
            index -= 1
        self.show_bar(index)

    def _show_readout(self, index: int | None) -> None:
        if index is None or not len(self._bars):
            self.readout.setText("<span style='color:#777'>No prices loaded</span>")
            return
        bar = self._bars.iloc[index]
        date = pd.Timestamp(self._bars.index[index])
        parts = [f"<b>{date:%a %Y-%m-%d}</b>"]
        for column, label in (("Open", "O"), ("High", "H"), ("Low", "L"), ("Close", "C")):
            if column in bar.index:
                parts.append(
                    f"<span style='color:#777'>{label}</span>&nbsp;{_price_text(bar[column])}"
                )
        if "Volume" in bar.index:
            parts.append(f"<span style='color:#777'>V</span>&nbsp;{compact_number(bar['Volume'])}")
        if index > 0:
            prev = float(self._bars["Close"].iloc[index - 1])
            change = float(bar["Close"]) / prev - 1
            color = "#1b8a5a" if change >= 0 else "#c62828"
            parts.append(f"<span style='color:{color}'>{change:+.2%}</span>")
        self.readout.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    def _showing_candles(self) -> bool:
        return self._style == "candles" and (self._series is None or self._series.has_ohlc)

    def _apply_style(self) -> None:
        candles = self._showing_candles()
        self.curve.setVisible(not candles)
        self.candles.setVisible(candles)
        button = self.candles_button if self._style == "candles" else self.line_button
        button.setChecked(True)
