"""Per-channel statistics of an image dataset (for Normalize's 'dataset' preset)."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


def compute_mean_std(dataset: Dataset, *, limit: int | None = None) -> tuple[list[float], list[float]]:
    """Mean and (population) std per channel over all pixels of the first ``limit`` items.

    Items are ``(x, y)`` with ``x`` a float tensor ``(C, H, W)``; sums run in
    float64 so 60 000 MNIST images do not lose precision. This is how the
    MNIST figures 0.1307 / 0.3081 are obtained.
    """
    count = len(dataset) if limit is None else min(limit, len(dataset))
    if count == 0:
        raise ValueError("cannot compute statistics of an empty dataset")
    total = total_sq = None
    pixels = 0
    for index in range(count):
        x = dataset[index][0].to(torch.float64)
        flat = x.reshape(x.shape[-3], -1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        total_sq = (flat**2).sum(1) if total_sq is None else total_sq + (flat**2).sum(1)
        pixels += flat.shape[1]
    mean = total / pixels
    std = (total_sq / pixels - mean**2).clamp_min(0).sqrt()
    return mean.tolist(), std.tolist()
