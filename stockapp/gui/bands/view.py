"""The Bands page: whether a backtest's forecast bands can be trusted.

:class:`BandsView` shows, for the bands drawn (the calibrated ones when the backtest calibrated
them, named so), the coverage by volatility regime (:class:`~.regime_table.RegimeTable`),
observed against nominal coverage with the diagonal (the model's own, uncalibrated curve dashed
beside it), the PIT histogram (flat when calibrated) and the forecast volatility against the
realised absolute return, with the scores' sentences above. Every legend stands in a row of its
own above its chart, so none covers data; with nothing to show, a sentence replaces the axes.
The numbers all come from :class:`~stockapp.core.distribution.BandForecasts`.
:class:`~.overlay.BandOverlay` (the shaded bands on the price chart) lives beside it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from stockapp.core.bands import LEVELS, pit_histogram
from stockapp.core.distribution import BandForecasts
from stockapp.core.return_distribution import interval
from stockapp.gui.bands.overlay import BandOverlay, calibration_word, price_band  # noqa: F401
from stockapp.gui.bands.regime_table import RegimeTable
from stockapp.gui.widgets.axes import date_axis, timestamps
from stockapp.gui.widgets.empty_state import EmptyState

#: Nominal coverages of the calibration chart.
CALIBRATION_LEVELS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
#: Forecaster key -> (label, colour) in the calibration and volatility charts.
SERIES = {
    "model": ("Model", "#d62728"),
    "garch": ("GARCH(1,1)-t", "#1f77b4"),
    "ewma": ("EWMA", "#2ca02c"),
    "rolling": ("Rolling", "#8c8c8c"),
}
EMPTY_TEXT = (
    "Bands appear here after a backtest with a distribution head (Gaussian or Student-t, "
    "chosen on the Model page)."
)
#: Least height of the charts: the calibration chart and the volatility chart keep their labels
#: apart; on a short screen the page scrolls down instead.
CHARTS_MIN_HEIGHT = 470
_UNIT_TICKS = [[(v, f"{v:g}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)], []]


def observed_coverage(bands: BandForecasts, key: str, levels: np.ndarray) -> np.ndarray:
    """Share of outcomes inside ``key``'s band at each nominal level: the calibrated band
    (:meth:`BandForecasts.band`) at the scored levels, the distribution's central interval
    elsewhere."""
    mu, sigma, nu = bands.dists[key]
    y = bands.realised_return
    ok = np.isfinite(y) & np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0)
    out = []
    for level in levels:
        scored = next((lv for lv in LEVELS if np.isclose(level, lv)), None)
        if scored is not None:
            lo, hi = bands.band(key, scored)
            lo, hi = lo[ok], hi[ok]
        else:
            lo, hi = interval(level, mu[ok], sigma[ok], None if nu is None else nu[ok])
        out.append(float(np.mean((y[ok] >= lo) & (y[ok] <= hi))) if ok.any() else np.nan)
    return np.array(out)


def _legend(graphics: pg.GraphicsLayoutWidget, row: int, colspan: int) -> pg.LegendItem:
    """A legend in a layout row of its own (above its chart), so it never covers data."""
    legend = pg.LegendItem(offset=None, colCount=5, labelTextColor="#222222", horSpacing=16)
    legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    graphics.addItem(legend, row=row, col=0, colspan=colspan)
    graphics.ci.layout.setRowStretchFactor(row, 0)
    return legend


class BandsView(QWidget):
    """Regime coverage, calibration, PIT histogram and volatility charts of a backtest's bands."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.calibration_legend = _legend(self.graphics, 0, 2)
        self.calibration = self.graphics.addPlot(row=1, col=0, title="Calibration")
        self.calibration.legend = self.calibration_legend  # named curves list themselves here
        self.calibration.setLabel("bottom", "nominal coverage")
        self.calibration.setLabel("left", "observed")
        self.calibration.setXRange(0, 1, padding=0.02)
        self.calibration.setYRange(0, 1, padding=0.02)
        self.pit = self.graphics.addPlot(row=1, col=1, title="PIT histogram (flat = calibrated)")
        self.pit.setLabel("bottom", "forecast CDF at the outcome")
        self.pit.setLabel("left", "density")
        self.vol_legend = _legend(self.graphics, 2, 2)
        self.vol = self.graphics.addPlot(row=3, col=0, colspan=2, axisItems={"bottom": date_axis()})
        self.vol.legend = self.vol_legend
        self.vol.setLabel("left", "|log return|")
        self.vol.setToolTip("Forecast volatility (sigma) against the realised absolute return")
        for plot in (self.calibration, self.pit, self.vol):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(56)
            plot.setPreferredHeight(40)  # the stretch factors share the height, not the axes
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.graphics.ci.layout.setRowStretchFactor(3, 2)
        self.vol.setMinimumHeight(110)  # room for three value labels apart
        diag = pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        self.calibration.addItem(diag)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for key, (label, colour) in SERIES.items():
            self.curves[key] = self.calibration.plot(
                [], [], pen=pg.mkPen(colour, width=1.6), symbol="o", symbolSize=5,
                symbolBrush=colour, name=label,
            )  # fmt: skip
        self.raw_curve = self.calibration.plot(
            [], [], pen=pg.mkPen("#d62728", width=1.2, style=Qt.PenStyle.DashLine),
            name="Model, own (raw)",
        )  # fmt: skip
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush="#d62728aa")
        self.pit.addItem(self.bars)
        self.pit.addItem(pg.InfiniteLine(1.0, angle=0, pen=pg.mkPen("#888888", width=1)))
        self.abs_return = self.vol.plot(
            [], [], pen=pg.mkPen("#c0c0c0", width=1), name="realised |return|"
        )
        self.sigma = self.vol.plot([], [], pen=pg.mkPen("#d62728", width=1.6), name="model sigma")
        self.garch_sigma = self.vol.plot(
            [], [], pen=pg.mkPen("#1f77b4", width=1.2, style=Qt.PenStyle.DashLine),
            name="GARCH sigma",
        )  # fmt: skip
        self.empty_state = EmptyState(
            self.graphics, [self.calibration, self.pit, self.vol], EMPTY_TEXT
        )
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sentence = QLabel(self)
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.calibration_note = QLabel(self)
        self.calibration_note.setObjectName("hint")
        self.calibration_note.setWordWrap(True)
        self.calibration_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.regimes = RegimeTable(self)
        # The page scrolls (down only) rather than squeezing the charts on a laptop screen.
        self.graphics.setMinimumHeight(CHARTS_MIN_HEIGHT)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.sentence)
        layout.addWidget(self.calibration_note)
        layout.addWidget(self.regimes)
        layout.addWidget(self.graphics, 1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(page)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self.clear()

    def clear(self) -> None:
        for curve in (
            *self.curves.values(), self.raw_curve, self.abs_return, self.sigma, self.garch_sigma
        ):  # fmt: skip
            curve.setData([], [])
        self.bars.setOpts(x0=[], x1=[], height=[])
        self.regimes.set_bands(None)
        self.regimes.setVisible(False)
        for legend in (self.calibration_legend, self.vol_legend):
            legend.setVisible(False)
        self.heading.setText("")
        self.heading.setVisible(False)
        self.calibration_note.setVisible(False)
        self.sentence.setText(EMPTY_TEXT)
        self.sentence.setVisible(False)
        self.empty_state.set_empty(True)
        self._show_axes(False)  # the sentence alone, no axes

    def is_empty(self) -> bool:
        """Whether the page shows its empty-state sentence instead of charts."""
        return self.empty_state.is_empty()

    def set_result(self, result, model_name: str = "Model") -> None:
        """Draw a :class:`~stockapp.core.backtest.BacktestResult`'s bands (or clear)."""
        bands = getattr(result, "bands", None)
        self.set_bands(bands, model_name, None if bands is None else result.dates)

    def set_bands(self, bands: BandForecasts | None, model_name: str = "Model", dates=None) -> None:
        """Draw ``bands`` (over ``dates`` when given); ``None`` clears the charts."""
        if bands is None:
            self.clear()
            return
        self.empty_state.set_empty(False)
        self._show_axes(True)
        for axis in ("left", "bottom"):
            self.calibration.getAxis(axis).setTicks(_UNIT_TICKS)
        for key, curve in self.curves.items():
            if key in bands.dists:
                curve.setData(CALIBRATION_LEVELS, observed_coverage(bands, key, CALIBRATION_LEVELS))
            else:
                curve.setData([], [])
        raw = bands.raw
        if raw is not None:
            self.raw_curve.setData(
                CALIBRATION_LEVELS, observed_coverage(raw, "model", CALIBRATION_LEVELS)
            )
        else:
            self.raw_curve.setData([], [])
        self._rename(self.curves["model"], model_name)
        self._rename(self.raw_curve, f"{model_name}, own (raw)")
        self.raw_curve.setVisible(raw is not None)
        edges, density = pit_histogram(bands.pit("model"))
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=density)
        n = bands.realised_return.size
        t = timestamps(dates) if dates is not None else np.arange(n, dtype=np.float64)
        self.abs_return.setData(t, np.abs(bands.realised_return))
        self.sigma.setData(t, bands.dists["model"][1])
        if "garch" in bands.dists:
            self.garch_sigma.setData(t, bands.dists["garch"][1])
        else:
            self.garch_sigma.setData([], [])
        for legend in (self.calibration_legend, self.vol_legend):
            legend.setVisible(True)
        word = calibration_word(bands)
        self.heading.setText(
            f"<b>Forecast bands: {word}</b> &nbsp; {n:,} test bars. "
            + (
                "Each forecaster's bands are calibrated online from past outcomes only; the "
                "raw rows and the dashed curve are the model's own bands before it."
                if raw is not None
                else "The forecasters' own bands (the backtest did not calibrate them)."
            )
        )
        self.heading.setVisible(True)
        self.sentence.setText(bands.sentence(model_name))
        self.sentence.setVisible(True)
        note = bands.calibration_sentence(model_name)
        self.calibration_note.setText(note)
        self.calibration_note.setVisible(bool(note))
        self.regimes.set_bands(bands, model_name, dates)
        self.regimes.setVisible(True)

    def _show_axes(self, shown: bool) -> None:
        for plot in (self.calibration, self.pit, self.vol):
            if plot is not self.vol:
                plot.setTitle(plot.titleLabel.text if shown else None)
            for name in ("left", "bottom"):
                plot.getAxis(name).setVisible(shown)

    def _rename(self, curve: pg.PlotDataItem, name: str) -> None:
        curve.opts["name"] = name
        for sample, label in self.calibration_legend.items:
            if sample.item is curve:
                label.setText(name)
