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

Diebold-Mariano p-value (DM p, better / worse / tie)
Asks whether the model's squared errors are smaller than persistence's by more than luck would
give. The "DM p (better)" number is one-sided: the chance of errors this much smaller if the
model were really no better. Below 0.05 the verdict is "better" (green). The same test the other
way round says "worse" (red) when the model's errors are larger by more than luck; otherwise it
is a "tie". A small two-sided p alone never means success: a model 13% worse than persistence
has a tiny two-sided p too. The test allows for errors that come in runs (a long-run variance,
Newey-West), so a streak of good days does not look more certain than it is.

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

Experiments: many configurations tried
Each row of the Experiment results table is one run. Its verdict (better / worse / tie) is the
one-sided Diebold-Mariano test above, Holm-adjusted over all the runs of that series: the more
you try, the stronger the evidence one run needs. Green rows are better than persistence, red
rows worse, uncoloured rows ties; grey rows failed. The SPA test asks whether any configuration
beats persistence given how many were tried; it uses the same long-run variance as the
Diebold-Mariano tests, and where it finds a winner the verdict names the configuration whose own
test carries that evidence.

Forecast bands
An 80% band should hold about 80% of the outcomes, with misses scattered, not bunched. Under each
level's share held are three p-values: Kupiec (K: the right share of misses?), independence (I:
do misses follow misses?) and conditional coverage (CC: both at once). Below 0.05 the band fails
that test. The log score is compared with GARCH's the same signed way as the errors above.
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
