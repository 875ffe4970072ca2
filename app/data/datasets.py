"""Small Dataset wrappers: a transform on the input, targets as tensors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset


class TransformedDataset(Dataset):
    """Items of ``base`` at ``indices``, with ``transform`` on x and y made a tensor.

    ``target_dtype`` int64 gives a class index of shape (); float32 gives shape (1,).
    Indices let train and validation share one base dataset with different pipelines.
    """

    def __init__(self, base: Dataset, indices: Sequence[int] | None,
                 transform: Callable[[Any], torch.Tensor] | None,
                 target_dtype: torch.dtype = torch.int64) -> None:
        self.base = base
        self.indices = list(range(len(base))) if indices is None else list(indices)
        self.transform = transform
        self.target_dtype = target_dtype

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base[self.indices[index]]
        if self.transform is not None:
            x = self.transform(x)
        y = torch.as_tensor(y, dtype=self.target_dtype)
        if self.target_dtype.is_floating_point:
            y = y.reshape(1)
        return x, y
