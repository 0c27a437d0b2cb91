"""How the backtest charts look and read: series styles, legend samples, price formats.

Kept apart from :mod:`.view` (the widget) so the readout (:mod:`.readout`) and the still
pictures share the same colours, names and number formats.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from stockapp.core.backtest import forecaster_labels

#: Series key -> (colour, line width, pen style). Red is the model and everything it drives,
#: near-black the market itself, muted colours the baselines.
STYLES: dict[str, tuple[str, float, Qt.PenStyle]] = {
    "realised": ("#1a1a1a", 1.6, Qt.PenStyle.SolidLine),
    "model": ("#d62728", 1.6, Qt.PenStyle.SolidLine),
    "persistence": ("#8c8c8c", 1.2, Qt.PenStyle.DashLine),
    "drift": ("#9467bd", 1.2, Qt.PenStyle.DotLine),
    "ar": ("#2ca02c", 1.2, Qt.PenStyle.DashDotLine),
    "refits": ("#1f77b4", 1.0, Qt.PenStyle.DashLine),
    "residual_model": ("#d62728", 1.0, Qt.PenStyle.SolidLine),
    "residual_persistence": ("#8c8c8c", 1.0, Qt.PenStyle.SolidLine),
    "strategy": ("#d62728", 1.8, Qt.PenStyle.SolidLine),
    "buy_and_hold": ("#1a1a1a", 1.4, Qt.PenStyle.SolidLine),
}
#: Forecaster keys in drawing and readout order.
FORECASTERS = ("model", "persistence", "drift", "ar")
#: Series a user can switch on and off, with the checkbox text for those that are not forecasts.
TOGGLES = {
    "persistence": "",
    "drift": "",
    "ar": "",
    "model": "",
    "refits": "refit dates",
    "residual_persistence": "persistence residuals",
}
#: Series hidden until asked for (the persistence residuals double the noise in the pane).
HIDDEN_BY_DEFAULT = {"residual_persistence"}
#: A forecaster's residuals are drawn only while the forecaster itself is shown.
RESIDUAL_OF = {"residual_model": "model", "residual_persistence": "persistence"}
AXIS_FONT_PT = 9
LABEL_COLOUR = "#222222"
#: A hidden series keeps its legend entry, drawn faded, so a click can bring it back.
HIDDEN_LABEL_COLOUR = "#a0a0a0"
HIDDEN_ALPHA = 70


def short_labels(model_name: str) -> dict[str, str]:
    """Legend names: the forecaster labels without their explanation in brackets."""
    return {k: v.split(" (")[0] for k, v in forecaster_labels(model_name).items()}


def pen_of(key: str) -> pg.QtGui.QPen:
    colour, width, style = STYLES[key]
    pen = pg.mkPen(colour, width=width, style=style)
    pen.setCosmetic(True)
    return pen


def price_decimals(prices: np.ndarray) -> int:
    """Decimals for every price and error of one result: 2, or 4 for prices under one."""
    finite = np.abs(prices[np.isfinite(prices)])
    return 2 if not finite.size or float(np.median(finite)) >= 1 else 4


def fmt_price(v: float, decimals: int = 2) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:,.{decimals}f}"


def fmt_signed(v: float, decimals: int = 2) -> str:
    if not math.isfinite(v):
        return "n/a"
    return ("+" if v >= 0 else "−") + fmt_price(abs(v), decimals)


class ToggleSample(pg.ItemSample):
    """A legend sample that stays a line sample when its series is hidden, only faded.

    pyqtgraph's own sample swaps in a crossed-out eye icon for a hidden item, which reads as an
    error in a chart legend; a faded line reads as "switched off" and clicks back on the same.
    """

    def paint(self, p: pg.QtGui.QPainter, *args: object) -> None:
        if self.item.isVisible():
            super().paint(p, *args)
            return
        pen = pg.mkPen(self.item.opts["pen"])
        colour = pen.color()
        colour.setAlpha(HIDDEN_ALPHA)
        pen.setColor(colour)
        p.setPen(pen)
        p.drawLine(0, 11, 20, 11)


def add_plot(
    graphics: pg.GraphicsLayoutWidget, row: int, ylabel: str, stretch: int, bottom: pg.AxisItem
) -> pg.PlotItem:
    """Plot ``row`` of the charts under a legend row of its own (so no legend hides data)."""
    legend = pg.LegendItem(
        offset=None,
        labelTextSize=f"{AXIS_FONT_PT}pt",
        labelTextColor=LABEL_COLOUR,
        colCount=6,
        verSpacing=-6,
        horSpacing=18,
        sampleType=ToggleSample,
    )
    legend.layout.setContentsMargins(70, 0, 0, 0)  # start above the plot area, not the axis
    # Ignored: a long legend on a narrow window is cut at the right instead of widening the
    # whole layout past the window (which would push the plots' right edge out of sight).
    legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    graphics.addItem(legend, row=2 * row, col=0)
    graphics.ci.layout.setAlignment(legend, Qt.AlignmentFlag.AlignLeft)
    plot = graphics.addPlot(row=2 * row + 1, col=0, axisItems={"bottom": bottom})
    graphics.ci.layout.setRowStretchFactor(2 * row, 0)
    graphics.ci.layout.setRowStretchFactor(2 * row + 1, stretch)
    plot.showGrid(x=True, y=True, alpha=0.2)
    # Small preferred heights, so the stretch factors (not the axes' own wishes) share
    # the height: the price pane keeps over half of the plots' height on a laptop screen.
    plot.setPreferredHeight(30)
    plot.setMinimumHeight(30)
    plot.setMenuEnabled(False)
    # Draw only the visible span, about one min/max pair per pixel: decades stay smooth.
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.legend = legend  # PlotItem.addItem lists named curves in ``plot.legend``
    font = pg.QtGui.QFont()
    font.setPointSize(AXIS_FONT_PT)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setTickFont(font)
        ax.setTextPen("#333333")
        ax.setPen("#888888")
    plot.setLabel("left", ylabel, color="#333333")
    plot.getAxis("left").setWidth(64)  # equal widths keep the three x axes aligned
    if row < 2:
        plot.getAxis("bottom").setStyle(showValues=False)
    return plot


def legend_entry(
    plots: tuple[pg.PlotItem, ...], curve: pg.PlotDataItem
) -> tuple[pg.ItemSample, pg.LabelItem] | None:
    """The legend sample and label of ``curve`` in any of ``plots``' legends."""
    for plot in plots:
        for sample, label in plot.legend.items:
            if sample.item is curve:
                return sample, label
    return None


#: Least share of the panes' height the price pane keeps.
PRICE_SHARE = 0.5
#: Least heights of the error and equity panes (the equity's includes the date axis).
RESIDUAL_MIN, EQUITY_MIN = 46, 80


def price_min_height(height: float, legends: float) -> float:
    """The price pane's least height in a chart area ``height`` tall whose legends take
    ``legends``: :data:`PRICE_SHARE` of what is left to the panes, less only where the error
    and equity panes would drop below their least heights (they share the rest by stretch)."""
    panes = max(height - legends - 24, 0)
    return max(30.0, min(PRICE_SHARE * panes, panes - (RESIDUAL_MIN + EQUITY_MIN)))
