"""Workaround for a PySide6 6.12 bug on Python 3.11: every call of a void Qt method
(`item.update()`, `widget.setEnabled(True)`, ...) releases one reference to None that it
never took. Python 3.12+ does not care (None is immortal there), but on 3.11 None's
count falls with every call until the interpreter aborts with "deallocating None";
the 500-node canvas benchmark hit it within seconds.

`guard_none_refcount` detects the bug with a few harmless calls and, only when present,
gives None the effectively-infinite reference count that Python 3.12 gives it.
"""

from __future__ import annotations

import ctypes
import sys

_PIN = 1 << 40  # far more void calls than a session can make


def void_calls_leak_none() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 8


def guard_none_refcount() -> bool:
    """Returns True when the workaround was applied."""
    if sys.version_info >= (3, 12) or not void_calls_leak_none():
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt, PyObject's first field
    if refcount.value < _PIN:
        refcount.value += _PIN
    return True
