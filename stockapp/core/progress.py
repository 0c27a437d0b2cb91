"""Running the core's long jobs headless.

Long work (training, backtests) is a generator: each yield is a progress report and a
cancellation point, and its return value is the result. The GUI adapts such generators to
signals; scripts, the command line and tests drive them with :func:`drain`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")


def drain(job: Generator[Any, None, R], on_progress: Callable[[Any], None] | None = None) -> R:
    """Run ``job`` to the end, passing each progress value to ``on_progress``; its result."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)
