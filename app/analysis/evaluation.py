"""Per-epoch extras the trainer does not compute: misclassified samples, decision boundary.

Qt-free; the worker calls `evaluate_epoch` from the training thread right after an
EpochEnd, between epochs, so the model is not being updated meanwhile. Eval mode and
no_grad: no dropout draw and no batch-norm update, so the run is unchanged by it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from app.analysis.run_history import BoundaryGrid, Evaluation, Misclassified
from app.data.preview import image_to_display

MAX_CHECKED = 1000  # validation samples scanned for mistakes each epoch
MAX_KEPT = 32  # mistakes kept for the gallery
GRID = 90  # decision-boundary resolution per axis


def is_point_data(bundle: Any) -> bool:
    """2-D synthetic sets (moons, circles, spirals, blobs): a boundary can be drawn."""
    return tuple(bundle.input_shape) == (2,) and bundle.task == "classification"


def is_image_data(bundle: Any) -> bool:
    return len(bundle.input_shape) >= 3


def evaluate_epoch(model: nn.Module, bundle: Any, device: torch.device, epoch: int
                   ) -> Evaluation:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            result = Evaluation(epoch)
            if bundle.task == "classification" and bundle.val is not None:
                result.misclassified, result.checked = _mistakes(model, bundle, device)
            if is_point_data(bundle):
                result.boundary = _boundary(model, bundle, device)
            return result
    finally:
        model.train(was_training)


def probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(N, classes) probabilities; a single output unit is read as P(class 1)."""
    out = model(x)
    logits = (out[0] if isinstance(out, tuple) else out).float().reshape(len(x), -1)
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def _mistakes(model: nn.Module, bundle: Any, device: torch.device
              ) -> tuple[list[Misclassified], int]:
    data = bundle.val
    count = min(len(data), MAX_CHECKED)
    loader = DataLoader(Subset(data, range(count)), batch_size=256)
    kept: list[Misclassified] = []
    start = 0
    for x, y in loader:
        probs = probabilities(model, x.to(device)).cpu()
        conf, pred = probs.max(dim=1)
        for i in (pred != y).nonzero().flatten().tolist():
            if len(kept) < MAX_KEPT:
                kept.append(_mistake(bundle, x[i], start + i, int(y[i]), int(pred[i]),
                                     float(conf[i])))
        start += len(y)
    return kept, count


def _mistake(bundle: Any, x: torch.Tensor, index: int, true: int, pred: int, conf: float
             ) -> Misclassified:
    if is_image_data(bundle):
        return Misclassified(index, true, pred, conf, image_to_display(x))
    return Misclassified(index, true, pred, conf, None, x.float().numpy().reshape(-1))


def _all_points(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    loader = DataLoader(dataset, batch_size=len(dataset))
    return next(iter(loader))


def _boundary(model: nn.Module, bundle: Any, device: torch.device) -> BoundaryGrid:
    points, labels = _all_points(bundle.val if bundle.val is not None else bundle.train)
    lo = points.min(dim=0).values.numpy()
    hi = points.max(dim=0).values.numpy()
    pad = 0.1 * (hi - lo) + 1e-3
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID, dtype=np.float32)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    grid = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1)).to(device)
    probs = probabilities(model, grid).cpu()
    conf, cls = probs.max(dim=1)
    return BoundaryGrid(xs, ys, cls.numpy().reshape(GRID, GRID),
                        conf.numpy().reshape(GRID, GRID), points.numpy(), labels.numpy())
