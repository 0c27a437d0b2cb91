"""The ``inside`` stage of ``scripts/screenshot.py``: the Inside tab after the backtest stage.

Kept apart from ``screenshot.py`` so each stage has one owner; ``screenshot.py`` lists
:func:`stage_inside` in its ``STAGES``. The stage opens the Inside tab on the last test bar's
forecast of the backtest stage's model, shows the forget gate of its first layer and runs the
RNN/GRU/LSTM comparison for :data:`EPOCHS` epochs (a minute or two on a CPU).
"""

from __future__ import annotations

import argparse
import time

from screenshot_backtest import until  # scripts/ is on sys.path

EPOCHS = 2


def stage_inside(window, args: argparse.Namespace) -> None:
    """Show the Inside tab with an explanation and the kinds comparison finished."""
    from PySide6.QtWidgets import QDialog

    from stockapp.gui.inside.adapter import InsideController

    for dialog in window.findChildren(QDialog):  # the runs stage leaves its list open
        dialog.close()

    inside = window.findChild(InsideController)
    if inside is None:
        raise SystemExit("the window has no Inside tab")
    until(lambda: inside.view.explanation is not None, 120, "the explanation")
    window.tabs.setCurrentIndex(window.tabs.indexOf(inside.page))
    worker = inside.compare(epochs=EPOCHS)
    if worker is None:
        raise SystemExit(f"could not start the comparison: {window.last_error}")
    until(lambda: not worker.is_running(), 600, "the RNN/GRU/LSTM comparison")
    pause = time.monotonic() + 0.5
    until(lambda: time.monotonic() > pause, 5, "the charts to paint")
