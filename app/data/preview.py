"""Display-ready samples of a dataset after its pipeline, reproducible with a seed.

Images come back as ``H x W x C`` float arrays in [0, 1] (stacked crops side
by side); tabular rows, 2-D points and sequences as 1-D/2-D arrays. Nothing
here draws: the GUI turns the arrays into pictures or scatter plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from app.data.sources import DatasetBundle

SPLITS = ("train", "val", "test")


@dataclass
class PreviewItem:
    """One sample: ``data`` as described in the module docstring, its label and name."""

    data: np.ndarray
    label: int | float
    label_name: str | None
    index: int


@dataclass
class Preview:
    """``kind`` is "image", "row", "point" or "sequence"; items in the sampled order."""

    kind: str
    items: list[PreviewItem]
    class_names: list[str] | None
    feature_names: list[str] | None


def _kind(bundle: DatasetBundle) -> str:
    shape = bundle.input_shape
    if len(shape) >= 3:
        return "image"
    if len(shape) == 2 or bundle.input_dtype == "int64":
        return "sequence"
    return "point" if shape == (2,) else "row"


def image_to_display(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) or (n_crops, C, H, W) tensor -> H x W x C float array in [0, 1].

    uint8 is scaled by 1/255; float images outside [0, 1] (after Normalize) are
    min-max rescaled per sample so they stay visible. Crops are laid side by side.
    """
    x = x.detach().cpu()
    x = x.float() / 255.0 if not x.is_floating_point() else x.float()
    if x.ndim == 4:
        x = torch.cat(list(x), dim=-1)
    low, high = x.min(), x.max()
    if low < 0 or high > 1:
        x = (x - low) / (high - low) if high > low else torch.zeros_like(x)
    return x.permute(1, 2, 0).numpy()


def _label(y: torch.Tensor, names: list[str] | None) -> tuple[int | float, str | None]:
    if names is not None:
        return int(y), names[int(y)]
    return float(y.reshape(-1)[0]), None


def preview(bundle: DatasetBundle, n: int = 16, *, seed: int = 0,
            split: str = "train") -> Preview:
    """``n`` random samples of ``split`` after its pipeline; the same seed gives the same output.

    Random augmentations are drawn from a forked torch generator, so calling
    this does not disturb the global random state of a training run.
    """
    if split not in SPLITS:
        raise ValueError(f"preview: split must be one of {SPLITS}, got {split!r}")
    dataset: Dataset | None = getattr(bundle, split)
    if dataset is None:
        raise ValueError(f"preview: this dataset has no {split} split")
    kind = _kind(bundle)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        order = torch.randperm(len(dataset))[: max(0, n)].tolist()
        items = [_item(dataset, i, kind, bundle.class_names) for i in order]
    return Preview(kind, items, bundle.class_names, bundle.feature_names)


def _item(dataset: Dataset, index: int, kind: str, names: list[str] | None) -> PreviewItem:
    x, y = dataset[index]
    data = image_to_display(x) if kind == "image" else x.detach().cpu().numpy()
    label, name = _label(y, names)
    return PreviewItem(data, label, name, index)
