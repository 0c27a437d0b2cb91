"""A tiny event: a list of callbacks the Qt-free application state calls when it changes.

The state in :mod:`stockapp.session` knows nothing of widgets; the window's adapters connect
their updates to its events (as napari's models emit events its Qt layer listens to). Callbacks
run at once, in the order they were connected, on the thread that changed the state: the GUI
thread, since only the adapters change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """Callbacks called, in order, with the arguments of each :meth:`emit`."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback`` on every emit from now on; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback`` (nothing happens when it was not connected)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
