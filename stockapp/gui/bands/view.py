"""Forecast bands in the GUI: the shaded band on the price chart, and the calibration charts.

:class:`BandOverlay` shades the model's 50% and 80%/95% bands around its forecast on a price
plot (each toggleable) and outlines GARCH's band dashed when ticked. :class:`BandsView` shows
whether the bands can be trusted: observed against nominal coverage with the diagonal, the PIT
histogram (flat when calibrated), and the forecast volatility against the realised absolute
return, with the scores' sentence under them. Both draw a
:class:`~stockapp.core.distribution.BandForecasts`; the numbers all come from the core.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from stockapp.core.bands import pit_histogram
from stockapp.core.distribution import BandForecasts
from stockapp.core.return_distribution import interval
from stockapp.gui.widgets.axes import date_axis, timestamps

#: Nominal coverages of the calibration chart.
CALIBRATION_LEVELS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
#: Forecaster key -> (label, colour) in the calibration and volatility charts.
SERIES = {
    "model": ("Model", "#d62728"),
    "garch": ("GARCH(1,1)-t", "#1f77b4"),
    "ewma": ("EWMA", "#2ca02c"),
    "rolling": ("Rolling", "#8c8c8c"),
}
#: Band toggles -> checkbox text; the 50% and 80% bands are shown at first.
BAND_TOGGLES = {"50": "50% band", "80": "80% band", "95": "95% band", "garch": "GARCH 80% band"}
_SHOWN_AT_FIRST = {"50", "80"}


def price_band(bands: BandForecasts, previous: np.ndarray, level: float, key: str = "model"):
    """``(lower, upper)`` price levels of ``key``'s central ``level`` band for each bar."""
    mu, sigma, nu = bands.dists[key]
    lo, hi = interval(level, mu, sigma, nu)
    prev = np.asarray(previous, np.float64)
    return prev * np.exp(lo), prev * np.exp(hi)


def observed_coverage(bands: BandForecasts, key: str, levels: np.ndarray) -> np.ndarray:
    """Share of outcomes inside ``key``'s central band at each nominal level."""
    mu, sigma, nu = bands.dists[key]
    y = bands.realised_return
    ok = np.isfinite(y) & np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0)
    out = []
    for level in levels:
        lo, hi = interval(level, mu[ok], sigma[ok], None if nu is None else nu[ok])
        out.append(float(np.mean((y[ok] >= lo) & (y[ok] <= hi))) if ok.any() else np.nan)
    return np.array(out)


class BandOverlay:
    """The model's shaded bands and GARCH's dashed outline on a price plot, with toggles."""

    def __init__(self, plot: pg.PlotItem, parent: QWidget | None = None) -> None:
        self.plot = plot
        self._x = np.empty(0)
        self._lines: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.fills: dict[str, pg.FillBetweenItem] = {}
        alpha = {"50": 90, "80": 50, "95": 30}
        for key in ("95", "80", "50"):  # widest first, so narrower bands paint on top
            lo, hi = pg.PlotDataItem([], []), pg.PlotDataItem([], [])
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(214, 39, 40, alpha[key]))
            fill.setZValue(-10)
            plot.addItem(fill, ignoreBounds=True)
            self._lines[key], self.fills[key] = (lo, hi), fill
        pen = pg.mkPen("#1f77b4", width=1.2, style=Qt.PenStyle.DashLine)
        self.garch = (pg.PlotDataItem([], [], pen=pen), pg.PlotDataItem([], [], pen=pen))
        for item in self.garch:
            plot.addItem(item, ignoreBounds=True)
        self.controls = QWidget(parent)
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Bands:", self.controls))
        self.checks: dict[str, QCheckBox] = {}
        for key, text in BAND_TOGGLES.items():
            box = QCheckBox(text, self.controls)
            box.setChecked(key in _SHOWN_AT_FIRST)
            box.toggled.connect(self._apply)
            row.addWidget(box)
            self.checks[key] = box
        row.addStretch(1)
        self.checks["garch"].setToolTip("GARCH(1,1) with Student-t errors, fitted on the past")
        self.set_bands(None, np.empty(0), np.empty(0))

    def set_bands(self, bands: BandForecasts | None, x: np.ndarray, previous: np.ndarray) -> None:
        """Draw ``bands`` (``None``: nothing, and the toggles hidden) at timestamps ``x``."""
        self._x = np.asarray(x, np.float64)
        has = bands is not None
        self.controls.setVisible(has)
        for key, (lo, hi) in self._lines.items():
            if has:
                lower, upper = price_band(bands, previous, int(key) / 100)
                lo.setData(self._x, lower)
                hi.setData(self._x, upper)
            else:
                lo.setData([], [])
                hi.setData([], [])
        g_lo, g_hi = self.garch
        if has and "garch" in bands.dists:
            lower, upper = price_band(bands, previous, 0.8, "garch")
            g_lo.setData(self._x, lower)
            g_hi.setData(self._x, upper)
        else:
            g_lo.setData([], [])
            g_hi.setData([], [])
        self._apply()

    def _apply(self) -> None:
        for key, fill in self.fills.items():
            fill.setVisible(self.checks[key].isChecked())
        for item in self.garch:
            item.setVisible(self.checks["garch"].isChecked())

    def is_shown(self, key: str) -> bool:
        """Whether band ``key`` ("50", "80", "95" or "garch") is drawn now."""
        if key == "garch":
            return self.garch[0].isVisible() and self.garch[0].xData is not None
        return self.fills[key].isVisible() and self._lines[key][0].xData is not None


