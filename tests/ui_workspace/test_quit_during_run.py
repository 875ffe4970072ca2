"""Quitting while a run trains: the window asks, stops the run and joins the training
thread before it goes (Qt aborts the process when a running QThread is destroyed), and
never waits longer than CLOSE_WAIT_S with the window frozen."""

from __future__ import annotations

import threading
import time

from app.training.events import BatchEnd
from app.ui.background import running_jobs
from app.ui.worker import TrainingWorker
from tests.ui_workspace.test_workspace import start_long_run


def test_closing_the_window_mid_run_stops_and_joins_the_worker(qtbot, make_window) -> None:
    window = make_window()
    docks = start_long_run(qtbot, window)
    worker = docks.worker
    assert worker.isRunning()
    asked: list[str] = []
    window.ask_stop_run = lambda then="": asked.append(then) or True
    assert window.close()
    assert asked == ["quit"]
    assert worker.isFinished() and not worker.isRunning()
    assert worker.result is not None and worker.result.reason == "stopped"
    assert not window.isVisible() and running_jobs() == 0
    assert window.settings.value("layout/design") is not None  # settings were saved


def test_closing_mid_run_can_be_refused(qtbot, make_window) -> None:
    window = make_window()
    docks = start_long_run(qtbot, window)
    window.ask_stop_run = lambda then="": False
    assert not window.close()
    assert window.isVisible() and docks.running
    batches = docks.run.last_batch.batch, docks.run.last_batch.epoch
    qtbot.waitUntil(lambda: (docks.run.last_batch.batch, docks.run.last_batch.epoch)
                    != batches, timeout=30_000)  # it still trains
    window.ask_stop_run = lambda then="": True
    assert window.close() and docks.worker.isFinished()


def test_a_batch_longer_than_the_wait_closes_the_window_when_it_ends(
        qtbot, make_window, monkeypatch) -> None:
    from app.ui import main_window

    slow = threading.Event()
    forward = TrainingWorker._forward

    def slow_forward(self, event):  # runs in the training thread
        if slow.is_set() and isinstance(event, BatchEnd):
            time.sleep(0.6)
        forward(self, event)

    monkeypatch.setattr(TrainingWorker, "_forward", slow_forward)
    monkeypatch.setattr(main_window, "CLOSE_WAIT_S", 0.0)
    window = make_window()
    docks = start_long_run(qtbot, window)
    worker = docks.worker
    slow.set()
    time.sleep(0.1)  # the thread is inside a slow batch now
    started = time.perf_counter()
    assert not window.close()  # deferred: the batch outlasts the wait
    assert time.perf_counter() - started < 2.0  # the wait was bounded
    assert window.isVisible() and not window.isEnabled()
    assert "closes as soon as" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert worker.isFinished() and worker.result.reason == "stopped"
