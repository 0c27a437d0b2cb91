"""The model's forecast bands shaded on a price plot, with their check boxes.

:class:`BandOverlay` shades the model's 50%, 80% and 95% bands around its forecast (each
toggleable) and outlines GARCH's 80% band dashed when ticked. The bands are
:meth:`BandForecasts.band <stockapp.core.distribution.BandForecasts.band>`: the calibrated ones
when the backtest calibrated them (the same as ``forecasts.csv``'s ``lower_*``/``upper_*``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from stockapp.core.distribution import BandForecasts

#: Band toggles -> checkbox text; the 50% and 80% bands are shown at first.
BAND_TOGGLES = {"50": "50% band", "80": "80% band", "95": "95% band", "garch": "GARCH 80% band"}
_SHOWN_AT_FIRST = {"50", "80"}


def price_band(bands: BandForecasts, previous: np.ndarray, level: float, key: str = "model"):
    """``(lower, upper)`` price levels of ``key``'s ``level`` band for each bar (calibrated
    when the backtest calibrated it)."""
    lo, hi = bands.band(key, level)
    prev = np.asarray(previous, np.float64)
    return prev * np.exp(lo), prev * np.exp(hi)


def calibration_word(bands: BandForecasts | None) -> str:
    """``"calibrated (aci)"`` or ``"uncalibrated"``: which bands are drawn."""
    if bands is None or bands.raw is None:
        return "uncalibrated"
    return f"calibrated ({bands.calibration})"


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
        self.title = QLabel("Bands:", self.controls)
        row.addWidget(self.title)
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
        word = calibration_word(bands)
        self.title.setText(f"Bands ({word.split(' ')[0]}):")
        self.title.setToolTip(
            "The bands drawn are calibrated online from past outcomes only "
            f"({bands.calibration}); the Bands page compares them with the model's own."
            if has and bands.raw is not None
            else "The model's own bands, not calibrated."
        )
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
