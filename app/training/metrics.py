"""Epoch metrics accumulated on the device: nothing is read back until the epoch ends."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor


class LossMeter:
    """Sum of per-batch losses times batch sizes, kept as a device tensor (no sync)."""

    def __init__(self) -> None:
        self.total: Tensor | None = None
        self.count = 0

    def add(self, loss: Tensor, n: int) -> None:
        value = loss.detach() * n
        self.total = value if self.total is None else self.total + value
        self.count += n

    def mean(self) -> float:
        return float(self.total) / self.count if self.count and self.total is not None \
            else math.nan


class ClassificationMeter:
    """Confusion matrix and top-k hits for outputs (N, C) and class-index targets (N,)."""

    def __init__(self, classes: int, top_k: list[int], device: torch.device) -> None:
        self.classes = classes
        self.top_k = [k for k in top_k if 1 < k < classes]
        self.confusion = torch.zeros(classes * classes, dtype=torch.long, device=device)
        self.hits = torch.zeros(len(self.top_k), dtype=torch.long, device=device)

    def add(self, output: Tensor, target: Tensor) -> None:
        output = output.detach()
        pred = output.argmax(1)
        keep = (target >= 0) & (target < self.classes)  # ignore_index targets
        index = target[keep] * self.classes + pred[keep]
        self.confusion += torch.bincount(index, minlength=self.classes ** 2)
        if self.top_k:
            best = output.topk(max(self.top_k), dim=1).indices
            found = best == target.unsqueeze(1)
            self.hits += torch.stack([found[:, :k].any(1).sum() for k in self.top_k])

    def result(self) -> dict[str, Any]:
        matrix = self.confusion.view(self.classes, self.classes).cpu().numpy()
        total = matrix.sum()
        per_class = matrix.diagonal() / np.where(matrix.sum(1) == 0, np.nan, matrix.sum(1))
        hits = self.hits.cpu().tolist()
        return {"accuracy": float(matrix.trace() / total) if total else math.nan,
                "per_class_accuracy": [float(v) for v in per_class],
                "confusion": matrix,
                "top_k": {k: h / total for k, h in zip(self.top_k, hits)} if total else {}}


class AccuracyMeter:
    """Training-set accuracy only: three small ops per batch keep the hot loop cheap."""

    def __init__(self, device: torch.device) -> None:
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        self.count = 0

    def add(self, output: Tensor, target: Tensor) -> None:
        self.correct += (output.detach().argmax(1) == target).sum()
        self.count += len(target)

    def result(self) -> dict[str, Any]:
        return {"accuracy": int(self.correct) / self.count} if self.count else {}


class RegressionMeter:
    """Squared error and squared log error (d2l's log-RMSE, predictions clamped at 1)."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(2, dtype=torch.float64, device=device)
        self.count = 0

    def add(self, output: Tensor, target: Tensor) -> None:
        pred = output.detach().reshape(target.shape).double()
        target = target.double()
        log_err = torch.log(pred.clamp(min=1)) - torch.log(target.clamp(min=1))
        self.sums += torch.stack([((pred - target) ** 2).sum(), (log_err ** 2).sum()])
        self.count += target.numel()

    def result(self) -> dict[str, Any]:
        if not self.count:
            return {}
        mse, msle = (self.sums / self.count).tolist()
        return {"mse": mse, "rmse": math.sqrt(mse), "log_rmse": math.sqrt(msle)}


@dataclass
class MetricKind:
    """Which meter suits a (task, output, target) combination."""

    name: str  # "classification" | "regression" | "none"
    threshold: float | None = None  # one output per sample: class 1 above this value

    def scores(self, output: Tensor) -> Tensor:
        """Per-class scores: a single binary output becomes two columns whose argmax is
        the thresholded prediction, so accuracy and the confusion matrix work unchanged."""
        if self.threshold is None:
            return output
        margin = output.detach().reshape(len(output), 1) - self.threshold
        return torch.cat([-margin, margin], dim=1)

    def labels(self, target: Tensor) -> Tensor:
        """Class indices; binary targets may come as floats shaped like the output."""
        return target if self.threshold is None else target.reshape(-1).long()

    def meter(self, output: Tensor, top_k: list[int], device: torch.device
              ) -> ClassificationMeter | RegressionMeter | None:
        """The full set of metrics, for validation and test."""
        if self.name == "classification":
            return ClassificationMeter(self.scores(output).shape[1], top_k, device)
        if self.name == "regression":
            return RegressionMeter(device)
        return None

    def train_meter(self, device: torch.device) -> AccuracyMeter | None:
        """During training only accuracy: the loss already measures regression error."""
        return AccuracyMeter(device) if self.name == "classification" else None


# Where a single output means "class 1": probabilities (after a Sigmoid) or raw logits.
BINARY_THRESHOLDS = {"BCE": 0.5, "BCEWithLogits": 0.0}


def metric_kind(output: Tensor, target: Tensor, loss: str = "") -> MetricKind:
    binary = output.dim() == 2 and output.shape[1] == 1 and loss in BINARY_THRESHOLDS
    if binary and target.numel() == len(target):  # 0/1 labels, as indices or floats
        return MetricKind("classification", BINARY_THRESHOLDS[loss])
    if output.dim() == 2 and target.dim() == 1 and not target.is_floating_point():
        return MetricKind("classification")
    if target.is_floating_point() and output.numel() == target.numel():
        return MetricKind("regression")
    return MetricKind("none")
