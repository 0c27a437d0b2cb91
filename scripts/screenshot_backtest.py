"""The ``backtest`` stage of ``scripts/screenshot.py``: a finished walk-forward backtest.

Kept apart from ``screenshot.py`` so each stage has one owner; ``screenshot.py`` lists
:func:`stage_backtest` in its ``STAGES``. The stage forecasts the last year of the sample with the
default model, trained for a few epochs and refitted once half-way (so a refit line shows), and
opens the Backtest tab. It takes a minute or so on a CPU.
"""

from __future__ import annotations

import argparse
import time

TEST_BARS = 250
REFIT_EVERY = 125


def controllers(window):
    """The window's training and backtest controllers, attaching new ones if it has none."""
    from stockapp.gui.backtest.adapter import BacktestController
    from stockapp.gui.training.adapter import TrainingController

    training = window.findChild(TrainingController)
    if training is None:
        training = TrainingController()
        training.attach(window)
    backtest = window.findChild(BacktestController)
    if backtest is None:
        backtest = BacktestController()
        backtest.attach(window, training)
    return training, backtest


def until(done, timeout_s: float, what: str) -> None:
    """Run the event loop until ``done()`` is true (SystemExit naming ``what`` on timeout)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def wait_for(signal, timeout_s: float) -> list:
    """Run the event loop until ``signal`` fires; its arguments (SystemExit on timeout)."""
    got: list = []
    signal.connect(lambda *a: got.append(a))
    until(lambda: bool(got), timeout_s, "the backtest")
    return list(got[0])


def stage_backtest(window, args: argparse.Namespace) -> None:
    """Backtest the loaded sample over its last :data:`TEST_BARS` bars and show the result."""
    import dataclasses

    from stockapp.core.trading import TradingRule
    from stockapp.core.walkforward import BacktestSettings

    if window.series is None:
        raise SystemExit("the backtest stage needs a loaded series (run the data stage first)")
    training, backtest = controllers(window)
    panel = training.panel
    spec = panel.spec()
    cfg = dataclasses.replace(
        panel.config(), epochs=getattr(args, "train_epochs", 8), device="cpu", seed=0
    )
    panel.set_values(spec, cfg)
    start = window.series.dates[-TEST_BARS]
    backtest.panel.set_settings(
        BacktestSettings(
            test_start=f"{start:%Y-%m-%d}",
            refit_every=REFIT_EVERY,
            refit_epochs=1,
            rule=TradingRule(mode="long_flat", threshold=0.0, cost_bps=5.0),
        )
    )
    if not backtest.start_backtest():
        raise SystemExit(f"could not start the backtest: {window.last_error}")
    (outcome,) = wait_for(backtest.backtest_finished, timeout_s=300)
    if outcome is None:
        raise SystemExit(f"the backtest did not finish: {window.last_error}")
    window.tabs.setCurrentIndex(window.tabs.indexOf(backtest.tab))
    backtest.view.show_crosshair_at(outcome.result.n * 2 // 3)
