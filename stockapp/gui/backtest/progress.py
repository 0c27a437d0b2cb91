"""How a running backtest shows its progress: the status line, the progress bar and the
small loss chart of the first fit (refits are short fine-tunes and leave it as it is)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from stockapp.core.walkforward import BacktestProgress
from stockapp.models.config import EpochEstimate, TrainProgress
from stockapp.session.jobs import backtest_progress

#: Least time between two batch progress values the backtest thread sends (s); fit starts and
#: epoch ends are always sent.
PROGRESS_INTERVAL_S = 0.1
#: Least time between two redraws of the small loss chart's in-epoch running line (s).
RUNNING_LINE_S = 1.0


def always_sent(value: object) -> bool:
    """Whether the worker's pacing must pass ``value`` on (fit starts, estimates, epoch ends)."""
    return (
        isinstance(value, (BacktestProgress, EpochEstimate))
        or getattr(value, "kind", "") == "epoch"
    )


class BacktestProgressShower:
    """Shows one backtest's progress values on its settings ``panel`` (and the status bar of
    the window ``window()`` gives, if any); a new one per backtest."""

    def __init__(self, panel: Any, window: Callable[[], Any]) -> None:
        self.panel = panel
        self._window = window
        self._segment: BacktestProgress | None = None
        self._fit: TrainProgress | None = None
        self._running_drawn = 0.0

    def show(self, p: object) -> None:
        """Show one progress value of the backtest job."""
        if isinstance(p, BacktestProgress):
            self._segment, self._fit = p, None
            if not p.refit:  # the chart keeps the first, full fit; refits are short fine-tunes
                self.panel.loss_chart.clear()
            what = "Refitting" if p.refit else "Training"
            self.panel.show_status(
                f"{what} for the bars from {p.first_date:%Y-%m-%d} (fit {p.index} of {p.count})…"
            )
        elif isinstance(p, EpochEstimate):  # how long the first fit's epochs take, timed
            if self._segment is not None and not self._segment.refit:
                self.panel.show_status(p.sentence())
                window = self._window()
                if window is not None:
                    window.show_message(p.sentence())
        elif isinstance(p, TrainProgress):
            self._fit = p
            if (self._segment is not None and self._segment.refit) or p.phase == "catch-up":
                pass  # the chart keeps the first fit's epochs as early stopping chose them
            elif p.kind == "epoch":
                self.panel.loss_chart.add_epoch(p.epoch, p.train_loss, p.val_loss)
                self._running_drawn = time.monotonic()
            elif time.monotonic() - self._running_drawn >= RUNNING_LINE_S:
                # Each chart redraw competes with the fit for the GIL: the running line is
                # drawn once a second at most, the cheap progress bar on every value.
                self.panel.loss_chart.add_batch(p.epoch, p.batch, p.batches, p.train_loss)
                self._running_drawn = time.monotonic()
        fraction, text = backtest_progress(self._segment, self._fit)
        self.panel.show_progress(fraction, text)
