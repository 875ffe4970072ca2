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
FAR_ABOVE = 5.0  # loss this many times its start (or chance-level loss): the rate is too high
RISING_EPOCHS = 2  # training loss up this many epochs in a row ...
RISING_FACTOR = 1.1  # ... and by this factor in all
DEAD_LAYER_SHARE = 0.5  # share of weighted layers with gradient norm exactly 0
PLATEAU_EPOCHS = 3  # epochs at chance with a flat loss before the coach speaks
PLATEAU_CHANGE = 0.05  # relative change of the training loss over those epochs
CHANCE_MARGIN = 1.5  # accuracy up to this many times chance counts as chance
SQUASHING = ("Sigmoid", "Tanh")
# What a too-high learning rate causes downstream; its own flag says what to change.
LR_SYMPTOMS = ("vanishing", "dead_relu", "saturated")


@dataclass(frozen=True)
class HealthFlag:
    kind: str  # lr_too_high | plateau | exploding | vanishing | dead_relu | saturated | overfitting
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
    rate = learning_rate_flags(run)
    if rate:
        # Dead, vanishing or saturated layers after a blow-up are not an architecture
        # problem: "use ReLU/BatchNorm/Kaiming" would send the student the wrong way.
        return rate + [f for f in flags if f.kind not in LR_SYMPTOMS]
    flags += plateau_flags(run, node_types)
    flags += overfitting_flags(run, output_nodes or [])
    return flags


def _num_classes(run: RunHistory) -> int | None:
    if run.class_names:
        return len(run.class_names)
    last = run.last_epoch
    if last is not None and last.per_class_accuracy is not None:
        return len(last.per_class_accuracy)
    return None


def _rate_text(run: RunHistory) -> str:
    rates = run.epoch_lr or run.lrs
    if not rates or not math.isfinite(rates[-1]) or rates[-1] <= 0:
        return "lower the learning rate (÷10)"
    return f"lower the learning rate (now {rates[-1]:g}; try {rates[-1] / 10:g})"


def _start_loss(run: RunHistory) -> float | None:
    """The loss a fresh network starts at: chance level (ln C) for classes, else the first
    finite recorded loss."""
    classes = _num_classes(run)
    if classes and classes > 1:
        return math.log(classes)
    first = [v for v in (run.batch_loss[:1] + run.train_loss[:1]) if math.isfinite(v)]
    return first[0] if first else None


def learning_rate_flags(run: RunHistory) -> list[HealthFlag]:
    """The loss says the learning rate is too high: NaN, far above its start, rising, or
    the gradients died after a blow-up."""
    # Validation loss is left out: an overfitting model's can climb high on its own.
    losses = run.batch_loss + run.train_loss
    remedy = _rate_text(run)
    if any(math.isnan(v) or math.isinf(v) for v in losses) or (
            run.status == "failed" and "loss became" in run.message):
        return [HealthFlag("lr_too_high", None, "the loss became NaN or infinite: the "
                           "weights overflowed", remedy + ", or clip gradients "
                           "(Regularisation > clip: norm)")]
    start = _start_loss(run)
    finite = [v for v in losses if math.isfinite(v)]
    if start is not None and start > 0 and finite and max(finite) > FAR_ABOVE * start:
        return [HealthFlag("lr_too_high", None, f"the loss reached {max(finite):.3g}, far "
                           f"above its start ({start:.3g}): the steps overshoot", remedy)]
    train, n = run.train_loss, RISING_EPOCHS
    if len(train) > n and all(train[-i] > train[-i - 1] for i in range(1, n + 1)) and \
            train[-1] > RISING_FACTOR * train[-n - 1]:
        return [HealthFlag("lr_too_high", None, f"the training loss rose for {n} epochs "
                           f"({train[-n - 1]:.3g} -> {train[-1]:.3g})", remedy)]
    dead = _dead_layers(run)
    if dead:
        return [HealthFlag("lr_too_high", None, f"the gradients are exactly 0 in "
                           f"{', '.join(dead)} and the accuracy is at chance: a too-high "
                           f"learning rate has killed the network", remedy)]
    return []


def _dead_layers(run: RunHistory) -> list[str]:
    if not run.snapshots or not _at_chance(run, 1):
        return []
    norms = _layer_norms(run.snapshots[-1])
    dead = [layer for layer, norm in norms.items() if norm == 0.0]
    return dead if norms and len(dead) >= DEAD_LAYER_SHARE * len(norms) else []


def _at_chance(run: RunHistory, epochs: int) -> bool:
    classes = _num_classes(run)
    accuracy = run.val_acc if run.val_acc and math.isfinite(run.val_acc[-1]) else run.train_acc
    if not classes or len(accuracy) < epochs:
        return False
    recent = accuracy[-epochs:]
    return all(math.isfinite(a) and a <= CHANCE_MARGIN / classes for a in recent)


def plateau_flags(run: RunHistory, node_types: dict[str, str]) -> list[HealthFlag]:
    """Accuracy at chance and a flat loss for several epochs."""
    n, train = PLATEAU_EPOCHS, run.train_loss[-PLATEAU_EPOCHS:]
    if len(train) < n or not _at_chance(run, n) or not all(math.isfinite(v) for v in train):
        return []
    if max(train) - min(train) > PLATEAU_CHANGE * max(abs(train[0]), 1e-12):
        return []
    accuracy = run.val_acc if math.isfinite(run.val_acc[-1]) else run.train_acc
    message = (f"the accuracy is still at chance ({accuracy[-1]:.1%}, chance "
               f"{1 / _num_classes(run):.1%}) and the loss is flat after {len(run.epochs)} "
               f"epochs")
    squashing = sorted({t for t in node_types.values() if t in SQUASHING})
    if squashing:
        return [HealthFlag("plateau", None, message, f"networks with {'/'.join(squashing)} "
                           "like LeNet-5 need ~4 epochs to leave chance; train longer, or "
                           "try ReLU or Adam")]
    return [HealthFlag("plateau", None, message, "raise the learning rate a little or use "
                       "Adam, normalise the inputs, and check that the labels match the data")]


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
