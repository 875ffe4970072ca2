"""Train/validation/test splits and DataLoader settings."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from app.data.errors import DataSourceError
from app.data.splits import SplitConfig


@dataclass
class LoaderConfig:
    """DataLoader settings shown in the GUI."""

    batch_size: int = 64
    shuffle: bool = True
    drop_last: bool = False
    num_workers: int = 0
    pin_memory: bool = False


def iterations_per_epoch(n_samples: int, batch_size: int, drop_last: bool) -> int:
    """Batches per epoch: 87 samples, batch 8 -> 11 (10 with ``drop_last``)."""
    if batch_size < 1 or n_samples < 0:
        raise DataSourceError(f"loader: batch_size must be >= 1 and samples >= 0, got "
                              f"{batch_size} and {n_samples}")
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)


def describe_iterations(n_samples: int, cfg: LoaderConfig) -> str:
    """One line for the GUI, e.g. '87 samples, batch 8: 11 iterations per epoch (last has 7)'."""
    iters = iterations_per_epoch(n_samples, cfg.batch_size, cfg.drop_last)
    rest = n_samples % cfg.batch_size
    text = f"{n_samples} samples, batch {cfg.batch_size}: {iters} iterations per epoch"
    if rest and cfg.drop_last:
        return f"{text} ({rest} samples dropped)"
    return f"{text} (last has {rest})" if rest else text


def make_loader(dataset: Dataset, cfg: LoaderConfig, *, train: bool, seed: int = 0) -> DataLoader:
    """DataLoader for ``dataset``; shuffling and drop_last apply to training only.

    Evaluation must see every sample once in a fixed order, so ``train=False``
    ignores ``shuffle`` and ``drop_last``. The shuffle order follows ``seed``.
    """
    iterations_per_epoch(len(dataset), cfg.batch_size, cfg.drop_last)
    if cfg.num_workers < 0:
        raise DataSourceError(f"loader: num_workers must be >= 0, got {cfg.num_workers}")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=train and cfg.shuffle,
                      drop_last=train and cfg.drop_last, num_workers=cfg.num_workers,
                      pin_memory=cfg.pin_memory, generator=generator)


def split_indices(n: int, split: SplitConfig, *, has_test: bool) -> tuple[list, list, list]:
    """Shuffled (train, val, test) index lists; test is empty when ``has_test``."""
    test_fraction = 0.0 if has_test else split.test_fraction
    for name, value in (("val_fraction", split.val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataSourceError(f"split: {name} must lie in [0, 1), got {value}")
    n_val, n_test = round(n * split.val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise DataSourceError(f"split: no training samples left ({n} samples, "
                              f"val {split.val_fraction}, test {test_fraction})")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(split.seed)).tolist()
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]
