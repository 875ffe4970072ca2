"""Typed events the Trainer sends to its callback (a GUI worker re-emits them as signals).

Plain dataclasses of floats, ints, strings, lists and numpy arrays: safe to hand to
another thread, no tensors that would keep the device busy or alias live weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    epochs: int
    steps_per_epoch: int
    device: str
    start_epoch: int  # > 0 when resuming from a checkpoint
    parameters: int
    trainable_parameters: int
    task: str
    notes: list[str] = field(default_factory=list)  # e.g. "mixed precision ignored on CPU"


@dataclass(frozen=True)
class BatchEnd:
    epoch: int  # counted from 1
    batch: int  # within the epoch, from 1
    step: int  # optimizer steps since the run began, from 1
    loss: float  # this batch's loss
    mean_loss: float  # mean over the batches since the previous BatchEnd
    lr: float
    samples_per_s: float  # throughput over the same window


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    train_loss: float
    val_loss: float | None
    lr: float  # the rate used during this epoch (before the scheduler stepped)
    seconds: float
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    top_k: dict[int, float] = field(default_factory=dict)  # validation top-k accuracy
    per_class_accuracy: list[float] | None = None  # validation, NaN for absent classes
    confusion: np.ndarray | None = None  # validation [true, predicted] counts
    mse: float | None = None  # regression metrics on the validation set
    rmse: float | None = None
    log_rmse: float | None = None
    improved: bool = False  # the early-stopping metric reached a new best


@dataclass(frozen=True)
class ProbeSample:
    """The sample a Snapshot's activations show, so the view can say which one it is."""

    split: str  # "validation" or "training": the dataset it comes from
    index: int  # its index in that dataset
    label: float | None = None  # its target, when that is one number (a class index)
    predicted: float | None = None  # the model's answer at the snapshot: class or value


@dataclass(frozen=True)
class Snapshot:
    epoch: int
    step: int
    weight_hist: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (counts, bin edges)
    grad_hist: dict[str, tuple[np.ndarray, np.ndarray]]
    grad_norms: dict[str, float]
    activations: dict[str, np.ndarray]  # node name -> its output for the fixed sample
    sample: ProbeSample | None = None  # which sample that is, when known


@dataclass(frozen=True)
class RunFinished:
    epochs_done: int
    reason: str  # "completed" | "stopped" | "early_stopping"
    metrics: dict[str, Any]  # last epoch's numbers, and test_* when there is a test set
    best_epoch: int | None = None
    checkpoint: str | None = None  # path of the last checkpoint written


@dataclass(frozen=True)
class RunFailed:
    reason: str  # one readable line
    epoch: int | None = None
    batch: int | None = None
    checkpoint: str | None = None  # the last good checkpoint, kept


Event = RunStarted | BatchEnd | EpochEnd | Snapshot | RunFinished | RunFailed


# Snapshot keys name a layer and its tensor (`conv1_1.weight`), whatever module path the
# layer sits at in the compiled model.
def node_key(key: str, names: dict[str, str]) -> str:
    """A parameter key under the layer that owns it (`names`: module path -> layer name):
    `features.0.weight` -> `conv1_1.weight`. The longest module path that is a layer wins,
    so a layer's own submodules stay in the tail. `layer_of` reads the layer back."""
    module = key
    while "." in module:
        module = module.rpartition(".")[0]
        if module in names:
            return names[module] + key[len(module):]
    return key


def layer_of(label: str) -> str:
    """`conv1_1.weight` -> `conv1_1`: layer names are identifiers, so the first dot ends one."""
    return label.split(".", 1)[0]
