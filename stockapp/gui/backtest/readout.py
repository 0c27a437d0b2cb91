"""What sits above the backtest charts: the series check boxes and the one-line readout of a
test bar (date, close, forecasts, equity), and the helpers the crosshair needs.

The readout is a plain function of the result and what is shown, so the crosshair label, its
tooltip and the tests read the same words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

from stockapp.core.backtest import BacktestResult, forecaster_labels
from stockapp.gui.backtest.chart_style import (
    FORECASTERS,
    HIDDEN_BY_DEFAULT,
    STYLES,
    TOGGLES,
    fmt_price,
    fmt_signed,
)
from stockapp.gui.widgets.axes import timestamps


def readout(
    r: BacktestResult | None,
    index: int,
    labels: dict[str, str],
    decimals: int,
    shown: Callable[[str], bool],
    rich: bool,
) -> str:
    """Test bar ``index`` of ``r`` in words: realised close, each forecaster ``shown`` with
    its error, and both equity curves; coloured names when ``rich``."""
    if r is None or not 0 <= index < r.n:
        return ""

    def name(key: str, text: str) -> str:
        if not rich:
            return text
        return f"<b style='color:{STYLES[key][0]}'>{text}</b>"

    realised = float(r.realised[index])
    d = decimals
    parts = [
        f"{r.dates[index]:%Y-%m-%d}",
        f"{name('realised', 'realised')} {fmt_price(realised, d)}",
    ]
    for key in FORECASTERS:
        if key not in r.forecasts or not shown(key):
            continue
        f = float(r.forecasts[key][index])
        label = labels[key]
        parts.append(f"{name(key, label)} {fmt_price(f, d)} (error {fmt_signed(f - realised, d)})")
    parts.append(
        f"{name('strategy', 'rule')} {r.strategy.equity[index]:.3f}, "
        f"{name('buy_and_hold', 'buy and hold')} {r.buy_and_hold.equity[index]:.3f}"
    )
    return "  ·  ".join(parts)


def refit_segments(result: BacktestResult) -> tuple[np.ndarray, np.ndarray]:
    """Refit dates inside the test span as vertical segments spanning the price range, as
    ``(x, y)`` pairs for one ``connect="pairs"`` curve."""
    refits = [d for d in result.refit_dates if result.dates[0] < d <= result.dates[-1]]
    if not refits:
        return np.empty(0), np.empty(0)
    xs = np.repeat(timestamps(pd.DatetimeIndex(refits)), 2)
    finite = [a[np.isfinite(a)] for a in (result.realised, *result.forecasts.values())]
    lo = float(min(a.min() for a in finite if a.size))
    hi = float(max(a.max() for a in finite if a.size))
    ys = np.tile([lo, hi], len(refits))
    return xs, ys


def nearest_bar(x: np.ndarray, at: float) -> int:
    """Index of the value of sorted ``x`` nearest ``at``."""
    i = int(np.searchsorted(x, at))
    if i > 0 and (i == len(x) or at - x[i - 1] < x[i] - at):
        i -= 1
    return i


def series_toggles(
    parent: QWidget, labels: dict[str, str], toggled: Callable[[str, bool], None]
) -> tuple[QWidget, dict[str, QCheckBox], QPushButton]:
    """The "Show:" row: one check box per switchable series (calling ``toggled(key, on)``)
    and, at its right, the Reset zoom button."""
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel("Show:", row))
    checks: dict[str, QCheckBox] = {}
    for key, text in TOGGLES.items():
        box = QCheckBox(text or labels[key], row)
        if key in FORECASTERS:
            box.setToolTip(forecaster_labels("the model")[key])
        box.setChecked(key not in HIDDEN_BY_DEFAULT)
        box.toggled.connect(lambda on, k=key: toggled(k, on))
        layout.addWidget(box)
        checks[key] = box
    layout.addStretch(1)
    reset = QPushButton("Reset zoom", row)
    reset.setToolTip("Show the whole test span again (the wheel zooms time, dragging pans)")
    layout.addWidget(reset)
    return row, checks, reset


def plain_text(html: str) -> str:
    """The readout's rich text as plain text (for its tooltip)."""
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


def crosshair_items(plots: tuple[pg.PlotItem, ...]) -> tuple[list[pg.InfiniteLine], pg.TextItem]:
    """A hidden vertical crosshair line on each of ``plots`` and a hidden date label on the
    last one (whose bottom axis is the shared date axis)."""
    lines = []
    for plot in plots:
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#606060", width=1))
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        lines.append(line)
    label = pg.TextItem(color="w", fill="#3c4048", anchor=(0.5, 1))
    label.setVisible(False)
    label.setZValue(20)
    plots[-1].addItem(label, ignoreBounds=True)
    return lines, label


def bar_at(x: np.ndarray, plots: tuple[pg.PlotItem, ...], pos: QPointF) -> int | None:
    """The bar (of the dates ``x``) nearest the scene position ``pos`` on any of ``plots``,
    ``None`` when ``pos`` is on none of them."""
    for plot in plots:
        if plot.sceneBoundingRect().contains(pos):
            return nearest_bar(x, plot.vb.mapSceneToView(pos).x())
    return None
