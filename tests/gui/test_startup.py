"""A sign of life at once: the splash is painted first, then the main window, both before
PyTorch loads (it loads once the window shows)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_splash_is_painted_before_torch_loads_then_the_window(tmp_path):
    marker = tmp_path / "startup.txt"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "STOCKAPP_STARTUP_MARKER": str(marker),
        "STOCKAPP_QUIT_AFTER_SHOWN": "1",
    }
    stockapp = Path(sys.executable).parent / "stockapp"
    done = subprocess.run(
        [str(stockapp), "gui", "--sample", "AAPL"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in marker.read_text(encoding="utf-8").splitlines()]
    assert [(label, torch) for label, _, torch in lines] == [
        ("splash", "torch=False"),
        ("window", "torch=False"),  # PyTorch loads after the window shows (issue 20)
    ]
    assert float(lines[0][1]) <= float(lines[1][1])


def test_splash_is_visible_and_says_what_loads(qtbot):
    from stockapp.gui.startup import set_message, show_splash

    splash = show_splash()
    qtbot.addWidget(splash)
    assert splash.isVisible()
    assert splash.message.text() == "Loading\u2026"
    set_message(splash, "Opening the window\u2026")
    assert splash.message.text() == "Opening the window\u2026"
