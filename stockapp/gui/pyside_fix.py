"""Keep a reference-counting bug of shiboken6 6.12.0 from crashing the app on Python < 3.12.

With PySide6/shiboken6 6.12.0 every call of a wrapped C++ method that returns ``void`` hands back
``None`` without taking a reference to it, and every ``Signal.emit`` does the same with ``True``
or ``False``. Python 3.12+ makes these singletons immortal, so nothing happens there; on 3.11 each
call takes one reference away, and after a few thousand calls (a few seconds of moving the mouse
over a pyqtgraph chart) the interpreter aborts with "Fatal Python error: none_dealloc" or
"bool_dealloc". A plain ``QObject().setObjectName("x")`` in a loop shows it.

The bug is measured once on import and, only when present, the three singletons are given a very
large reserve of references: the same effect as 3.12's immortality, with nothing else changed.
The real fix is a PySide6 without the bug (or Python 3.12+); then this module does nothing.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject

_PROBE_CALLS = 64
# 2**40 references (a quarter of the range on 32-bit builds): leaked one per call, that is far
# more calls than any session makes, and far from overflowing the counter.
_RESERVE = min(1 << 40, sys.maxsize // 4)

_protected = False


def _lost_references() -> tuple[int, int]:
    """References to ``None`` and to the bools lost by ``_PROBE_CALLS`` void calls and emits."""
    probe = QObject()
    none_before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    none_lost = none_before - sys.getrefcount(None)
    bools_before = sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(_PROBE_CALLS):
        probe.objectNameChanged.emit("probe")
    bools_lost = bools_before - (sys.getrefcount(True) + sys.getrefcount(False))
    return none_lost, bools_lost


def refcount_bug_present() -> bool:
    """Whether this PySide6 loses references to ``None``/``True``/``False`` on this Python."""
    if sys.version_info >= (3, 12):
        return False  # immortal singletons: the lost references cannot do harm
    none_lost, bools_lost = _lost_references()
    return none_lost >= _PROBE_CALLS // 2 or bools_lost >= _PROBE_CALLS // 2


def protect_singletons() -> bool:
    """Apply the work-around if the bug is present; returns whether it is (now) applied."""
    global _protected
    if _protected or sys.getrefcount(None) > _RESERVE:  # already applied (even by a reload)
        _protected = True
        return True
    if not refcount_bug_present():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object (3.11 and earlier).
        counter = ctypes.c_ssize_t.from_address(id(singleton))
        counter.value += _RESERVE
    _protected = True
    return True


protect_singletons()
