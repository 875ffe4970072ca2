"""Guards the Qt binding version pinned in pyproject.toml.

PySide6 6.12.0 releases a reference to None on every call of a void Qt method; on
Python 3.11 that aborts the interpreter ("deallocating None") after a few thousand
canvas updates.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_do_not_leak_references_to_none() -> None:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("probe")
    assert before - sys.getrefcount(None) < 10
