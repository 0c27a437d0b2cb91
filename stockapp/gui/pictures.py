"""Every picture stockapp writes, drawn by the window's own widgets off screen, in one place.

:func:`render_backtest_png` (a backtest's charts and a compact score summary),
:func:`render_explanation_png` (the Inside tab's charts for one forecast) and
:func:`render_kinds_png` (the RNN/GRU/LSTM gradient comparison). Used by the window ("Export chart
PNG…", "Save run") and by the command line through :mod:`stockapp.cli.png`, which sets
``QT_QPA_PLATFORM=offscreen`` when there is no display. Each widget is laid out and painted
without ever being shown, so no window flashes up and the offscreen platform has nothing to warn
about.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from stockapp.core.atomic import write_bytes
from stockapp.core.backtest import BacktestResult, forecaster_labels
from stockapp.core.significance import format_pvalue
from stockapp.errors import BacktestError, StockappError
from stockapp.gui.backtest.metrics_table import describe_rule, fmt_number, fmt_percent
from stockapp.gui.backtest.view import BacktestView

if TYPE_CHECKING:
    from stockapp.models.explain import Explanation, KindsComparison

# A QApplication made here must outlive the call: Qt objects cannot outlive their application,
# and making a second one in the same process is not allowed.
_APP: QApplication | None = None


def ensure_app() -> QApplication:
    """The running ``QApplication``, or a new one when the caller (the CLI) has none."""
    global _APP
    app = QApplication.instance()
    if app is None:
        _APP = app = QApplication(["stockapp"])
    return app  # type: ignore[return-value]


def save_png(image: QPixmap | QImage, path: str | Path) -> bool:
    """Encode ``image`` as PNG and write it atomically (see :mod:`stockapp.core.atomic`);
    False when it cannot be encoded or written."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buffer, "PNG"):
        return False
    try:
        write_bytes(path, bytes(buffer.data()))
    except OSError:
        return False
    return True


def summary_html(result: BacktestResult, model_name: str) -> str:
    """A few lines of scores under the chart: model vs baselines, rule vs buy-and-hold."""
    labels = forecaster_labels(model_name, result.dates)
    cells = []
    for key in ("model", "persistence", "drift", "ar"):
        m = result.metrics.get(key)
        if m is None:
            continue
        name = labels[key].split(" (")[0]
        text = f"{name}: RMSE {fmt_number(m.rmse)}"
        if key != "persistence":
            text += f", skill {fmt_percent(m.skill, signed=True, digits=2)}"
        if key == "model":
            text = f"<b>{text}</b>"
            if math.isfinite(m.directional_accuracy):
                text += f", hit rate {m.directional_accuracy * 100:.1f}%"
                up = getattr(m, "up_share", math.nan)
                if math.isfinite(up):
                    text += f" (always up {up * 100:.1f}%"
                    pt = getattr(m, "pt_pvalue", math.nan)
                    if math.isfinite(pt):
                        text += f"; Pesaran-Timmermann {format_pvalue(pt)}"
                    text += ")"
        cells.append(text)
    s, b = result.strategy.stats, result.buy_and_hold.stats
    trades = f"{s.trades:,} trade" + ("" if s.trades == 1 else "s")
    trading = (
        f"Trading rule ({describe_rule(result.rule)}): total return {fmt_percent(s.total_return)}, "
        f"Sharpe {s.sharpe:.2f}, max drawdown {fmt_percent(s.max_drawdown)}, {trades}. "
        f"Buy and hold: total return {fmt_percent(b.total_return)}, Sharpe {b.sharpe:.2f}, "
        f"max drawdown {fmt_percent(b.max_drawdown)}."
    )
    sentences = " ".join(result.sentences(model_name))
    return "<br>".join([" &nbsp;·&nbsp; ".join(cells), trading, f"<i>{sentences}</i>"])


