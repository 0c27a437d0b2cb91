"""The backtest charts: forecasts against the realised close, their errors, and the equity curves.

Three plots share one date axis (zooming or panning one moves all three):

1. the realised close with the model's forecasts and the three baselines, refit dates marked;
2. the residuals, forecast minus realised, of the model (and, on demand, of persistence);
3. the equity of the trading rule driven by the model against buy-and-hold.

Every series is one ``PlotDataItem`` with clipping to the view and automatic peak downsampling,
so twenty years of daily bars pan smoothly; nothing is drawn per point. A crosshair follows the
mouse and a readout line above the plots gives the date, the realised close and each visible
forecast with its error, all prices with the same decimals.

The mouse wheel and drags zoom and pan through time only; each plot's y axis follows the data
on screen. :meth:`BacktestView.reset_zoom` (the Reset zoom button) shows the whole test span.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.backtest import BacktestResult
from stockapp.gui.backtest.chart_style import (
    EQUITY_MIN,
    FORECASTERS,
    HIDDEN_BY_DEFAULT,
    HIDDEN_LABEL_COLOUR,
    LABEL_COLOUR,
    RESIDUAL_MIN,
    RESIDUAL_OF,
    STYLES,
    add_plot,
    legend_entry,
    pen_of,
    price_decimals,
    price_min_height,
    short_labels,
)
from stockapp.gui.backtest.readout import (
    bar_at,
    crosshair_items,
    plain_text,
    readout,
    refit_segments,
    series_toggles,
)
from stockapp.gui.bands.overlay import BandOverlay
from stockapp.gui.widgets.axes import date_axis, timestamps
from stockapp.gui.widgets.empty_state import EmptyState

EMPTY_TEXT = (
    "Run a backtest (Backtest settings → Run backtest) or open a saved run (File > Runs…) to "
    "see its forecasts, their errors and the trading rule's equity here."
)


class BacktestView(QWidget):
    """Linked price, residual and equity charts of one :class:`BacktestResult`.

    Series can be switched with the checkboxes above the plots or by clicking their legend
    entries (the two stay in step); :meth:`set_series_visible` does the same from code.
    """

    #: Emitted with ``(key, visible)`` when a series is shown or hidden, however it happened.
    series_toggled = Signal(str, bool)
    #: Emitted with the test bar's date (a ``pd.Timestamp``) when a forecast is clicked.
    forecast_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: BacktestResult | None = None
        self._labels = short_labels("Model")
        self._x = np.empty(0)
        self._wanted = {key: key not in HIDDEN_BY_DEFAULT for key in STYLES}
        self._applying = False
        self._index: int | None = None
        self._decimals = 2
        self._controls_visible = True

        # One line, always: a long readout is cut at the right (full text in the tooltip)
        # rather than wrapping and pushing the plots down as the mouse moves.
        self.readout = QLabel(self)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(False)
        self.readout.setFixedHeight(self.readout.fontMetrics().height() + 6)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.graphics.ci.layout.setVerticalSpacing(2)
        self._curves: dict[str, pg.PlotDataItem] = {}
        # Each plot sits under its own legend row, so no legend ever hides data.
        self.price_plot = self._add_plot(0, "close", stretch=4)
        self.residual_plot = self._add_plot(1, "error", stretch=2)
        self.equity_plot = self._add_plot(2, "equity", stretch=3)
        # The price pane keeps over half of the panes' height however short the window
        # (issue 20: 25 pixels with the bands shown); see _keep_price_height.
        self.graphics.installEventFilter(self)
        self.residual_plot.getAxis("left").setToolTip("forecast − realised close")
        self.equity_plot.getAxis("left").setToolTip("value of 1 invested at the start")
        for plot in (self.residual_plot, self.equity_plot):
            plot.setXLink(self.price_plot)
        for plot in (self.price_plot, self.residual_plot, self.equity_plot):
            plot.setMouseEnabled(x=True, y=False)  # the wheel zooms time; y follows the data
            plot.setAutoVisible(y=True)
            plot.hideButtons()  # the Reset zoom button replaces pyqtgraph's tiny "A"
        self.equity_plot.getAxis("bottom").setStyle(showValues=True)
        # Room for readable value labels in the smaller panes (the equity's height includes
        # the date axis, whose dates need no "date" title).
        self.residual_plot.setMinimumHeight(RESIDUAL_MIN)
        self.equity_plot.setMinimumHeight(EQUITY_MIN)

        self._add_curve(self.price_plot, "realised", "Realised close")
        for key in ("persistence", "drift", "ar", "model"):
            self._add_curve(self.price_plot, key, self._labels[key])
        self._add_curve(self.price_plot, "refits", "Refit dates")
        # A distribution head's bands, shaded under the curves (toggles shown only then)
        self.bands = BandOverlay(self.price_plot, self)
        self._add_curve(self.residual_plot, "residual_model", "Model")
        self._add_curve(self.residual_plot, "residual_persistence", "Persistence")
        self._zero = pg.InfiniteLine(
            pos=0.0, angle=0, movable=False, pen=pg.mkPen("#b0b0b0", width=1)
        )
        self.residual_plot.addItem(self._zero, ignoreBounds=True)
        self._add_curve(self.equity_plot, "strategy", "Trading rule")
        self._add_curve(self.equity_plot, "buy_and_hold", "Buy and hold")

        self._crosshairs, self._date_label = crosshair_items(self._plots())
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._mouse_clicked)

        self._toggle_row, self._checks, self.reset_button = series_toggles(
            self, self._labels, self.set_series_visible
        )
        self.reset_button.clicked.connect(self.reset_zoom)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self._toggle_row)
        layout.addWidget(self.bands.controls)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
        self.empty_state = EmptyState(
            self.graphics, [self.price_plot, self.residual_plot, self.equity_plot], EMPTY_TEXT
        )
        self.clear()

    # ------------------------------------------------------------------ construction
    def _add_plot(self, row: int, ylabel: str, stretch: int) -> pg.PlotItem:
        return add_plot(self.graphics, row, ylabel, stretch, date_axis())

    def _add_curve(self, plot: pg.PlotItem, key: str, name: str) -> pg.PlotDataItem:
        curve = pg.PlotDataItem(
            [], [], pen=pen_of(key), name=name, connect="pairs" if key == "refits" else "finite"
        )
        curve.setVisible(key not in HIDDEN_BY_DEFAULT)
        curve.visibleChanged.connect(lambda k=key: self._visibility_changed(k))
        plot.addItem(curve)  # takes the plot's clipping and downsampling (see _add_plot)
        if key == "refits":  # vertical pairs: clipping or downsampling would mis-pair them
            curve.setClipToView(False)
            curve.setDownsampling(ds=1, auto=False)
        self._curves[key] = curve
        self._style_legend_entry(key)
        return curve

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.graphics and event.type() == QEvent.Type.Resize:
            self._keep_price_height(event.size().height())
        return False

    def _keep_price_height(self, height: int) -> None:
        legends = sum(p.legend.boundingRect().height() for p in self._plots())
        self.price_plot.setMinimumHeight(price_min_height(height, legends))

    def _plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        return self.price_plot, self.residual_plot, self.equity_plot

    # ------------------------------------------------------------------ public API
    @property
    def result(self) -> BacktestResult | None:
        return self._result

    def set_result(self, result: BacktestResult, model_name: str) -> None:
        """Show ``result``; ``model_name`` labels the model's curves and the readout."""
        self._result = result
        self._labels = short_labels(model_name)
        self._rename("model", model_name)
        self._rename("residual_model", model_name)
        self._checks["model"].setText(model_name)
        x = timestamps(result.dates)
        self._x = x
        self._curves["realised"].setData(x, result.realised)
        for key in FORECASTERS:
            y = result.forecasts.get(key)
            if y is None:
                self._curves[key].setData([], [])
            else:
                self._curves[key].setData(x, y)
        self._curves["residual_model"].setData(x, result.forecasts["model"] - result.realised)
        self._curves["residual_persistence"].setData(
            x, result.forecasts["persistence"] - result.realised
        )
        self._curves["strategy"].setData(x, result.strategy.equity)
        self._curves["buy_and_hold"].setData(x, result.buy_and_hold.equity)
        self._set_refits(result)
        self.bands.set_bands(getattr(result, "bands", None), x, result.previous)
        if not self._controls_visible:
            self.bands.controls.setVisible(False)
        self._decimals = price_decimals(np.asarray(result.realised, dtype=float))
        self._set_empty(False)
        self.reset_zoom()
        self._show_readout(len(x) - 1)

    def clear(self) -> None:
        """Show nothing (before the first backtest or while a new one runs)."""
        self._result = None
        self._x = np.empty(0)
        for curve in self._curves.values():
            curve.setData([], [])
        self.bands.set_bands(None, np.empty(0), np.empty(0))
        for line in self._crosshairs:
            line.setVisible(False)
        self._date_label.setVisible(False)
        self._index = None
        self._set_empty(True)
        self.readout.setText("")
        self.readout.setToolTip("")

    def is_empty(self) -> bool:
        """Whether the view shows its empty-state note (no result yet)."""
        return self.empty_state.is_empty()

    def reset_zoom(self) -> None:
        """Show the whole test span, each y axis fitted to its data (Ctrl+0, Reset zoom)."""
        for plot in (self.price_plot, self.residual_plot, self.equity_plot):
            plot.enableAutoRange(y=True)
        if len(self._x):
            self.price_plot.setXRange(self._x[0], self._x[-1], padding=0.01)

    def set_controls_visible(self, visible: bool) -> None:
        """Show or hide the checkboxes (the series' and the bands') and the crosshair readout
        (hidden in exported pictures, which cannot be clicked)."""
        self._controls_visible = visible
        self._toggle_row.setVisible(visible and not self.is_empty())
        self.readout.setVisible(visible)
        if not visible:
            self.bands.controls.setVisible(False)

    def drop_unused_from_legends(self) -> None:
        """Remove hidden or empty series from the legends (for still pictures, which cannot
        click a series back on and should not list refit dates when there were none)."""
        for plot in (self.price_plot, self.residual_plot, self.equity_plot):
            for key, curve in self._curves.items():
                unused = not curve.isVisible() or self.series_points(key) == 0
                if unused and curve.getViewBox() is plot.vb:
                    plot.legend.removeItem(curve)

    def forecast_count(self) -> int:
        """Number of finite points in the model-forecast curve (one per test bar)."""
        y = self._curves["model"].yData
        return 0 if y is None else int(np.isfinite(y).sum())

    def series_keys(self) -> list[str]:
        """Keys accepted by :meth:`set_series_visible`."""
        return list(self._curves)

    def set_series_visible(self, key: str, visible: bool) -> None:
        """Show or hide one series (``"model"``, ``"persistence"``, ``"drift"``, ``"ar"``, ...).

        A forecaster's residuals follow it: hiding the model hides its errors too, and showing
        it again brings them back if they were on.
        """
        self._wanted[key] = visible
        self._apply_visibility()

    def is_series_visible(self, key: str) -> bool:
        return self._curves[key].isVisible()

    def series_points(self, key: str) -> int:
        """Number of finite points held by one series."""
        y = self._curves[key].yData
        return 0 if y is None else int(np.isfinite(y).sum())

    def readout_text(self, index: int) -> str:
        """The readout for test bar ``index`` as plain text (what the crosshair label shows)."""
        return self._readout(index, rich=False)

    def show_crosshair_at(self, index: int) -> None:
        """Move the crosshair to test bar ``index`` and update the readout."""
        if self._result is None or not len(self._x):
            return
        index = int(np.clip(index, 0, len(self._x) - 1))
        for line in self._crosshairs:
            line.setValue(self._x[index])
            line.setVisible(True)
        self._date_label.setText(f"{self._result.dates[index]:%Y-%m-%d}")
        self._date_label.setPos(self._x[index], self.equity_plot.vb.viewRange()[1][0])
        self._date_label.setVisible(True)
        self._show_readout(index)

    def crosshair_date(self) -> str | None:
        """The date the crosshair shows at the date axis, or ``None`` when it is hidden."""
        return self._date_label.toPlainText() if self._date_label.isVisible() else None

    # ------------------------------------------------------------------ internals
    def _rename(self, key: str, name: str) -> None:
        self._curves[key].opts["name"] = name
        entry = legend_entry(self._plots(), self._curves[key])
        if entry is not None:
            entry[1].setText(name)

    def _style_legend_entry(self, key: str) -> None:
        """Grey a hidden series' legend label (its sample fades by itself)."""
        curve = self._curves[key]
        entry = legend_entry(self._plots(), curve)
        if entry is not None:
            sample, label = entry
            colour = LABEL_COLOUR if curve.isVisible() else HIDDEN_LABEL_COLOUR
            label.setText(label.text, color=colour)
            sample.update()

    def _set_refits(self, result: BacktestResult) -> None:
        """Refit dates as vertical segments spanning the price range: one item, not one each."""
        self._curves["refits"].setData(*refit_segments(result))

    def _set_empty(self, empty: bool) -> None:
        """Empty: the sentence alone, no axes, labels or legends (issue 20)."""
        self.empty_state.set_empty(empty)
        for plot in self._plots():
            plot.legend.setVisible(not empty)
            for name in ("left", "bottom"):
                plot.getAxis(name).setVisible(not empty)
        self._zero.setVisible(not empty)
        self._toggle_row.setVisible(self._controls_visible and not empty)

    def _apply_visibility(self) -> None:
        """Make every curve show what was asked for, residuals only with their forecaster."""
        self._applying = True
        try:
            for key, curve in self._curves.items():
                parent = RESIDUAL_OF.get(key)
                curve.setVisible(self._wanted[key] and (parent is None or self._wanted[parent]))
        finally:
            self._applying = False
        for key, box in self._checks.items():
            if box.isChecked() != self._wanted[key]:
                box.blockSignals(True)
                box.setChecked(self._wanted[key])
                box.blockSignals(False)
        if self._index is not None:
            self._show_readout(self._index)  # hidden series leave the readout at once

    def _visibility_changed(self, key: str) -> None:
        visible = self._curves[key].isVisible()
        self._style_legend_entry(key)
        if not self._applying and visible != self._wanted[key]:
            # Switched from outside (a click on its legend entry): that is what is wanted now.
            self._wanted[key] = visible
            self._apply_visibility()
        self.series_toggled.emit(key, visible)

    def _bar_at(self, pos: QPointF) -> int | None:
        """The test bar nearest the scene position ``pos`` on any chart, if it is on one."""
        if self._result is None or not len(self._x):
            return None
        return bar_at(self._x, self._plots(), pos)

    def _mouse_moved(self, pos: QPointF) -> None:
        i = self._bar_at(pos)
        if i is not None:
            self.show_crosshair_at(i)

    def _mouse_clicked(self, event: object) -> None:
        i = self._bar_at(event.scenePos())
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.forecast_clicked.emit(self._result.dates[i])

    def _show_readout(self, index: int) -> None:
        self._index = index
        text = self._readout(index, rich=True)
        self.readout.setText(text)
        self.readout.setToolTip(plain_text(text))

    def _readout(self, index: int, rich: bool) -> str:
        return readout(
            self._result, index, self._labels, self._decimals, self.is_series_visible, rich
        )
