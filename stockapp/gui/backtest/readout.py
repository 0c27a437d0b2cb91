"""The one-line readout above the backtest charts: a test bar's date, close, forecasts, equity.

A plain function of the result and what is shown, so the crosshair label, its tooltip and the
tests read the same words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from stockapp.core.backtest import BacktestResult
from stockapp.gui.backtest.chart_style import FORECASTERS, STYLES, fmt_price, fmt_signed
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