class BacktestPicture(QWidget):
    """Title, :class:`BacktestView` and the score summary in one widget, for rendering."""

    def __init__(
        self,
        result: BacktestResult,
        model_name: str,
        title: str | None = None,
        data: str | None = None,
    ) -> None:
        super().__init__()
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.setStyleSheet("background: white; color: #1a1a1a;")
        heading = QLabel(
            title
            or (
                f"<b>{model_name} walk-forward backtest{f' of {html.escape(data)}' if data else ''}"
                f"</b> &nbsp; {result.dates[0]:%Y-%m-%d} to "
                f"{result.dates[-1]:%Y-%m-%d}, {result.n:,} test bars, "
                f"{max(len(result.refit_dates), 1)} fit(s)"
            ),
            self,
        )
        self.view = BacktestView(self)
        self.view.set_result(result, model_name)
        self.view.set_controls_visible(False)
        self.view.drop_unused_from_legends()
        summary = QLabel(summary_html(result, model_name), self)
        summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(summary)


def render_backtest_png(
    result: BacktestResult,
    model_name: str,
    path: str | Path,
    width: int = 1400,
    height: int = 900,
    data: str | None = None,
) -> Path:
    """Render the backtest charts with a score summary to a PNG file and return its path.

    Works without a display (``QT_QPA_PLATFORM=offscreen``) and without a main window; creates a
    ``QApplication`` when none exists. ``data`` names the prices the backtest used
    (e.g. ``"AAPL · adjusted · 2004-08-19 to 2020-12-31"``) in the heading.
    """
    ensure_app()
    path = Path(path)
    picture = BacktestPicture(result, model_name, data=data)
    try:
        picture.resize(width, height)
        picture.layout().activate()
        QApplication.processEvents()
        image = picture.grab()
        if not save_png(image, path):
            raise BacktestError(f"Could not write the picture {path}; check the folder exists.")
    finally:
        picture.deleteLater()
    return path


def _render(widget: QWidget, path: Path, width: int, height: int) -> Path:
    from stockapp.gui.app import configure_pyqtgraph

    ensure_app()
    configure_pyqtgraph()
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.setStyleSheet("background: white; color: #1a1a1a;")
    try:
        widget.resize(width, height)
        widget.layout().activate()
        QApplication.processEvents()
        for plot in widget.findChildren(pg.PlotWidget):
            plot.getPlotItem().enableAutoRange()
            plot.getPlotItem().autoRange()
        QApplication.processEvents()
        widget.grab()  # the first paint sizes the axes to their labels; the second shows them
        QApplication.processEvents()
        image = widget.grab()
        if not save_png(image, path):
            raise StockappError(f"Could not write the picture {path}; check the folder exists.")
    finally:
        widget.deleteLater()
    return Path(path)


def render_explanation_png(
    ex: Explanation,
    path: str | Path,
    width: int = 1500,
    height: int = 900,
    epochs: list | None = None,
) -> Path:
    """The Inside tab's charts for one explanation, without its controls, as a PNG."""
    from stockapp.gui.app import configure_pyqtgraph
    from stockapp.gui.inside.adapter import InsideView

    ensure_app()
    configure_pyqtgraph()
    view = InsideView()
    view.controls.setVisible(False)
    view.kinds_plot.parentWidget().setVisible(False)
    view.show_explanation(ex, epochs=epochs)
    return _render(view, Path(path), width, height)


def render_kinds_png(
    result: KindsComparison,
    path: str | Path,
    width: int = 900,
    height: int = 600,
    title: str | None = None,
) -> Path:
    """The RNN/GRU/LSTM gradient-through-time comparison with its sentence, as a PNG."""
    from stockapp.gui.app import configure_pyqtgraph
    from stockapp.gui.inside.adapter import InsideView

    ensure_app()
    configure_pyqtgraph()
    view = InsideView()
    view.show_kinds(result)
    if title:
        view.kinds_plot.setTitle(title)
    box = view.kinds_plot.parentWidget()
    box.setParent(None)
    view.deleteLater()
    return _render(box, Path(path), width, height)
