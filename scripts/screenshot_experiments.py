"""The ``experiments`` stage of ``scripts/screenshot.py``: a small finished experiment.

Kept apart from ``screenshot.py`` so each stage has one owner; ``screenshot.py`` lists
:func:`stage_experiments` in its ``STAGES``. The stage runs GRU and LSTM, windows 20 and 60,
16 units, 2 epochs, seeds 0-1 on the AAPL and MSFT samples (16 short backtests, a minute or
two on a CPU) with the local engine, then shows the Experiment results tab beside the
Experiment settings page.
"""

from __future__ import annotations

import argparse
import time

from screenshot_backtest import until  # scripts/ is on sys.path


def stage_experiments(window, args: argparse.Namespace) -> None:
    """Run a small experiment from the Experiment settings page and show its results."""
    from PySide6.QtWidgets import QDialog

    from stockapp.gui.experiments.adapter import ExperimentsController

    for dialog in window.findChildren(QDialog):  # an earlier stage may leave its list open
        dialog.close()
    ctl = window.findChild(ExperimentsController)
    if ctl is None:
        raise SystemExit("the window has no Experiments page")
    panel = ctl.panel
    panel.set_checked_samples(["AAPL", "MSFT"])
    values = {"model": "gru,lstm", "window": "20,60", "hidden": "16", "layers": "1"}
    for name, text in values.items():
        panel.grid_edits[name].setText(text)
    panel.seeds_edit.setText("0-1")
    panel.epochs_spin.setValue(2)
    window.show_side_panel(panel)
    if not ctl.start():
        raise SystemExit(f"could not start the experiment: {window.last_error}")
    until(lambda: not ctl.is_running(), 900, "the experiment")
    if window.last_error:
        raise SystemExit(f"the experiment failed: {window.last_error}")
    pause = time.monotonic() + 0.5
    until(lambda: time.monotonic() > pause, 5, "the results to paint")
