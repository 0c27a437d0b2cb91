"""The Inside tab: what a forecast looked at, what the gates did, how far gradients reach.

:class:`InsideView` draws an :class:`~stockapp.models.explain.Explanation` (the input window,
attribution per lag and feature, a heatmap of any gate over time x units with its mean, and the
gradient through time on a log axis) and a :class:`~stockapp.models.explain.KindsComparison`,
each with one sentence from :mod:`stockapp.core.explain_text` under it. :class:`InsideController`
feeds it from the last backtest (the model it trained and its test bars) and runs the work in the
background. :mod:`stockapp.gui.pictures` draws the same widgets off
screen for ``stockapp explain``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, Signal
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
from stockapp.errors import StockappError
from stockapp.gui.widgets.log_axis import PlainLogAxis
from stockapp.gui.widgets.workers import GeneratorWorker, run_in_background
from stockapp.models.explain import (
    COMPARE_EPOCHS,
    SIGMOID,
    Explanation,
    FitChoice,
    KindsComparison,
    KindsProgress,
    choose_fit,
    compare_kinds,
    explain_forecast,
)
from stockapp.models.networks import MODEL_KINDS

TAB_TITLE = "Inside"
EMPTY = "Run a backtest to look inside the model that made its forecasts."
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
        self.compare_button.setToolTip(
            "Train a plain RNN, a GRU and an LSTM of this size on the same training bars for a "
            "few epochs and overlay how far back their gradients reach."
        )
        self.compare_button.clicked.connect(self.compare_requested)
        self.load_button = QPushButton("")
        self.load_button.setToolTip("Load the data the run shown was made on.")
        self.load_button.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Forecast of"))
        row.addWidget(self.date_box)
        row.addWidget(self.load_button)
        row.addStretch(1)
        row.addWidget(self.compare_button)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)

        inputs, self.inputs_plot, self.inputs_text = _chart("Input window")
        attr, self.attr_plot, self.attr_text = _chart("Attribution per lag")
        self.attr_plot.addLegend(offset=(8, 8))
        flow, self.flow_plot, self.flow_text = _chart("Gradient through time", log_y=True)
        self.flow_plot.setLabel("left", "|d loss / d input|")
        self.flow_plot.addLegend(offset=(-10, -10))
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
        self.kinds_plot.addLegend(offset=(-10, -10))  # bottom right: curves rise to lag 1
        self.kinds_text.setText("Press “Compare RNN, GRU, LSTM” to train the three and compare.")

        grid = QGridLayout()
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
        layout.addLayout(grid, 1)

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

    def clear(self, message: str) -> None:
        """Show no explanation, only ``message`` (why there is nothing to look inside)."""
        self.explanation = None
        self.heading.setText(message)
        self.set_dates([])
        for plot in (self.inputs_plot, self.attr_plot, self.flow_plot, self.mean_plot):
            plot.clear()
        self.gate_image.clear()
        self.gate_box.clear()
        for label in (self.inputs_text, self.attr_text, self.flow_text, self.gate_text):
            label.setText("")

    # ------------------------------------------------------------------ drawing
    def show_explanation(
        self, ex: Explanation, title: str = "", epochs: list | None = None
    ) -> None:
        """Draw every chart of one forecast's explanation.

        ``epochs`` are the model's gradient curves after each of its training epochs (lag 1
        first), drawn faintly, oldest lightest, behind the trained model's bold curve.
        """
        self.explanation = ex
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


class InsideController(QObject):
    """Feeds the Inside tab from the last backtest and runs its work in the background."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = InsideView()
        self._window: Any = None
        self._forecaster: Any = None
        self._prices = None
        self._dates: list[str] = []
        self._first_test = 0
        self._result: Any = None
        self._intraday = False
        self._wanted: Any = None  # a clicked bar to explain once an opened run's data is back
        self._backtest: Any = None
        self._pending: tuple[Any, Any, Any] | None = None  # an opened run awaiting its data
        self._explain_worker: GeneratorWorker | None = None
        self._kinds_worker: GeneratorWorker | None = None
        self.view.date_chosen.connect(self.explain)
        self.view.compare_requested.connect(self.compare)
        self.view.cancel_requested.connect(self.cancel)
        self.view.compare_button.setEnabled(False)

    def attach(self, window: Any, backtest_controller: Any) -> None:
        """Add the tab to ``window`` and follow ``backtest_controller``'s finished backtests."""
        self._window = window
        if self.parent() is None:
            self.setParent(window)
        window.add_tab(self.view, TAB_TITLE)
        self._backtest = backtest_controller
        backtest_controller.backtest_finished.connect(self._backtest_finished)
        backtest_controller.view.forecast_clicked.connect(self.show_forecast)
        backtest_controller.run_opened.connect(self.open_run)
        self.view.load_button.clicked.connect(backtest_controller.load_results_data)
        window.series_changed.connect(lambda _series: self._follow_pending())
        if hasattr(window, "adjusted_changed"):
            window.adjusted_changed.connect(lambda _adjusted: self._follow_pending())

    def _backtest_finished(self, outcome: object) -> None:
        if outcome is None or self._window is None or self._window.series is None:
            return
        self._pending = None
        series = self._window.series
        self.set_model(
            outcome.forecaster, series.prices(outcome.forecaster.spec.adjusted), outcome.result
        )

    def show_forecast(self, date: Any) -> None:
        """Bring the tab forward at the forecast of test bar ``date`` (a timestamp)."""
        if self._forecaster is None:
            self._wanted = date  # an opened run waiting for its data: explain this bar then
        elif self._label(date) in self._dates:
            self.view.date_box.setCurrentText(self._label(date))
        tabs = getattr(self._window, "tabs", None)
        if tabs is not None and tabs.indexOf(self.view) >= 0:
            tabs.setCurrentWidget(self.view)

    def _label(self, date: Any) -> str:
        import pandas as pd

        from stockapp.core.bars import format_dates

        return format_dates(pd.DatetimeIndex([date]), intraday=self._intraday)[0]

    def open_run(self, folder: Any) -> None:
        """Follow a run opened from disk: its saved model, on its data once the window has it."""
        from stockapp.models.forecaster import RecurrentForecaster
        from stockapp.session.data_tag import DataTag

        folder = Path(folder)
        self._pending = self._wanted = None
        self._forget_model()
        if not (folder / "model").is_dir():
            self.view.clear(
                f"The run in {folder.name} was saved without its model, so there is nothing "
                "to look inside."
            )
            return
        try:
            model = RecurrentForecaster.load(folder / "model")
        except StockappError as exc:
            self.view.clear(str(exc))
            return
        tag = DataTag.from_manifest(self._backtest.manifest)
        self._pending = (model, self._backtest.result, tag)
        self._follow_pending()

    def _follow_pending(self) -> None:
        """Explain the opened run once the window shows the data it was made on."""
        if self._pending is None or self._window is None:
            return
        model, result, tag = self._pending
        series = self._window.series
        adjusted = bool(getattr(self._window, "adjusted", model.spec.adjusted))
        if tag is not None and tag.same_data(series, adjusted):
            self._pending = None
            self.view.load_button.setVisible(False)
            self.set_model(model, series.prices(model.spec.adjusted), result)
            return
        self._forget_model()
        if tag is None:
            self.view.clear(
                "This run does not record the data it was made on, so its forecasts cannot be "
                "explained from the data on screen."
            )
            return
        from stockapp.session.data_tag import DataTag

        now = "no data" if series is None else DataTag.of(series, adjusted).text()
        reload_text = tag.reload_text()
        self.view.clear(
            f"This run's forecasts were made on {tag.text()} but the window shows {now}; "
            + (f"press “{reload_text}” to look inside them." if reload_text else
               "load that data to look inside them.")
        )  # fmt: skip
        self.view.load_button.setText(reload_text)
        self.view.load_button.setVisible(bool(reload_text))

    def _forget_model(self) -> None:
        self._forecaster, self._prices, self._dates, self._result = None, None, [], None
        self.view.compare_button.setEnabled(False)

    def set_model(self, forecaster: Any, prices, result: Any) -> None:
        """Explain ``forecaster``'s forecasts of ``result``'s test bars, drawn from ``prices``."""
        from stockapp.core.bars import format_dates

        self.view.load_button.setVisible(False)
        self._intraday = bool(result.intraday)
        self._forecaster, self._prices = forecaster, prices
        self._dates = format_dates(result.dates, intraday=result.intraday)
        self._first_test = int(prices.index.get_loc(result.dates[0]))
        self._result = result
        self.view.compare_button.setEnabled(True)
        wanted = self._label(self._wanted) if self._wanted is not None else None
        self._wanted = None
        current = wanted if wanted in self._dates else self._dates[-1]
        self.view.set_dates(self._dates, current)
        self.explain(current)

    def explain(self, date: str) -> GeneratorWorker | None:
        """Compute the explanation of the forecast of test bar ``date`` in the background."""
        if self._forecaster is None or date not in self._dates:
            return None
        bar = self._dates.index(date)
        end = self._first_test + bar - 1
        owner, prices = self._forecaster, self._prices
        try:  # the fit that made this forecast (a run keeps every fit's weights)
            fit = choose_fit(owner, self._result, bar)
        except StockappError as exc:
            self._failed(str(exc))
            return None
        model, first = fit.forecaster, int(prices.index.get_loc(fit.start))
        worker = run_in_background(
            lambda: explain_forecast(model, prices, end, flow_before=first),
            self,
            on_finished=lambda ex: self._explained(ex, owner, fit),
            on_failed=self._failed,
        )
        self._explain_worker = worker
        if self._window is not None:
            self._window.register_worker(worker, f"Explaining the forecast of {date}…")
        return worker

    def _explained(self, ex: Explanation, model: Any = None, fit: FitChoice | None = None) -> None:
        if model is not None and model is not self._forecaster:
            return  # another model (a newer backtest or an opened run) came meanwhile
        if self.view.date_box.currentText() in ("", ex.date):
            used = self._forecaster if fit is None else fit.forecaster
            last = getattr(used, "last_result", None)
            self.view.show_explanation(ex, epochs=getattr(last, "gradient_flow_epochs", None))
            if fit is None or fit.count <= 1 and not fit.note:
                return
            if fit.count > 1 and "Faint line" in self.view.flow_text.text():
                self.view.flow_text.setText(
                    self.view.flow_text.text() + f" Recorded during fit {fit.used + 1}'s training."
                )
            made = ""
            if fit.count > 1:
                through = getattr(fit.fit, "trained_through", None)
                made = f" Made by fit {fit.index + 1} of {fit.count}" + (
                    f", trained through {through}." if through else "."
                )
            note = f" {fit.note}" if fit.note else ""
            self.view.heading.setText(self.view.heading.text() + made + note)

    def compare(self, epochs: int = COMPARE_EPOCHS) -> GeneratorWorker | None:
        """Train RNN, GRU and LSTM on the training bars and overlay their gradient flow."""
        if self._forecaster is None or self.is_comparing():
            return None
        spec, cfg = self._forecaster.spec, self._forecaster.cfg
        past = self._prices.iloc[: self._first_test]
        worker = GeneratorWorker(
            lambda stop: compare_kinds(past, spec, cfg, should_stop=stop), self
        )
        worker.progress.connect(self._kinds_progress)
        worker.finished.connect(self._kinds_finished)
        worker.failed.connect(self._failed)
        worker.done.connect(lambda: self.view.set_busy(False))
        self._kinds_worker = worker
        self.view.set_busy(True, 0.0, "starting…")
        worker.start()
        if self._window is not None:
            self._window.register_worker(worker, "Comparing RNN, GRU and LSTM…")
        return worker

    def is_comparing(self) -> bool:
        return self._kinds_worker is not None and self._kinds_worker.is_running()

    def cancel(self) -> None:
        if self._kinds_worker is not None:
            self._kinds_worker.cancel()

    def _kinds_progress(self, p: KindsProgress) -> None:
        done = (p.index - 1 + (p.epoch - (p.flow is None)) / max(p.epochs, 1)) / p.count
        self.view.set_busy(True, max(0.0, done), f"{MODEL_KINDS[p.kind]} epoch {p.epoch}")

    def _kinds_finished(self, result: KindsComparison) -> None:
        if result.cancelled and not result.flows:
            self.view.kinds_text.setText(
                "Cancelled before any kind finished; the chart keeps what it showed."
            )
            return
        self.view.show_kinds(result)

    def _failed(self, message: str) -> None:
        if self._window is not None:
            self._window.show_error(message)
        else:
            self.view.heading.setText(message)
