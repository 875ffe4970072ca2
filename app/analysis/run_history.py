"""Everything one run reported, in plain Python: what the plots draw and what compare keeps.

Qt-free. The GUI appends events as they arrive (cheap: list appends only); plots redraw
from here on a timer and know whether anything changed through `version`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.training.events import BatchEnd, EpochEnd, RunFailed, RunFinished, RunStarted, Snapshot

MAX_SNAPSHOTS = 400  # thinned by half when reached: histograms over time stay bounded
SUMMARY_POINTS = 400  # batch-loss points kept in a saved summary


@dataclass
class Misclassified:
    """One wrong validation prediction; `image` is H x W x C in [0, 1], or None."""

    index: int
    true: int
    predicted: int
    confidence: float
    image: np.ndarray | None
    values: np.ndarray | None = None  # non-image samples: the feature vector


@dataclass
class Evaluation:
    """Extra per-epoch results computed in the worker thread (see evaluation.py)."""

    epoch: int
    misclassified: list[Misclassified] = field(default_factory=list)
    checked: int = 0  # validation samples looked at
    boundary: BoundaryGrid | None = None


@dataclass
class BoundaryGrid:
    """Predicted class over a grid covering the 2-D data, plus the points themselves."""

    xs: np.ndarray  # (nx,) grid x coordinates
    ys: np.ndarray  # (ny,)
    classes: np.ndarray  # (ny, nx) int predicted class
    confidence: np.ndarray  # (ny, nx) max softmax probability
    points: np.ndarray  # (n, 2) validation points
    labels: np.ndarray  # (n,) their true classes


@dataclass
class RunHistory:
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    graph: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    status: str = "running"  # running | completed | stopped | early_stopping | failed
    message: str = ""
    started: RunStarted | None = None
    steps: list[int] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    last_batch: BatchEnd | None = None
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_lr: list[float] = field(default_factory=list)
    epoch_steps: list[int] = field(default_factory=list)
    last_epoch: EpochEnd | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    evaluation: Evaluation | None = None
    final_metrics: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] | None = None
    steps_per_epoch: int = 0
    version: int = 0  # bumped on every change; plots redraw only when it moved

    # -- recording ----------------------------------------------------------------------
    def add(self, event: Any) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
            self.version += 1

    def _started(self, e: RunStarted) -> None:
        self.started = e
        self.steps_per_epoch = e.steps_per_epoch

    def _batch(self, e: BatchEnd) -> None:
        self.steps.append(e.step)
        self.batch_loss.append(e.mean_loss)
        self.lrs.append(e.lr)
        self.last_batch = e

    def _epoch(self, e: EpochEnd) -> None:
        self.epochs.append(e.epoch)
        self.train_loss.append(e.train_loss)
        self.val_loss.append(_num(e.val_loss))
        self.train_acc.append(_num(e.train_accuracy))
        self.val_acc.append(_num(e.val_accuracy))
        self.epoch_lr.append(e.lr)
        self.epoch_steps.append(self.steps[-1] if self.steps else 0)
        self.last_epoch = e

    def _snapshot(self, e: Snapshot) -> None:
        self.snapshots.append(e)
        if len(self.snapshots) > MAX_SNAPSHOTS:
            # keep every other one (and always the newest): long runs stay cheap to draw
            self.snapshots = self.snapshots[-2::-2][::-1] + [self.snapshots[-1]]

    def _finished(self, e: RunFinished) -> None:
        self.status = e.reason
        self.final_metrics = dict(e.metrics)

    def _failed(self, e: RunFailed) -> None:
        self.status = "failed"
        self.message = e.reason

    def set_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.version += 1

    def batch_epochs(self) -> list[float]:
        """Batch positions in epochs (step / steps per epoch): runs of any size compare."""
        per = self.steps_per_epoch or 1
        return [s / per for s in self.steps]

    @property
    def running(self) -> bool:
        return self.status == "running"

    # -- compare: saved summaries --------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """JSON-able: settings, graph and curves (the batch curve thinned)."""
        every = max(1, math.ceil(len(self.steps) / SUMMARY_POINTS))
        return {"name": self.name, "started_at": self.started_at, "status": self.status,
                "message": self.message, "config": self.config, "data": self.data,
                "graph": self.graph, "steps_per_epoch": self.steps_per_epoch, "steps": self.steps[::every],
                "batch_loss": _finite(self.batch_loss[::every]),
                "epochs": self.epochs, "train_loss": _finite(self.train_loss),
                "val_loss": _finite(self.val_loss), "train_acc": _finite(self.train_acc),
                "val_acc": _finite(self.val_acc), "epoch_lr": _finite(self.epoch_lr),
                "final_metrics": {k: v for k, v in self.final_metrics.items()
                                  if isinstance(v, int | float | str) and
                                  (not isinstance(v, float) or math.isfinite(v))}}

    @classmethod
    def from_summary(cls, d: dict[str, Any]) -> RunHistory:
        run = cls(str(d.get("name", "run")), dict(d.get("config") or {}),
                  dict(d.get("data") or {}), dict(d.get("graph") or {}),
                  float(d.get("started_at", 0.0)), str(d.get("status", "completed")),
                  str(d.get("message", "")))
        for key in ("steps", "epochs"):
            setattr(run, key, [int(v) for v in d.get(key) or []])
        for key in ("batch_loss", "train_loss", "val_loss", "train_acc", "val_acc",
                    "epoch_lr"):
            setattr(run, key, [_num(v) for v in d.get(key) or []])
        run.steps_per_epoch = int(d.get("steps_per_epoch") or 0)
        run.final_metrics = dict(d.get("final_metrics") or {})
        return run


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _finite(values: list[float]) -> list[float | None]:
    """JSON has no NaN: missing numbers are written as null."""
    return [v if math.isfinite(v) else None for v in values]


_HANDLERS = {RunStarted: RunHistory._started, BatchEnd: RunHistory._batch,
             EpochEnd: RunHistory._epoch, Snapshot: RunHistory._snapshot,
             RunFinished: RunHistory._finished, RunFailed: RunHistory._failed}
