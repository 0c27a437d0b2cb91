"""The Help menu's pages: how to read the results, the keyboard shortcuts, and About.

Plain text only, with no links to follow: the app works offline and the words must stand on
their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMenu,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from stockapp import __version__
from stockapp.gui.settings import settings_path
from stockapp.paths import cache_dir, data_dir, runs_dir

HOW_TO_READ = """\
HOW TO READ THE RESULTS

Forecasts and persistence
A backtest walks through the test span one bar at a time. The forecast for each bar is made from
the bars before it only, by a model trained on the bars before it only. Every forecast is
compared with "persistence": the forecast that the next close equals this close (tomorrow =
today for daily bars). Persistence is very hard to beat on stock prices; a model that cannot beat
it has learnt nothing useful about the next bar.

RMSE ratio
RMSE is the typical size of a forecast's error, in price units. The table divides the model's
RMSE by persistence's: below 1.00 the model's forecasts were closer to the real closes, above
1.00 they were further away. Whether a ratio such as 0.99 is a real gain or noise is what the
Diebold-Mariano p-value says.

Diebold-Mariano p-value (DM p)
Asks whether the model's errors are really smaller than persistence's or could be that small by
luck. A small p-value (below 0.05) suggests a real difference; a large one says the two cannot be
told apart on this span.

Pesaran-Timmermann p-value (direction)
Asks whether the model called the direction (up or down) more often than luck would, given how
often the price went up. Below 0.05 suggests real directional skill. A hit rate of 53% can be pure
luck when the stock rose on 53% of the days.

The equity curve and costs
The Strategy curve trades on the model's forecasts: it holds the stock when the model expects a
rise (and, with long/short, sells short when it expects a fall). Every change of position pays
the cost set on the Backtest settings page, in basis points (5 bps = 0.05%). Buy & hold is the
curve of simply holding the stock over the same span. A strategy that beats buy & hold before
costs but not after them does not make money.

A tie with persistence
When the summary says the model "is not distinguishable from persistence", it tied: its
forecasts were about as good as "no change", and the Diebold-Mariano p-value shows no
difference that luck could not explain. That is the usual, honest answer for daily stock
prices, not a bug.
"""


def about_text() -> str:
    """The About box: what stockapp is, its version, and where it keeps its files."""
    return (
        f"stockapp {__version__}\n\n"
        "A workbench for honestly testing whether a recurrent network can forecast a stock, "
        "against naive baselines and with walk-forward backtests.\n\n"
        f"Saved runs: {runs_dir()}\n"
        f"Saved models: {data_dir() / 'models'}\n"
        f"Downloaded prices: {cache_dir()}\n"
        f"Settings: {settings_path()}\n\n"
        "Set STOCKAPP_HOME to keep all of these under one folder."
    )


def shortcut_lines(menus: Iterable[QMenu]) -> list[str]:
    """``"Train — Ctrl+T (Run menu)"`` for every menu action that has a shortcut."""
    lines = []
    for menu in menus:
        title = menu.title().replace("&", "")
        for action in menu.actions():
            if isinstance(action, QAction) and not action.shortcut().isEmpty():
                name = action.text().replace("&", "").rstrip("…")
                lines.append(f"{name} — {action.shortcut().toString()}  ({title} menu)")
    return lines


class TextPage(QDialog):
    """A read-only page of plain text with a Close button (not modal)."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(640, 560)
