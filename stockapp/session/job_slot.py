"""One job at a time: training, a backtest, an experiment, a comparison of kinds, a forward record.

They all seed and load the same device, so a window runs one of them at a time. The
:class:`JobSlot` is the one place that knows which runs and why another may not start: a job
takes the slot when it starts and releases it when it ends (finished, cancelled or failed); every
Run button follows :meth:`JobSlot.blocked_for`, and its tooltip is the reason.

Explaining one forecast (the Inside tab) trains nothing and takes a moment; it does not take
the slot.
"""

from __future__ import annotations

from stockapp.errors import StockappError
from stockapp.session.events import Event

#: The jobs that take the slot, and the sentence that says why another may not start meanwhile.
REASONS = {
    "training": "A model is training; wait for it or cancel it.",
    "backtest": "A backtest is running; wait for it or cancel it.",
    "sweep": "An experiment is running; wait for it or cancel it.",
    "compare": "RNN, GRU and LSTM are being compared; wait for them or cancel it.",
    "forward": "Forward forecasts are being recorded; wait for them.",
}


class JobBusy(StockappError):
    """A job was asked to start while another holds the slot; the message says which."""


class JobSlot:
    """Which job runs now, if any. ``changed(holder)`` is emitted on every take and release
    (``holder`` is the kind now running, or ``None``)."""

    def __init__(self) -> None:
        self._holder: str | None = None
        self.changed = Event()

    @property
    def holder(self) -> str | None:
        """The kind of the job running now (a key of :data:`REASONS`), or ``None``."""
        return self._holder

    def blocked_for(self, kind: str) -> str:
        """Why a ``kind`` job may not start now ("" when it may, or when it is the one running:
        its own panel shows it running, not blocked)."""
        if self._holder is None or self._holder == kind:
            return ""
        return REASONS[self._holder]

    def why_not(self, kind: str) -> str:
        """Why a ``kind`` job may not start now; "" only when the slot is free."""
        return "" if self._holder is None else REASONS[self._holder]

    def take(self, kind: str) -> None:
        """Start a ``kind`` job; :class:`JobBusy` (the reason, one sentence) when one runs."""
        if kind not in REASONS:
            raise ValueError(f"unknown job kind {kind!r}")
        why = self.why_not(kind)
        if why:
            raise JobBusy(why)
        self._holder = kind
        self.changed.emit(kind)

    def release(self, kind: str) -> None:
        """End the ``kind`` job (nothing happens when another kind, or none, holds the slot)."""
        if self._holder == kind:
            self._holder = None
            self.changed.emit(None)
