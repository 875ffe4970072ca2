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


class BatchTransformedDataset(TransformedDataset):
    """A TransformedDataset whose ``transform`` takes a batch (N, C, H, W) of equally
    sized images (app.data.batch_augment). DataLoader fetches a batch's indices with one
    ``__getitems__`` call, so the transform runs once per batch; a single item is a batch
    of one, with the same random draws per sample."""

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        items = [self.base[self.indices[i]] for i in indices]
        xs = torch.stack([x for x, _ in items])
        if self.transform is not None:
            xs = self.transform(xs)
        # targets as TransformedDataset gives them (its source is copied into train scripts)
        ys = [torch.as_tensor(y, dtype=self.target_dtype) for _, y in items]
        if self.target_dtype.is_floating_point:
            ys = [y.reshape(1) for y in ys]
        return list(zip(xs, ys))
