"""Training health: which layer is at fault, and what to try. Qt-free.

Reads the latest probe snapshots and the epoch curves of a RunHistory. The thresholds
are deliberately coarse: the aim is to point a student at the layer and at the usual
remedy, not to diagnose subtle problems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.analysis.run_history import RunHistory
from app.training.events import Snapshot, layer_of

EXPLODING = 1e3  # gradient norm of one layer
VANISHING_ABS = 1e-7
VANISHING_REL = 1e-4  # of the largest layer gradient norm
DEAD_SHARE = 0.9  # share of a ReLU's units at exactly 0
SATURATED_SHARE = 0.7
RELU_LIKE = ("ReLU",)
OVERFIT_EPOCHS = 2  # validation loss up this many epochs in a row while training falls


@dataclass(frozen=True)
class HealthFlag:
    kind: str  # exploding | vanishing | dead_relu | saturated | overfitting
    node: str | None  # the layer at fault (node name); None: the network as a whole
    message: str
    remedy: str

    def text(self) -> str:
        return f"{self.message}. Try: {self.remedy}."


def check_health(run: RunHistory, node_types: dict[str, str],
                 output_nodes: list[str] | None = None) -> list[HealthFlag]:
    flags: list[HealthFlag] = []
    if run.snapshots:
        latest = run.snapshots[-1]
        flags += gradient_flags(latest)
        previous = run.snapshots[-2] if len(run.snapshots) > 1 else None
        flags += activation_flags(latest, previous, node_types)
    flags += overfitting_flags(run, output_nodes or [])
    return flags


def _layer_norms(snapshot: Snapshot) -> dict[str, float]:
    norms: dict[str, float] = {}
    for name, value in snapshot.grad_norms.items():
        layer = layer_of(name)
        norms[layer] = max(norms.get(layer, 0.0), value) if math.isfinite(value) \
            else math.inf
    return norms


def gradient_flags(snapshot: Snapshot) -> list[HealthFlag]:
    norms = _layer_norms(snapshot)
    if not norms:
        return []
    flags = []
    finite = [v for v in norms.values() if math.isfinite(v)]
    largest = max(finite) if finite else 0.0
    for layer, norm in norms.items():
        if not math.isfinite(norm) or norm > EXPLODING:
            flags.append(HealthFlag(
                "exploding", layer, f"gradients explode in {layer} (norm {norm:.3g})",
                "lower the learning rate, clip gradients (Regularisation > clip: norm) or "
                "add BatchNorm"))
        elif norm < VANISHING_ABS or (largest > 0 and norm < VANISHING_REL * largest):
            flags.append(HealthFlag(
                "vanishing", layer, f"gradients vanish in {layer} (norm {norm:.2g}, "
                f"largest layer {largest:.2g})",
                "use ReLU instead of Sigmoid/Tanh in the layers after it, add BatchNorm, "
                "use Kaiming or Xavier init, or add skip connections"))
    return flags


def _zero_share(a: np.ndarray) -> float:
    return float(np.mean(a == 0)) if a.size else 0.0


def _saturated_share(a: np.ndarray, kind: str) -> float:
    if not a.size:
        return 0.0
    if kind == "Sigmoid":
        return float(np.mean((a < 0.02) | (a > 0.98)))
    return float(np.mean(np.abs(a) > 0.98))


def activation_flags(latest: Snapshot, previous: Snapshot | None,
                     node_types: dict[str, str]) -> list[HealthFlag]:
    flags = []
    for layer, values in latest.activations.items():
        kind = node_types.get(layer, "")
        if kind in RELU_LIKE:
            share = _zero_share(values)
            before = previous.activations.get(layer) if previous else None
            # twice in a row: one unlucky sample is not a dead layer
            if share >= DEAD_SHARE and (before is None or _zero_share(before) >= DEAD_SHARE):
                flags.append(HealthFlag(
                    "dead_relu", layer, f"{share:.0%} of the units of {layer} output 0 "
                    f"(dead ReLUs)", "lower the learning rate, use LeakyReLU or ELU, Kaiming "
                    "init, or BatchNorm before it"))
        elif kind in ("Sigmoid", "Tanh"):
            share = _saturated_share(values, kind)
            if share >= SATURATED_SHARE:
                flags.append(HealthFlag(
                    "saturated", layer, f"{share:.0%} of the units of {layer} are saturated "
                    f"({kind} near its limits, so almost no gradient flows)",
                    "normalise the inputs, use a smaller init (Xavier), add BatchNorm, or "
                    "use ReLU"))
    return flags


def overfitting_flags(run: RunHistory, output_nodes: list[str]) -> list[HealthFlag]:
    val, train = run.val_loss, run.train_loss
    n = OVERFIT_EPOCHS
    if len(val) < n + 1 or any(not math.isfinite(v) for v in val[-n - 1:]):
        return []
    val_up = all(val[-i] > val[-i - 1] for i in range(1, n + 1))
    train_down = all(train[-i] < train[-i - 1] for i in range(1, n + 1))
    if not (val_up and train_down):
        return []
    node = output_nodes[0] if output_nodes else None
    return [HealthFlag(
        "overfitting", node, f"overfitting: validation loss rose for {n} epochs "
        f"({val[-n - 1]:.3g} -> {val[-1]:.3g}) while training loss fell",
        "add Dropout, weight decay (optimizer weight_decay), data augmentation, or "
        "enable early stopping")]


def flags_by_node(flags: list[HealthFlag]) -> dict[str, str]:
    """{node name: message} for the canvas; several flags on one layer are joined."""
    out: dict[str, str] = {}
    for flag in flags:
        if flag.node is not None:
            out[flag.node] = (out[flag.node] + "\n" if flag.node in out else "") + flag.text()
    return out
