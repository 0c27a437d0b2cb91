"""PyTorch and scipy.stats load after the window shows (issue 20): importing the window's
modules and building the main window imports neither; the session layer imports no Qt and no
torch. Each check runs in a fresh interpreter, so nothing imported by other tests counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "scipy.stats", "scipy.signal")


def _loaded(code: str, tmp_path) -> dict:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "STOCKAPP_HOME": str(tmp_path / "home"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_building_the_main_window_imports_neither_torch_nor_scipy_stats(tmp_path):
    modules = _loaded(
        "from stockapp.gui.app import create_main_window\n"
        "import stockapp.gui.pictures\n"
        "window = create_main_window(sample='AAPL', quiet=True)\n"
        "window.show()\n"
        "from PySide6.QtWidgets import QApplication\n"
        "QApplication.processEvents()\n"
        "assert window.series is not None and window.session.series is window.series\n",
        tmp_path,
    )
    assert "stockapp.gui.backtest.adapter" in modules and "stockapp.gui.inside.view" in modules
    assert not [m for m in HEAVY if m in modules]


def test_the_session_layer_imports_no_qt_and_no_torch(tmp_path):
    names = sorted(
        f"stockapp.session.{p.stem}"
        for p in (ROOT / "stockapp" / "session").glob("*.py")
        if p.stem != "__init__"
    )
    modules = _loaded("\n".join(f"import {n}" for n in names), tmp_path)
    assert set(names) <= modules
    assert not [m for m in ("PySide6", "pyqtgraph", *HEAVY) if m in modules]


def test_loading_the_models_after_the_window_gives_the_devices(tmp_path):
    modules = _loaded(
        "from stockapp.session.preload import load_models, loaded\n"
        "assert not loaded()\n"
        "devices = load_models()\n"
        "assert devices[0] == 'cpu' and loaded()\n",
        tmp_path,
    )
    assert "torch" in modules and "stockapp.models.forecaster" in modules
