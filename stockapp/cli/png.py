"""The one command-line module that touches Qt: the pictures, drawn off screen.

The window and the command line draw every PNG with the same code (:mod:`stockapp.gui.pictures`);
this module only makes sure Qt needs no display (``QT_QPA_PLATFORM=offscreen`` when neither X11
nor Wayland is there) and imports the renderer when a picture is wanted, so the commands
themselves stay free of Qt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _offscreen() -> None:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def backtest_png(result: Any, model_name: str, path: Path, data: str | None = None) -> Path:
    """A backtest's charts and scores (:func:`stockapp.gui.pictures.render_backtest_png`)."""
    _offscreen()
    from stockapp.gui.pictures import render_backtest_png

    return render_backtest_png(result, model_name, path, data=data)


def explanation_png(ex: Any, path: Path, epochs: list | None = None) -> Path:
    """The Inside tab's charts for one forecast."""
    _offscreen()
    from stockapp.gui.pictures import render_explanation_png

    return render_explanation_png(ex, path, epochs=epochs)


def kinds_png(result: Any, path: Path, title: str | None = None) -> Path:
    """The RNN/GRU/LSTM gradient-through-time comparison."""
    _offscreen()
    from stockapp.gui.pictures import render_kinds_png

    return render_kinds_png(result, path, title=title)
