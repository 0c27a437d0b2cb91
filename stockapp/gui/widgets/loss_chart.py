"""Training and validation loss per epoch, on a log axis, updated live while a model trains."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from stockapp.gui.widgets.empty_state import EmptyState
from stockapp.gui.widgets.legend import legend_below
from stockapp.gui.widgets.log_axis import PlainLogAxis, plain_number

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)
RUNNING_PEN = pg.mkPen("#1f77b4", width=1, style=Qt.PenStyle.DotLine)
BEST_PEN = pg.mkPen("#2ca02c", width=1, style=Qt.PenStyle.DashLine)
REFERENCE_PEN = pg.mkPen("#7f7f7f", width=1.5, style=Qt.PenStyle.DashLine)

#: Narrower than this (pixels), the chart keeps its note about validation in the tooltip only.
NOTE_MIN_WIDTH = 480
#: What the chart says while it has nothing to show.
EMPTY_TEXT = "Train a model (Model page → Train) to see its loss here, epoch by epoch."
#: Why the validation curve usually sits below the training curve (tooltip and note).
VALIDATION_BELOW_TRAIN = (
    "Validation loss below training loss is expected here: dropout is on while training (the "
    "network works with parts of itself switched off) and off while validating, and the "
    "validation span may simply be calmer than the training span."
)
_TOOLTIP = (
    "Loss per epoch: mean squared error of the standardised target, on a log scale.\n"
    "Train: the training bars, with dropout on. Validation: the held-out bars after them, "
    "dropout off.\n"
    "Validation below training is expected: dropout only acts while training, and the "
    "validation span may be calmer.\n"
    "The grey dashed line, when shown, is the loss of predicting no change (persistence): "
    "a network worth keeping ends below it."
)


class EpochAxis(pg.AxisItem):
    """An x axis that labels whole epochs only (no "2.5"), never with an SI scale factor."""

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing >= 1:
                levels.append((spacing, [v for v in values if float(v).is_integer()]))
        if not levels:  # zoomed in below one epoch: label the epochs in view
            first, last = math.ceil(minVal), math.floor(maxVal)
            levels.append((1.0, [float(v) for v in range(first, last + 1)]))
        return levels


def _finite(values: Sequence[float | None]) -> np.ndarray:
    """Losses as float64; ``None``, non-finite and non-positive values become NaN gaps."""
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    arr[~np.isfinite(arr) | (arr <= 0)] = np.nan
    return arr


class LossChart(QWidget):
    """Loss curves of one training run.

    Epochs are numbered from 1 on the x axis. The y axis is logarithmic because losses typically
    fall by orders of magnitude in the first epochs and then flatten; on a linear axis the
    interesting late part would be a flat line. The best epoch (lowest validation loss, the
    weights the trainer keeps) is marked with a vertical line and a dot.

    A thin dotted line can show the running train loss inside the current epoch (fed from batch
    progress events) so that a slow first epoch is not a blank chart.

    While a run is live (:meth:`clear` with an epoch budget) the curves are drawn without point
    markers and the x axis stays put: every redraw competes with the training thread for the
    GIL, item by item, so a live chart is kept to a few cheap items. A finished run
    (:meth:`set_history`) gets its markers.
    """

    def __init__(self, parent: QWidget | None = None, empty_text: str = EMPTY_TEXT) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(
            self, axisItems={"bottom": EpochAxis("bottom"), "left": PlainLogAxis("left")}
        )
        self.plot.setBackground("w")
        self.plot.showGrid(x=False, y=True, alpha=0.25)  # y only: each grid costs a redraw
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "loss (log scale)")
        self.plot.setLogMode(x=False, y=True)
        self.plot.setToolTip(_TOOLTIP)
        # Under the x axis, never over the curves (which fall to the bottom right).
        self.legend = legend_below(self.plot)
        self._train_curve = self.plot.plot(
            [],
            [],
            pen=TRAIN_PEN,
            name="train",
            symbol="o",
            symbolSize=5,
            symbolBrush=TRAIN_PEN.color(),
        )
        self._val_curve = self.plot.plot(
            [],
            [],
            pen=VAL_PEN,
            name="validation",
            symbol="o",
            symbolSize=5,
            symbolBrush=VAL_PEN.color(),
        )
        self._running_curve = self.plot.plot([], [], pen=RUNNING_PEN)
        self._best_dot = self.plot.plot(
            [], [], pen=None, symbol="star", symbolSize=14, symbolBrush="#2ca02c", name="best epoch"
        )
        self._best_line = pg.InfiniteLine(angle=90, movable=False, pen=BEST_PEN)
        self._best_line.setVisible(False)
        self.plot.addItem(self._best_line, ignoreBounds=True)
        self._reference_curve = pg.PlotDataItem([], [], pen=REFERENCE_PEN)
        self.plot.addItem(self._reference_curve)
        self._reference: float | None = None
        self._reference_label = ""
        self.note = QLabel(VALIDATION_BELOW_TRAIN, self)
        self.note.setObjectName("lossNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555555;")
        self.note.setVisible(False)
        self._note_wanted = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self.empty_state = EmptyState(self.plot, [self.plot.getPlotItem()], empty_text)
        self._train: list[float | None] = []
        self._val: list[float | None] = []
        self._running_x: list[float] = []
        self._running_y: list[float] = []
        self._best_epoch: int | None = None
        self._max_epochs: int | None = None
        self._x_span = 0
        self._redraw()

    # ------------------------------------------------------------------ state
    def epoch_count(self) -> int:
        """How many epochs the chart shows (one point each)."""
        return len(self._train)

    def best_epoch(self) -> int | None:
        """The marked best epoch (1-based), or ``None``."""
        return self._best_epoch

    def is_empty(self) -> bool:
        """Whether the chart shows its empty-state note instead of curves."""
        return self.empty_state.is_empty()

    def set_empty_text(self, text: str) -> None:
        """What the empty chart says will appear there, and how to get it."""
        self.empty_state.set_text(text)

    def reference(self) -> float | None:
        """The reference loss drawn as a dashed line (see :meth:`set_reference`), or ``None``."""
        return self._reference

    def set_reference(self, value: float | None, label: str = "persistence (no change)") -> None:
        """Draw the loss of a reference forecast (``None`` removes it) as a dashed line.

        The caller computes ``value`` on the same data and scale as the validation loss (for
        persistence: the loss of forecasting no change), so a glance tells whether the network
        beats it. The legend shows ``label`` with the value.
        """
        if value is not None and not (math.isfinite(value) and value > 0):
            value = None  # a log axis cannot show it; better no line than a wrong one
        if self._reference is not None:
            self.legend.removeItem(self._reference_curve)
        self._reference = value
        self._reference_label = label
        if value is not None:
            self.legend.addItem(self._reference_curve, f"{label}: {plain_number(value, 4)}")
        self._redraw()

    def reset_zoom(self) -> None:
        """Fit every epoch and loss again (the live x range of a running fit stays put)."""
        if self._max_epochs is not None and self._x_span:
            self.plot.setXRange(0.5, self._x_span + 0.5, padding=0)
            self.plot.enableAutoRange(y=True)
        else:
            self.plot.enableAutoRange()

    def clear(self, max_epochs: int | None = None) -> None:
        """Forget the current run (called when a new training starts).

        With ``max_epochs`` (the run's epoch budget) the x axis stops following the data: it
        shows whole blocks of epochs (10, 20, 40, ... up to ``max_epochs``) and only grows when
        a point falls outside. A live update then leaves the axis as it is, which makes
        redrawing during training much cheaper than re-laying-out the ticks on every point.
        The reference line goes too (it belonged to the old data); :meth:`set_history` keeps it.
        """
        if self._reference is not None:
            self.legend.removeItem(self._reference_curve)
            self._reference = None
        self._train.clear()
        self._val.clear()
        self._running_x.clear()
        self._running_y.clear()
        self._best_epoch = None
        self._max_epochs = max_epochs
        self._x_span = 0
        self._fit_x(1.0)
        self._set_markers(max_epochs is None)
        self._redraw()
        if max_epochs is None:
            self.plot.enableAutoRange(x=True)

    def add_epoch(self, epoch: int, train_loss: float, val_loss: float | None) -> None:
        """Append the losses of ``epoch`` (1-based) and move the best-epoch marker.

        The best epoch is the one with the lowest validation loss, or the lowest train loss when
        there is no validation set, matching what the trainer keeps.
        """
        del self._train[epoch - 1 :]
        del self._val[epoch - 1 :]
        while len(self._train) < epoch - 1:  # an epoch missed (never expected): leave a gap
            self._train.append(None)
            self._val.append(None)
        self._train.append(train_loss)
        self._val.append(val_loss)
        self._running_x.clear()
        self._running_y.clear()
        self._best_epoch = self._lowest_epoch()
        self._redraw()

    def add_batch(self, epoch: int, batch: int, batches: int, running_loss: float) -> None:
        """Extend the dotted in-epoch train-loss line at x = ``epoch - 1 + batch / batches``."""
        if not (math.isfinite(running_loss) and running_loss > 0 and batches > 0):
            return
        x = epoch - 1 + batch / batches
        if self._running_x and x <= self._running_x[-1]:
            self._running_x.clear()
            self._running_y.clear()
        self._fit_x(x)
        self._running_x.append(x)
        self._running_y.append(running_loss)
        self._running_curve.setData(self._running_x, self._running_y)
        self.empty_state.set_empty(False)

    def set_history(
        self,
        train: Sequence[float],
        val: Sequence[float | None],
        best_epoch: int | None = None,
    ) -> None:
        """Show a whole finished run; ``best_epoch`` is 1-based (computed when omitted)."""
        self._train = list(train)
        self._val = list(val) + [None] * (len(self._train) - len(val))
        self._val = self._val[: len(self._train)]
        self._running_x.clear()
        self._running_y.clear()
        self._best_epoch = best_epoch if best_epoch is not None else self._lowest_epoch()
        self._max_epochs = None
        self._set_markers(True)
        self._redraw()
        self.plot.enableAutoRange(x=True)  # after the data is set, so the range fits it now

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._update_note()

    # --------------------------------------------------------------- drawing
    def _update_note(self) -> None:
        """The note under the chart, when it applies and the chart is wide enough to give it a
        line or two (a narrow chart, as on the Backtest page, keeps it in the tooltip)."""
        self.note.setVisible(self._note_wanted and self.width() >= NOTE_MIN_WIDTH)

    def _lowest_epoch(self) -> int | None:
        for values in (self._val, self._train):
            arr = _finite(values)
            if np.isfinite(arr).any():
                return int(np.nanargmin(arr)) + 1
        return None

    def _set_markers(self, on: bool) -> None:
        for curve in (self._train_curve, self._val_curve):
            if (curve.opts["symbol"] is not None) != on:
                curve.setSymbol("o" if on else None)

    def _fit_x(self, x: float) -> None:
        """Grow the fixed x range (only while a run with an epoch budget is live)."""
        if self._max_epochs is None or x <= self._x_span:
            return
        span = max(self._x_span, 10)
        while span < x:
            span *= 2
        self._x_span = min(span, max(self._max_epochs, math.ceil(x)))
        self.plot.enableAutoRange(x=False)
        self.plot.setXRange(0.5, self._x_span + 0.5, padding=0)

    def _redraw(self) -> None:
        self._fit_x(float(len(self._train)))
        epochs = np.arange(1, len(self._train) + 1, dtype=np.float64)
        train = _finite(self._train)
        val = _finite(self._val)
        self._train_curve.setData(epochs, train, connect="finite")
        if np.isfinite(val).any():
            self._val_curve.setData(epochs, val, connect="finite")
        else:
            self._val_curve.setData([], [])
        self._running_curve.setData(self._running_x, self._running_y)
        best = self._best_epoch
        if best is not None and 1 <= best <= len(self._train):
            y = val[best - 1] if np.isfinite(val[best - 1]) else train[best - 1]
            self._best_dot.setData([float(best)], [y])
            self._best_line.setValue(float(best))
            self._best_line.setVisible(True)
        else:
            self._best_dot.setData([], [])
            self._best_line.setVisible(False)
        if self._reference is None:
            self._reference_curve.setData([], [])
        else:
            right = float(max(len(self._train), self._x_span, 1))
            self._reference_curve.setData([1.0, right], [self._reference] * 2)
        both = np.isfinite(train) & np.isfinite(val)
        self._note_wanted = bool(both.any()) and bool(val[both][-1] < train[both][-1])
        self._update_note()
        empty = not len(self._train) and not self._running_x
        self.empty_state.set_empty(empty)
        self.legend.setVisible(not empty)  # nothing to name yet
