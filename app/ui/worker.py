"""The training thread: runs Trainer.run() and re-emits its events as Qt signals.

The worker is a QThread object living in the GUI thread; its signals are emitted from
the training thread, so Qt queues them to the GUI thread's receivers. Slots connected
to them must only record the event (the plots redraw on their own timer), which keeps
the queue short and the window responsive however fast batches finish.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal

from app.training.config import TrainConfig
from app.training.events import (
    BatchEnd,
    EpochEnd,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    Snapshot,
)

WAIT_SLICE_MS = 100


class TrainingWorker(QThread):
    status = Signal(str)  # "loading data…" before the trainer starts
    dataReady = Signal(object)  # the DatasetBundle, before the trainer starts
    runStarted = Signal(object)  # RunStarted
    batchEnded = Signal(object)  # BatchEnd
    epochEnded = Signal(object)  # EpochEnd
    snapshotTaken = Signal(object)  # Snapshot
    evaluated = Signal(object)  # app.analysis.run_history.Evaluation
    runFinished = Signal(object)  # RunFinished
    runFailed = Signal(object)  # RunFailed
    ended = Signal(object)  # RunFinished | RunFailed; always the last signal

    def __init__(self, network: Any, data: Any, config: TrainConfig, *,
                 checkpoint_dir: str | None = None, snapshots_per_epoch: int = 1,
                 extras: bool = True, parent: QObject | None = None) -> None:
        """network: a NetworkDocument (copied: edits during the run do not reach it).
        data: the project's "data" section (loaded in the thread) or a DatasetBundle."""
        super().__init__(parent)
        self.network = network.copy() if hasattr(network, "copy") else network
        self.data = copy.deepcopy(data) if isinstance(data, dict) else data
        self.config = config
        self.checkpoint_dir = checkpoint_dir
        self.snapshots_per_epoch = max(1, snapshots_per_epoch)
        self.extras = extras
        self.bundle: Any = None
        self.trainer: Any = None
        self.result: RunFinished | RunFailed | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._signals = {RunStarted: self.runStarted, BatchEnd: self.batchEnded,
                         EpochEnd: self.epochEnded, Snapshot: self.snapshotTaken,
                         RunFinished: self.runFinished, RunFailed: self.runFailed}
        app = QCoreApplication.instance()
        if app is not None:  # the last window may close before anyone stopped the run
            app.aboutToQuit.connect(self.stop_and_wait)

    # -- control, from the GUI thread ---------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self.trainer is not None:
                self.trainer.pause()

    def resume(self) -> None:
        with self._lock:
            if self.trainer is not None:
                self.trainer.resume()

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self.trainer is not None:
                self.trainer.stop()

    def stop_and_wait(self, notify: Callable[[str], object] | None = None,
                      timeout_s: float | None = None) -> bool:
        """Stop the run and wait for the thread, at most `timeout_s` (None: however long
        the batch in progress takes); True once the thread has finished.

        A batch cannot be cut short, and Qt aborts the process when a running QThread is
        destroyed ("QThread: Destroyed while thread is still running"), so closing the
        window waits, repainting, and says why."""
        self.stop()
        if self.wait(WAIT_SLICE_MS):
            return True
        if notify is not None:
            notify("Stopping training: waiting for the current batch to finish…")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.wait(WAIT_SLICE_MS):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        return True

    @property
    def paused(self) -> bool:
        return self.trainer is not None and self.trainer.paused

    @property
    def model(self) -> Any:
        """The trained nn.Module once the run has ended (None before)."""
        return self.trainer.model if self.trainer is not None else None

    # -- the thread -----------------------------------------------------------------------
    def run(self) -> None:
        _leave_a_core_for_the_gui()
        result = self._run()
        self.result = result
        self.ended.emit(result)

    def _run(self) -> RunFinished | RunFailed:
        from app.training.trainer import Trainer

        try:
            self.bundle = self._load()
        except Exception as exc:  # noqa: BLE001 -- shown to the student, never a crash
            return self._fail(f"data: {exc}" if not str(exc).startswith("data") else str(exc))
        self.dataReady.emit(self.bundle)
        config = self._with_probe_rate(self.config)
        with self._lock:
            if self._stop_requested:
                return self._emit_result(RunFinished(0, "stopped", {}))
            self.trainer = Trainer(self.network, self.bundle, config, callback=self._forward,
                                   checkpoint_dir=self.checkpoint_dir)
        return self.trainer.run()  # the trainer emitted RunFinished / RunFailed itself

    def _load(self) -> Any:
        if not isinstance(self.data, dict):
            return self.data
        from app.training.data import load_data

        self.status.emit("loading data…")
        return load_data(self.data)

    def _with_probe_rate(self, config: TrainConfig) -> TrainConfig:
        """Several snapshots per epoch make the histogram-over-time plots worth reading."""
        if self.snapshots_per_epoch <= 1 or config.probes.every_n_batches:
            return config
        from app.data.loading import iterations_per_epoch

        steps = iterations_per_epoch(len(self.bundle.train), config.batch_size,
                                     config.drop_last)
        config = copy.deepcopy(config)
        config.probes.every_n_batches = max(1, steps // self.snapshots_per_epoch)
        return config

    def _fail(self, reason: str) -> RunFailed:
        return self._emit_result(RunFailed(reason))

    def _emit_result(self, event: RunFinished | RunFailed) -> RunFinished | RunFailed:
        self._forward(event)
        return event

    def _forward(self, event: Event) -> None:
        """Called in the training thread by the trainer for every event."""
        self._signals[type(event)].emit(event)
        if isinstance(event, EpochEnd) and self.extras:
            self._evaluate(event.epoch)

    def _evaluate(self, epoch: int) -> None:
        from app.analysis.evaluation import evaluate_epoch

        try:
            result = evaluate_epoch(self.trainer.model, self.bundle, self.trainer.device, epoch)
        except Exception as exc:  # noqa: BLE001 -- the extras must never end a run
            self.status.emit(f"could not evaluate the samples of epoch {epoch}: {exc}")
            return
        self.evaluated.emit(result)


def _leave_a_core_for_the_gui() -> None:
    """torch's intra-op pool uses every core by default; the GUI thread then waits for
    the OS scheduler for tens of milliseconds per frame. One core fewer costs training
    little and keeps the window smooth (a no-op on a single core)."""
    import torch

    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)
