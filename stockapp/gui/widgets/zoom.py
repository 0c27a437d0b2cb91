"""One Reset zoom for every tab: whatever charts a page holds, Ctrl+0 fits them all again."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def reset_zoom_in(page: QWidget | None) -> int:
    """Call ``reset_zoom()`` on ``page`` and on every widget inside it that has one.

    The charts (:class:`~stockapp.gui.widgets.price_chart.PriceChart`,
    :class:`~stockapp.gui.widgets.loss_chart.LossChart`,
    :class:`~stockapp.gui.backtest.view.BacktestView`) each know how to show all their data
    again; the main window only needs to know which page is on screen. Returns how many charts
    were reset.
    """
    if page is None:
        return 0
    charts = [
        w for w in (page, *page.findChildren(QWidget)) if callable(getattr(w, "reset_zoom", None))
    ]
    for chart in charts:
        chart.reset_zoom()
    return len(charts)
