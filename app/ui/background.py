"""Slow, Qt-free work (imports, dataset loading, statistics) off the GUI thread."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Task(QRunnable):
    def __init__(self, fn: Any, signals: _TaskSignals) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:  # noqa: BLE001 -- reported as one line in the panel
            self.signals.failed.emit(str(exc).splitlines()[0] if str(exc) else
                                     type(exc).__name__)
            return
        self.signals.done.emit(value)


_alive: set[_TaskSignals] = set()  # keeps each task's signal object until it reports


def run_in_background(fn: Any, on_done: Any, on_error: Any, owner: QObject | None = None
                      ) -> None:
    """Run fn() on Qt's thread pool; on_done(value) / on_error(message) in the GUI thread.

    For slow, Qt-free work (loading a dataset, computing statistics) that must not
    freeze the window. When `owner` (the widget waiting for the result) has been
    deleted meanwhile, the result is dropped."""
    signals = _TaskSignals()
    _alive.add(signals)

    def finish(callback: Any, value: Any) -> None:
        _alive.discard(signals)
        if owner is None or shiboken6.isValid(owner):
            callback(value)

    signals.done.connect(lambda value: finish(on_done, value))
    signals.failed.connect(lambda message: finish(on_error, message))
    QThreadPool.globalInstance().start(_Task(fn, signals))
