"""How each family of losses wants its targets, checked once and adapted every batch.

`check` runs on the first batch (it may sync: it reads values) and raises TrainingError
with a message a student can act on. `adapt` runs on every batch, so it only reshapes
and casts: no .item(), no host/device sync. Adapters are named functions so the train
script can copy them (inspect.getsource).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from app.training.errors import TrainingError

REGRESSION_LOSSES = "MSE, L1, SmoothL1 or Huber"


@dataclass(frozen=True)
class TargetKind:
    name: str
    description: str
    check: Callable[[str, Tensor, Tensor], None]
    adapt: Callable[[Tensor, Tensor], tuple[Tensor, ...]]


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(["N", *map(str, t.shape[1:])]) + ")"


def _is_index(target: Tensor) -> bool:
    return not target.is_floating_point() and target.dtype != torch.bool


def _per_sample(t: Tensor) -> int:
    return t[0].numel() if t.shape[0] else 0


def _check_class_index(loss: str, output: Tensor, target: Tensor) -> None:
    if target.is_floating_point():
        raise TrainingError(f"{loss} needs class indices (int64) but the dataset gives float "
                            f"targets {_shape(target)}, as in regression; use "
                            f"{REGRESSION_LOSSES}")
    if output.dim() < 2:
        raise TrainingError(f"{loss} needs one score per class, shape (N, C), but the network "
                            f"outputs {_shape(output)}")
    want = (output.shape[0], *output.shape[2:])
    if tuple(target.shape) != want:
        raise TrainingError(f"{loss}: the network outputs {_shape(output)} so targets should "
                            f"be class indices of shape {_shape(output.new_empty(want))}, "
                            f"got {_shape(target)}")
    classes = output.shape[1]
    valid = target[target >= 0]  # negative values are ignore_index (-100 by default)
    if valid.numel() and int(valid.max()) >= classes:
        raise TrainingError(f"{loss}: the network outputs {classes} class scores but the "
                            f"targets go up to class {int(valid.max())}; give the last "
                            f"Linear layer {int(valid.max()) + 1} outputs or more")


def _check_like_output(loss: str, output: Tensor, target: Tensor, *,
                       binary_ok: bool = False, hint: str = "CrossEntropy") -> None:
    if _is_index(target) and not (binary_ok and _per_sample(output) == 1):
        classes = output.shape[-1] if output.dim() > 1 else 1
        if target.dim() == 1 and classes > 1:
            raise TrainingError(f"{loss} needs float targets shaped like the output "
                                f"{_shape(output)}, but the dataset gives class indices "
                                f"(int64) for {classes} classes; use {hint}")
    if _per_sample(target) != _per_sample(output):
        raise TrainingError(f"{loss} needs targets shaped like the output {_shape(output)}, "
                            f"got {_shape(target)}")


def _check_probability(loss: str, output: Tensor, target: Tensor) -> None:
    _check_like_output(loss, output, target, binary_ok=True,
                       hint="CrossEntropy (or one output per sample for binary labels)")
    if loss == "BCE" and (output.min() < 0 or output.max() > 1):
        raise TrainingError("BCE needs probabilities in [0, 1]: end the network with a "
                            "Sigmoid, or use BCEWithLogits on raw scores")
    if target.min() < 0 or target.max() > 1:
        raise TrainingError(f"{loss} needs targets in [0, 1] (labels 0/1 or probabilities)")


def _check_sign(loss: str, output: Tensor, target: Tensor) -> None:
    _check_like_output(loss, output, target, binary_ok=True, hint="CrossEntropy")
    _check_sign_values(loss, target)


def _check_sign_values(loss: str, target: Tensor) -> None:
    ok = (target == 1) | (target == -1) | (target == 0)
    if not bool(ok.all()):
        raise TrainingError(f"{loss} needs targets of 1 or -1 (0 is read as -1)")


def _check_pair(loss: str, output: Tensor, target: Tensor) -> None:
    if output.dim() < 2 or output.shape[1] != 2:
        raise TrainingError(f"{loss} compares two inputs: the network must output shape "
                            f"(N, 2, ...) holding both, got {_shape(output)}")
    if _per_sample(target) != 1:
        raise TrainingError(f"{loss} needs one target (1 or -1) per pair, got "
                            f"{_shape(target)}")
    _check_sign_values(loss, target)


def _check_multilabel_index(loss: str, output: Tensor, target: Tensor) -> None:
    if not _is_index(target) or target.shape != output.shape:
        raise TrainingError(f"{loss} needs int64 targets shaped like the output "
                            f"{_shape(output)}: the class indices of each sample, padded with "
                            f"-1; got {target.dtype} {_shape(target)}")


def _check_multi_hot(loss: str, output: Tensor, target: Tensor) -> None:
    if target.shape != output.shape:
        hint = "; use CrossEntropy for one class per sample" if target.dim() == 1 else ""
        raise TrainingError(f"{loss} needs 0/1 targets shaped like the output "
                            f"{_shape(output)}, got {_shape(target)}{hint}")


def _check_triplet(loss: str, output: Tensor, target: Tensor) -> None:
    if output.dim() < 3 or output.shape[1] != 3:
        raise TrainingError(f"{loss} needs the network to output (N, 3, D): anchor, "
                            f"positive and negative embeddings; got {_shape(output)}")


def _check_sequence(loss: str, output: Tensor, target: Tensor) -> None:
    if output.dim() != 3:
        raise TrainingError(f"{loss} needs per-step class scores (N, T, C), got "
                            f"{_shape(output)}")
    if not _is_index(target) or target.dim() != 2:
        raise TrainingError(f"{loss} needs int64 label sequences (N, S) padded with the "
                            f"blank index, got {target.dtype} {_shape(target)}")


def _like(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return output, target.reshape(output.shape).to(output.dtype)


def _signs(target: Tensor) -> Tensor:
    return torch.where(target == 0, -1, target)  # 0/1 labels become -1/1 without a sync


def _pair(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    x1, x2 = output[:, 0], output[:, 1]
    if x1.dim() == 1:  # MarginRanking: one score per input
        return x1, x2, _signs(target.reshape(-1)).to(output.dtype)
    return x1.flatten(1), x2.flatten(1), _signs(target.reshape(-1)).to(output.dtype)


def _as_is(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return output, target


def _sign_like(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return output, _signs(target).reshape(output.shape).to(output.dtype)


def _output_dtype(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return output, target.to(output.dtype)


def _triplet(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return output[:, 0], output[:, 1], output[:, 2]


def _sequence(output: Tensor, target: Tensor) -> tuple[Tensor, ...]:
    log_probs = output.log_softmax(-1).transpose(0, 1)  # CTC wants (T, N, C)
    steps, batch = log_probs.shape[:2]
    input_lengths = torch.full((batch,), steps, dtype=torch.long, device=output.device)
    target_lengths = (target != 0).sum(1)  # padding uses blank=0
    return log_probs, target, input_lengths, target_lengths


TARGET_KINDS: dict[str, TargetKind] = {k.name: k for k in (
    TargetKind("class_index", "one int64 class index per sample (or per position)",
               _check_class_index, _as_is),
    TargetKind("value", "float values shaped like the output (regression)",
               _check_like_output, _like),
    TargetKind("probability", "0/1 labels or probabilities shaped like the output",
               _check_probability, _like),
    TargetKind("distribution", "a probability distribution per sample, like the output",
               lambda n, o, t: _check_like_output(n, o, t), _like),
    TargetKind("sign", "1 or -1 per output value (0 is read as -1)",
               _check_sign, _sign_like),
    TargetKind("pair_sign", "1 or -1 per pair; the output holds both inputs as (N, 2, ...)",
               _check_pair, _pair),
    TargetKind("multilabel_index", "int64 class indices per sample padded with -1",
               _check_multilabel_index, _as_is),
    TargetKind("multi_hot", "0/1 per class, shaped like the output",
               _check_multi_hot, _output_dtype),
    TargetKind("triplet", "none: the output holds anchor, positive, negative (N, 3, D)",
               _check_triplet, _triplet),
    TargetKind("sequence", "int64 label sequences (N, S) padded with the blank index 0",
               _check_sequence, _sequence),
)}
