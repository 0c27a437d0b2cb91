"""Where stockapp keeps its files.

By default the per-user folders of the platform (via platformdirs): the download cache under the
user cache folder, settings under the user config folder and saved runs and models under the user
data folder. Setting ``STOCKAPP_HOME`` puts all three under that one folder instead (the tests do
this so they never touch a real user's files).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "stockapp"


def _folder(kind: str) -> Path:
    home = os.environ.get("STOCKAPP_HOME")
    if home:
        path = Path(home) / kind
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP, appauthor=False))
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP, appauthor=False))
    else:
        path = Path(platformdirs.user_data_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Downloaded prices (one file per ticker) and yfinance's own caches."""
    return _folder("cache")


def config_dir() -> Path:
    """Remembered settings (window geometry, last data choice, model settings)."""
    return _folder("config")


def data_dir() -> Path:
    """Saved models and backtest runs."""
    return _folder("data")


def runs_dir() -> Path:
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
