"""The Inside tab's charts: what a forecast looked at, what the gates did, how far gradients reach.

:class:`InsideView` draws an :class:`~stockapp.models.explain.Explanation` (the input window,
attribution per lag and feature, a heatmap of any gate over time x units with its mean, and the
gradient through time on a log axis) and a :class:`~stockapp.models.explain.KindsComparison`,
each with one sentence from :mod:`stockapp.core.explain_text` under it; it computes nothing.
:class:`~stockapp.gui.inside.adapter.InsideController` feeds it;
:mod:`stockapp.gui.pictures` draws the same widgets off screen for ``stockapp explain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stockapp.core.explain_text import (
    attribution_sentence,
    completeness_text,
    epochs_flow_sentence,
    flow_sentence,
    gate_sentence,
    inputs_sentence,
    kinds_sentence,
)
from stockapp.gui.widgets.legend import legend_below
from stockapp.gui.widgets.log_axis import PlainLogAxis
from stockapp.models.config import MODEL_KINDS

if TYPE_CHECKING:  # torch: the view draws what the model code made, once it is loaded
    from stockapp.models.explain import Explanation, KindsComparison

TAB_TITLE = "Inside"
EMPTY = "Run a backtest to look inside the model that made its forecasts."
KINDS_HINT = "Press “Compare RNN, GRU, LSTM” to train the three and compare."
#: The widest text the comparison's progress bar shows.
PROGRESS_WIDEST = "Plain RNN (tanh) 3/3 · epoch 10/10"
KIND_PENS = {
    "rnn": pg.mkPen("#d62728", width=2),
    "gru": pg.mkPen("#2ca02c", width=2),
    "lstm": pg.mkPen("#1f77b4", width=2),
}
FEATURE_BRUSHES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]


def _chart(title: str, log_y: bool = False) -> tuple[QWidget, pg.PlotWidget, QLabel]:
    """A titled plot with its one-line explanation underneath."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    axes = {"left": PlainLogAxis("left")} if log_y else {}
    plot = pg.PlotWidget(axisItems=axes)
    plot.setTitle(title)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("bottom", "bars before the forecast (lag)")
    if log_y:
        plot.setLogMode(x=False, y=True)
    plot.setMinimumHeight(150)
    plot.getAxis("left").enableAutoSIPrefix(False)
    sentence = QLabel("")
    sentence.setObjectName("hint")
    sentence.setWordWrap(True)
    layout.addWidget(plot, 1)
    layout.addWidget(sentence)
    return box, plot, sentence


