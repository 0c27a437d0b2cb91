"""Heavy libraries imported on first use, not when the module that needs them is imported.

``scipy.stats`` and ``scipy.signal`` take about half a second each to import; the window imports
the core (settings, walk-forward, scores) before it shows, and needs them only once a result is
scored. ``stats = LazyModule("scipy.stats")`` reads like the module and imports it the first time
one of its names is used (then it is one dictionary lookup away).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` until one of its attributes is read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


stats = LazyModule("scipy.stats")
special = LazyModule("scipy.special")
signal = LazyModule("scipy.signal")
