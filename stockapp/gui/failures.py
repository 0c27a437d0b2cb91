"""The one sentence a person reads when saving, opening or exporting fails."""

from __future__ import annotations

from stockapp.errors import StockappError


def failure_sentence(exc: StockappError | OSError, doing: str) -> str:
    """What went wrong, for the window's status bar and message box.

    A :class:`StockappError` already says it for a person and is shown as it is; an ``OSError``
    (a full disk, a missing permission) becomes "Could not <doing>: <the system's reason>.".

    Parameters
    ----------
    exc
        The error caught.
    doing
        What was attempted, as it reads after "Could not", e.g. ``"save the run in /tmp/x"``.
    """
    if isinstance(exc, StockappError):
        return str(exc)
    return f"Could not {doing}: {exc.strerror or exc}."