class InsideView(QWidget):
    """The charts of the Inside tab; it shows what it is given and computes nothing."""

    date_chosen = Signal(str)
    compare_requested = Signal()
    cancel_requested = Signal()
    COMPARE_TIP = (
        "Train a plain RNN, a GRU and an LSTM of this size on the same training bars for a "
        "few epochs and overlay how far back their gradients reach."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explanation: Explanation | None = None
        self.comparison: KindsComparison | None = None
        self.heading = QLabel(EMPTY)
        self.heading.setWordWrap(True)
        self.date_box = QComboBox()
        self.date_box.setToolTip("The test bar whose forecast to explain.")
        self.date_box.setMinimumContentsLength(10)
        self.date_box.currentTextChanged.connect(self._date_changed)
        self.gate_box = QComboBox()
        self.gate_box.setToolTip("Which layer's gate or state the heatmap shows.")
        self.gate_box.currentTextChanged.connect(self._draw_gate)
        self.compare_button = QPushButton("Compare RNN, GRU, LSTM")
        self.compare_button.setToolTip(self.COMPARE_TIP)
        self.compare_button.clicked.connect(self.compare_requested)
        self.load_button = QPushButton("")
        self.load_button.setToolTip("Load the data the run shown was made on.")
        self.load_button.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        # Room for the longest text it shows ("Plain RNN (tanh) 1/3 · epoch 10/10"), never cut.
        self.progress.setMinimumWidth(
            self.progress.fontMetrics().horizontalAdvance(PROGRESS_WIDEST) + 32
        )
        self.progress.setVisible(False)
        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        self.date_label = QLabel("Forecast of")
        row.addWidget(self.date_label)
        row.addWidget(self.date_box)
        row.addWidget(self.load_button)
        row.addStretch(1)
        row.addWidget(self.compare_button)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)

        inputs, self.inputs_plot, self.inputs_text = _chart("Input window")
        attr, self.attr_plot, self.attr_text = _chart("Attribution per lag")
        legend_below(self.attr_plot, columns=3)
        flow, self.flow_plot, self.flow_text = _chart("Gradient through time", log_y=True)
        self.flow_plot.setLabel("left", "|d loss / d input|")
        legend_below(self.flow_plot, columns=2)
        gate = QWidget()
        gate_layout = QVBoxLayout(gate)
        gate_layout.setContentsMargins(4, 4, 4, 4)
        gate_row = QHBoxLayout()
        gate_row.addWidget(QLabel("Gate or state:"))
        gate_row.addWidget(self.gate_box)
        gate_row.addStretch(1)
        self.gate_plot = pg.PlotWidget()
        self.gate_plot.setLabel("left", "unit")
        self.gate_plot.setMinimumHeight(150)
        self.gate_image = pg.ImageItem()
        self.gate_image.setColorMap(pg.colormap.get("viridis"))
        self.gate_plot.addItem(self.gate_image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False)
        self.colorbar.setImageItem(self.gate_image, insert_in=self.gate_plot.getPlotItem())
        self.mean_plot = pg.PlotWidget()
        self.mean_plot.setMaximumHeight(110)
        self.mean_plot.setLabel("left", "mean")
        self.mean_plot.getAxis("left").enableAutoSIPrefix(False)
        self.mean_plot.setLabel("bottom", "bars before the forecast (lag)")
        self.gate_text = QLabel("")
        self.gate_text.setObjectName("hint")
        self.gate_text.setWordWrap(True)
        gate_layout.addLayout(gate_row)
        gate_layout.addWidget(self.gate_plot, 1)
        gate_layout.addWidget(self.mean_plot)
        gate_layout.addWidget(self.gate_text)
        kinds, self.kinds_plot, self.kinds_text = _chart("RNN vs GRU vs LSTM", log_y=True)
        self.kinds_plot.setLabel("left", "|d loss / d input|")
        legend_below(self.kinds_plot, columns=3)
        self.kinds_text.setText(KINDS_HINT)

        self.charts = QWidget()
        grid = QGridLayout(self.charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(inputs, 0, 0)
        grid.addWidget(attr, 0, 1)
        grid.addWidget(flow, 0, 2)
        grid.addWidget(gate, 1, 0, 1, 2)
        grid.addWidget(kinds, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        for plot in self.findChildren(pg.PlotWidget):
            plot.setMinimumWidth(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.controls)
        layout.addWidget(self.charts, 1)
        layout.addStretch(0)
        self._set_empty(True)

    # ------------------------------------------------------------------ input
    def set_dates(self, dates: list[str], current: str | None = None) -> None:
        """The test bars one can pick; selects ``current`` (default: the last) quietly."""
        self.date_box.blockSignals(True)
        self.date_box.clear()
        self.date_box.addItems(dates)
        if dates:
            self.date_box.setCurrentText(current or dates[-1])
        self.date_box.blockSignals(False)

    def _date_changed(self, text: str) -> None:
        if text:
            self.date_chosen.emit(text)

    def set_busy(self, busy: bool, fraction: float | None = None, text: str = "") -> None:
        """Show the comparison's progress; the Compare button waits while it runs."""
        self.compare_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if fraction is not None:
            self.progress.setValue(int(round(fraction * 100)))
        if text:
            self.progress.setFormat(text)

    def clear(self, message: str = EMPTY) -> None:
        """Show no charts, only ``message`` (why there is nothing to look inside); the kinds'
        comparison, made for the model that is gone, goes too."""
        self.explanation = None
        self.comparison = None
        self.heading.setText(message)
        self.set_dates([])
        for plot in self.findChildren(pg.PlotWidget):
            plot.clear()
        self.gate_image.clear()
        self.gate_box.clear()
        for label in (self.inputs_text, self.attr_text, self.flow_text, self.gate_text):
            label.setText("")
        self.kinds_text.setText(KINDS_HINT)
        self._set_empty(True)

    def is_empty(self) -> bool:
        """Whether the tab shows only its sentence (no charts, no axes)."""
        return self.charts.isHidden()

    def _set_empty(self, empty: bool) -> None:
        for widget in (
            self.charts,
            self.date_label,
            self.date_box,
            self.compare_button,
            self.cancel_button,
        ):
            widget.setVisible(not empty)
        if empty:
            self.progress.setVisible(False)

    # ------------------------------------------------------------------ drawing
    def show_explanation(
        self, ex: Explanation, title: str = "", epochs: list | None = None
    ) -> None:
        """Draw every chart of one forecast's explanation.

        ``epochs`` are the model's gradient curves after each of its training epochs (lag 1
        first), drawn faintly, oldest lightest, behind the trained model's bold curve.
        """
        self.explanation = ex
        self._set_empty(False)
        a = ex.attribution
        w = a.inputs.shape[0]
        x = -np.arange(w, 0, -1, dtype=np.float64)  # -W .. -1: the oldest bar first
        sure = completeness_text(a.steps, a.completeness_error)
        self.heading.setText(
            title
            or (
                f"<b>{MODEL_KINDS.get(ex.kind, ex.kind)}</b>: forecast of {ex.date} "
                f"{a.output:+.5f} ({ex.forecast_price:,.2f}); from a flat past it would be "
                f"{a.baseline_output:+.5f}. "
                f"{sure[:1].upper()}{sure[1:]}."
            )
        )
        self.inputs_plot.clear()
        self.inputs_plot.setLabel("left", ex.features[0])
        self.inputs_plot.plot(x, ex.raw_inputs[:, 0], pen=pg.mkPen("#374151", width=1.5))
        self.inputs_plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen("#9ca3af")))
        self.inputs_text.setText(inputs_sentence(ex.raw_inputs, ex.features))

        self.attr_plot.clear()
        top = float(np.abs(a.attribution).max()) or 1.0
        power = int(np.floor(np.log10(top)))
        unit = 10.0**power
        self.attr_plot.setLabel("left", f"attribution (x 1e{power})" if power else "attribution")
        n_f = len(ex.features)
        width = 0.8 / n_f
        for j, name in enumerate(ex.features):
            bars = pg.BarGraphItem(
                x=x + (j - (n_f - 1) / 2) * width,
                height=a.attribution[:, j] / unit,
                width=width,
                brush=FEATURE_BRUSHES[j % len(FEATURE_BRUSHES)],
                pen=pg.mkPen(None),
                name=name,
            )
            self.attr_plot.addItem(bars)
        gxi = a.gradient_x_input.sum(axis=1)
        dashed = pg.mkPen("#6b7280", width=1, style=Qt.PenStyle.DashLine)
        self.attr_plot.plot(x, gxi / unit, pen=dashed, name="gradient x input")
        self.attr_text.setText(attribution_sentence(a.attribution, ex.features))

        self.flow_plot.clear()
        lags = -np.arange(1, ex.flow.size + 1, dtype=np.float64)
        epochs = [np.asarray(c, dtype=np.float64) for c in (epochs or [])]
        epochs = [c for c in epochs if c.size == ex.flow.size]
        for k, curve in enumerate(epochs):
            shade = pg.mkColor("#93c5fd" if k < len(epochs) - 1 else "#3b82f6")
            many = f"epochs 1-{len(epochs)}" if len(epochs) > 1 else "epoch 1"
            name = many if k == len(epochs) - 1 else None
            self.flow_plot.plot(lags, _positive(curve), pen=pg.mkPen(shade, width=1), name=name)
        self.flow_plot.plot(
            lags, _positive(ex.flow), pen=pg.mkPen("#111827", width=2.5), name="trained model"
        )
        text = flow_sentence(ex.flow)
        if epochs:
            text += " " + epochs_flow_sentence(epochs)
        self.flow_text.setText(text)

        current = self.gate_box.currentText()
        self.gate_box.blockSignals(True)
        self.gate_box.clear()
        names = [f"layer {k}: {name}" for k, layer in enumerate(ex.states) for name in layer]
        self.gate_box.addItems(names)
        default = next((n for n in names if n.endswith("forget")), names[-1])
        self.gate_box.setCurrentText(current if current in names else default)
        self.gate_box.blockSignals(False)
        self._draw_gate(self.gate_box.currentText())

    def _draw_gate(self, choice: str) -> None:
        from stockapp.models.cell_states import SIGMOID  # loaded with the explanation drawn

        ex = self.explanation
        if ex is None or not choice:
            return
        layer_text, name = choice.split(": ")
        values = ex.states[int(layer_text.split()[1])][name]  # (W, units)
        w, units = values.shape
        if name in SIGMOID:
            levels = (0.0, 1.0)
        elif name == "cell":
            top = float(np.abs(values).max()) or 1.0
            levels = (-top, top)
        else:
            levels = (-1.0, 1.0)
        self.gate_image.setImage(values, levels=levels)  # col-major: x = time, y = unit
        self.gate_image.setRect(QRectF(-w - 0.5, -0.5, w, units))
        self.colorbar.setLevels(levels)
        self.gate_plot.setTitle(f"{name}, layer {layer_text.split()[1]}: time x units")
        self.mean_plot.clear()
        x = -np.arange(w, 0, -1, dtype=np.float64)
        self.mean_plot.plot(x, values.mean(axis=1), pen=pg.mkPen("#111827", width=2))
        for plot in (self.gate_plot, self.mean_plot):
            plot.setXRange(-w - 0.5, -0.5, padding=0.02)
        self.gate_text.setText(gate_sentence(name, values))

    def show_kinds(self, result: KindsComparison) -> None:
        """Overlay each kind's curve; earlier epochs are drawn faintly behind the last."""
        self.comparison = result
        self.kinds_plot.clear()
        for kind, curves in result.epochs.items():
            lags = -np.arange(1, curves.shape[1] + 1, dtype=np.float64)
            pen = KIND_PENS.get(kind, pg.mkPen("#374151", width=2))
            faint = pg.mkPen(pen.color().name(), width=1, style=Qt.PenStyle.DotLine)
            for curve in curves[:-1]:
                self.kinds_plot.plot(lags, _positive(curve), pen=faint)
            self.kinds_plot.plot(
                lags, _positive(curves[-1]), pen=pen, name=MODEL_KINDS.get(kind, kind)
            )
        self.kinds_text.setText(
            ("Cancelled. " if result.cancelled else "") + kinds_sentence(result.flows)
        )


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros become gaps rather than -inf."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~(v > 0)] = np.nan
    return v