class BandsView(QWidget):
    """Calibration, PIT histogram and volatility charts of a backtest's forecast bands."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.calibration = self.graphics.addPlot(row=0, col=0, title="Calibration")
        self.calibration.setLabel("bottom", "nominal coverage")
        self.calibration.setLabel("left", "observed coverage")
        self.calibration.addLegend(offset=(10, 10))
        self.calibration.setXRange(0, 1)
        self.calibration.setYRange(0, 1)
        self.pit = self.graphics.addPlot(row=0, col=1, title="PIT histogram (flat = calibrated)")
        self.pit.setLabel("bottom", "forecast CDF at the outcome")
        self.pit.setLabel("left", "density")
        self.vol = self.graphics.addPlot(row=1, col=0, colspan=2, axisItems={"bottom": date_axis()})
        self.vol.setTitle("Forecast volatility against the realised absolute return")
        self.vol.setLabel("left", "log return")
        self.vol.addLegend(offset=(10, 10))
        diag = pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        self.calibration.addItem(diag)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for key, (label, colour) in SERIES.items():
            self.curves[key] = self.calibration.plot(
                [], [], pen=pg.mkPen(colour, width=1.6), symbol="o", symbolSize=5,
                symbolBrush=colour, name=label,
            )  # fmt: skip
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush="#d62728aa")
        self.pit.addItem(self.bars)
        self.pit.addItem(pg.InfiniteLine(1.0, angle=0, pen=pg.mkPen("#888888", width=1)))
        self.abs_return = self.vol.plot([], [], pen=pg.mkPen("#c0c0c0", width=1), name="|return|")
        self.sigma = self.vol.plot([], [], pen=pg.mkPen("#d62728", width=1.6), name="model sigma")
        self.garch_sigma = self.vol.plot(
            [], [], pen=pg.mkPen("#1f77b4", width=1.2, style=Qt.PenStyle.DashLine),
            name="GARCH sigma",
        )  # fmt: skip
        self.sentence = QLabel(self)
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.sentence)
        self.clear()

    def clear(self) -> None:
        for curve in (*self.curves.values(), self.abs_return, self.sigma, self.garch_sigma):
            curve.setData([], [])
        self.bars.setOpts(x0=[], x1=[], height=[])
        self.sentence.setText(
            "Bands appear here after a backtest with a distribution head (Gaussian or Student-t)."
        )

    def set_result(self, result, model_name: str = "Model") -> None:
        """Draw a :class:`~stockapp.core.backtest.BacktestResult`'s bands (or clear)."""
        bands = getattr(result, "bands", None)
        self.set_bands(bands, model_name, None if bands is None else result.dates)

    def set_bands(self, bands: BandForecasts | None, model_name: str = "Model", dates=None) -> None:
        """Draw ``bands`` (over ``dates`` when given); ``None`` clears the charts."""
        if bands is None:
            self.clear()
            return
        for key, curve in self.curves.items():
            if key in bands.dists:
                curve.setData(CALIBRATION_LEVELS, observed_coverage(bands, key, CALIBRATION_LEVELS))
            else:
                curve.setData([], [])
        self.curves["model"].opts["name"] = model_name
        edges, density = pit_histogram(bands.pit("model"))
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=density)
        n = bands.realised_return.size
        t = timestamps(dates) if dates is not None else np.arange(n, dtype=np.float64)
        self.abs_return.setData(t, np.abs(bands.realised_return))
        self.sigma.setData(t, bands.dists["model"][1])
        if "garch" in bands.dists:
            self.garch_sigma.setData(t, bands.dists["garch"][1])
        self.sentence.setText(bands.sentence(model_name))
