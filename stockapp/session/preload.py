"""The model code, and with it PyTorch, loaded after the window shows.

Importing torch takes seconds on a cold start; the window needs none of it to show (its settings
come from :mod:`stockapp.models.config`, its scores' statistics load on first use). Once the
window has painted, :func:`load_models` runs on a background thread: it imports the model
modules, pays torch's one-off lazy imports (:func:`~stockapp.models.trainer.warm_up`) and
returns the devices this machine has, for the Model page's list.

A job started before that load has finished waits for it instead of importing the same modules
from a second thread: every entry (:func:`load_models`, :func:`ensure_models`) holds one lock
while it imports, so the second caller blocks until the first is done, then finds everything
loaded.
"""

from __future__ import annotations

import importlib
import threading

#: What the window's jobs import: the networks and trainer, the backtest job, the explanations,
#: and the statistics that score results.
MODULES = (
    "stockapp.models.forecaster",
    "stockapp.models.runner",
    "stockapp.models.explain",
    "stockapp.models.device",
    "scipy.stats",
    "scipy.signal",
)

_lock = threading.Lock()
_loaded = False
_import = importlib.import_module  # (the tests slow it down to see the second caller wait)


def loaded() -> bool:
    """Whether the model code has been loaded (by either entry)."""
    return _loaded


def ensure_models() -> None:
    """Make sure the model code is loaded: at once when it is, after the load under way
    otherwise (or by loading it here when none was started)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for name in MODULES:
            _import(name)
        from stockapp.models.trainer import warm_up

        warm_up()  # torch's lazy imports now, not in a training thread
        _loaded = True


def load_models() -> list[str]:
    """Load the model code (see :func:`ensure_models`) and return the devices this machine can
    train on, CPU first; for a background thread once the window shows."""
    ensure_models()
    from stockapp.models.device import available_devices

    return available_devices()
