"""A training pipeline applied to a whole batch at once, each sample drawing its own
random parameters.

Per sample, a v2 transform call costs tens of microseconds of Python (input flattening,
parameter draw, a one-image ``grid_sample``): more than training the digits CNN on that
sample. When every enabled step of a pipeline has a batched form here and the images are
float tensors of one size, the dataset gathers a batch and runs the steps once on it
(``BatchTransformedDataset``): RandomRotation builds one affine grid per sample and
samples them all in one ``grid_sample`` call, exactly as
``torchvision.transforms.v2.functional.rotate`` does for each image; Normalize is the
same v2 transform (it takes batches). Any other step keeps the per-sample pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from app.data.augment import FLOAT, STEPS, build_pipeline, build_step, normalize_steps

BatchTransform = Callable[[Tensor], Tensor]


def _range(degrees: float | list[float]) -> tuple[float, float]:
    return (-float(degrees), float(degrees)) if isinstance(degrees, int | float) \
        else (float(degrees[0]), float(degrees[1]))


def rotation_grid(angles: Tensor, height: int, width: int,
                  center: list[float] | None = None) -> Tensor:
    """Sampling grids (N, H, W, 2) that rotate each image by its angle (degrees,
    counter-clockwise) about `center` ([x, y] pixels; None: the image centre), built as
    torchvision's rotate builds its one grid: the inverse rotation matrix in float64,
    then base grid @ theta in the image's float type."""
    cx, cy = (0.0, 0.0) if center is None else (center[0] - width * 0.5,
                                                center[1] - height * 0.5)
    rad = torch.deg2rad(-(angles.double() % 360))  # rotate() inverts the angle, then maps it
    cos, sin = torch.cos(rad), torch.sin(rad)
    theta = torch.stack([cos, sin, cos * -cx + sin * -cy + cx,
                         -sin, cos, -sin * -cx + cos * -cy + cy], 1)
    theta = theta.to(torch.float32).view(-1, 2, 3)
    base = torch.empty(1, height, width, 3)
    base[..., 0].copy_(torch.linspace((1.0 - width) * 0.5, (width - 1.0) * 0.5, width))
    base[..., 1].copy_(torch.linspace((1.0 - height) * 0.5, (height - 1.0) * 0.5,
                                      height).unsqueeze_(-1))
    base[..., 2].fill_(1)
    scaled = theta.transpose(1, 2).div_(torch.tensor([0.5 * width, 0.5 * height]))
    grid = base.view(1, height * width, 3).expand(len(angles), -1, -1).bmm(scaled)
    return grid.view(-1, height, width, 2)


def sample_grid(images: Tensor, grid: Tensor, mode: str, fill: float | list[float] | None
                ) -> Tensor:
    """torchvision's grid transform: pixels from outside the image take `fill`, through
    a mask channel sampled with the image (so bilinear edges blend as they do there)."""
    if fill is not None:
        images = torch.cat([images, images.new_ones(len(images), 1, *images.shape[-2:])], 1)
    out = F.grid_sample(images, grid.to(images.dtype), mode=mode, padding_mode="zeros",
                        align_corners=False)
    if fill is None:
        return out
    out, mask = torch.tensor_split(out, (-1,), dim=-3)
    mask = mask.expand_as(out)
    values = torch.tensor(fill if isinstance(fill, list | tuple) else [float(fill)],
                          dtype=out.dtype, device=out.device).view(1, -1, 1, 1)
    if mode == "nearest":
        return torch.where(mask < 0.5, values.expand_as(out), out)
    return out.sub_(values).mul_(mask).add_(values)


class BatchRandomRotation:
    """v2.RandomRotation (expand off) for a batch: one angle per sample, drawn from the
    global generator as v2 draws its per-call angle."""

    def __init__(self, degrees: float | list[float], interpolation: str,
                 center: list[float] | None, fill: float | list[float] | None) -> None:
        self.low, self.high = _range(degrees)
        self.mode = interpolation
        self.center = center
        self.fill = fill

    def __call__(self, images: Tensor) -> Tensor:
        angles = torch.empty(len(images)).uniform_(self.low, self.high)
        grid = rotation_grid(angles, *images.shape[-2:], center=self.center)
        return sample_grid(images, grid.to(images.device), self.mode, self.fill)


class BatchRandomFlip:
    """RandomHorizontalFlip / RandomVerticalFlip with a coin per sample."""

    def __init__(self, p: float, dim: int) -> None:
        self.p = p
        self.dim = dim

    def __call__(self, images: Tensor) -> Tensor:
        flip = torch.rand(len(images)) < self.p
        return torch.where(flip.view(-1, 1, 1, 1).to(images.device), images.flip(self.dim),
                           images)


def _rotation(p: dict, stats: Any) -> BatchTransform | None:
    if p["expand"] or p["interpolation"] not in ("nearest", "bilinear"):
        return None  # sizes differ per sample / torch's tensor rotate refuses bicubic
    return BatchRandomRotation(p["degrees"], p["interpolation"], p["center"], p["fill"])


def _normalize(p: dict, stats: Any) -> BatchTransform:
    return build_step(STEPS["Normalize"], p, "Normalize", stats)  # v2 normalises batches


BATCHED: dict[str, Callable[[dict, Any], BatchTransform | None]] = {
    "RandomRotation": _rotation,
    "Normalize": _normalize,
    "RandomHorizontalFlip": lambda p, stats: BatchRandomFlip(p["p"], -1),
    "RandomVerticalFlip": lambda p, stats: BatchRandomFlip(p["p"], -2),
}


class BatchPipeline:
    def __init__(self, steps: list[BatchTransform]) -> None:
        self.steps = steps

    def __call__(self, images: Tensor) -> Tensor:
        for step in self.steps:
            images = step(images)
        return images


def build_batch_pipeline(steps: list[dict] | None, *, input_kind: str,
                         stats: tuple[list[float], list[float]] | None = None
                         ) -> BatchPipeline | None:
    """The pipeline for (N, C, H, W) float batches, or None when a step has no batched
    form (or the images are not float tensors): then build_pipeline's per-sample one runs.
    Validation (and its errors) is build_pipeline's."""
    build_pipeline(steps, input_kind=input_kind, stats=stats)
    if input_kind != FLOAT:
        return None
    batched = []
    for step in normalize_steps(steps or []):
        if not step.pop("enabled"):
            continue
        make = BATCHED.get(step.pop("type"))
        transform = make(step, stats) if make is not None else None
        if transform is None:
            return None
        batched.append(transform)
    return BatchPipeline(batched)
