"""Slow, Qt-free work (imports, dataset loading, statistics, code generation) off the GUI
thread, on Qt's global thread pool, and the way to wait for it without deadlocking.

Nothing here ever blocks inside a Qt destructor. A QThreadPool owned by a widget waits for
its jobs in ~QThreadPool; when the widget is deleted from a PySide call that keeps the GIL
(QTest.qWait in a test, any event processing started from C++), the GUI thread then waits
for a job while holding the GIL the job needs: a deadlock (tests/ui/test_background.py).
So jobs run on the global pool, whose lifetime is the application's, and whoever must
wait for them (a window closing, a test) does so from Python (`join_background_jobs`,
`Job.wait`), where PySide releases the GIL while it waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str)


class Job:
    """A handle on one call started by run_in_background."""

    def __init__(self) -> None:
        self.finished = threading.Event()  # set once the call has returned and reported

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the call has returned (releasing the GIL); False on timeout."""
        return self.finished.wait(timeout_s)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _TaskSignals, job: Job) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals
        self.job = job

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:  # noqa: BLE001 -- reported as one line in the panel
            self.signals.failed.emit(str(exc).splitlines()[0] if str(exc) else
                                     type(exc).__name__)
        else:
            self.signals.done.emit(value)
        finally:
            _running.discard(self.job)
            self.job.finished.set()


_alive: set[_TaskSignals] = set()  # keeps each task's signal object until it reports
_running: set[Job] = set()  # started and not yet finished


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], Any],
                      on_error: Callable[[str], Any], owner: QObject | None = None) -> Job:
    """Run fn() on Qt's thread pool; on_done(value) / on_error(message) in the GUI thread.

    For slow, Qt-free work (loading a dataset, computing statistics) that must not
    freeze the window. When `owner` (the widget waiting for the result) has been
    deleted meanwhile, the result is dropped."""
    signals = _TaskSignals()
    _alive.add(signals)

    def finish(callback: Callable[[Any], Any], value: Any) -> None:
        _alive.discard(signals)
        if owner is None or shiboken6.isValid(owner):
            callback(value)

    signals.done.connect(lambda value: finish(on_done, value))
    signals.failed.connect(lambda message: finish(on_error, message))
    job = Job()
    _running.add(job)
    QThreadPool.globalInstance().start(_Task(fn, signals, job))
    return job


def running_jobs() -> int:
    """Jobs started by run_in_background that have not finished yet."""
    return len(_running)


def join_background_jobs(timeout_s: float = 60.0) -> bool:
    """Wait for every job on the pool to end, threads included (the window is closing, or
    the application quits). PySide releases the GIL while it waits. Results arrive later
    as queued signals; one whose owner is gone by then is dropped. False on timeout."""
    return QThreadPool.globalInstance().waitForDone(int(timeout_s * 1000))
