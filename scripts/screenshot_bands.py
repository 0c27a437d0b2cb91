"""The ``bands`` stage of ``scripts/screenshot.py``: a Student-t backtest with its bands (issue 12).

Kept apart from ``screenshot.py`` so each stage has one owner; ``screenshot.py`` lists
:func:`stage_bands` in its ``STAGES``. The stage picks "Student-t band" on the Model page, runs the
backtest stage again with it, ticks the 95% band and GARCH's outline (shaded around the forecast
on the Forecasts and scores page) and shows the Backtest tab's Bands page: the coverage by
volatility regime of the calibrated and raw bands, the calibration and PIT charts and the forecast
volatility. Run on its own (data stage, then this one), it is quicker than the
full chain::

    python scripts/screenshot_bands.py --out shots/bands.png --width 1280 --height 800
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def stage_bands(window, args: argparse.Namespace) -> None:
    """Backtest with a Student-t head and show its bands on the Backtest tab."""
    from PySide6.QtWidgets import QDialog
    from screenshot_backtest import controllers, stage_backtest  # scripts/ is on sys.path

    for dialog in window.findChildren(QDialog):  # an earlier stage may leave a list open
        dialog.close()
    training, backtest = controllers(window)
    combo = training.panel.head_combo
    combo.setCurrentIndex(combo.findData("student-t"))
    stage_backtest(window, args)
    for key in ("95", "garch"):
        backtest.view.bands.checks[key].setChecked(True)
    backtest.tab.show_page("Bands")
    from screenshot import settle

    settle(0.5)


def _let_background_work_end(timeout_s: float = 120.0) -> None:
    """Wait for work started by the shown result (the Inside tab explains the last forecast):
    closing the window under a running thread aborts the process."""
    import time

    from screenshot import settle

    from stockapp.gui.widgets import workers as workers

    deadline = time.monotonic() + timeout_s
    while any(w.is_running() for w in list(workers._RUNNING)) and time.monotonic() < deadline:
        settle(0.1)


def main(argv: list[str] | None = None) -> int:
    """The data stage, then :func:`stage_bands`, saved to ``--out``."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import screenshot

    args = screenshot.parse_args(argv)
    screenshot.headless_if_needed()
    with tempfile.TemporaryDirectory(prefix="stockapp-shot-") as home:
        if not args.keep_settings:
            os.environ["STOCKAPP_HOME"] = home
        window = screenshot.open_window(args)
        screenshot.stage_data(window, args)
        stage_bands(window, args)
        screenshot.save(window, args.out)
        _let_background_work_end()
        window.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
