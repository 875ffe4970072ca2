"""Plain data shared by the source modules: the registry entry and a loader's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.lazy import lazy_module
from app.core.params import Param
from app.core.pysource import Snippet

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset, TensorDataset

torch_data = lazy_module("torch.utils.data")

# (message, done, total): bytes while downloading; total is 0 when unknown.
Progress = Callable[[str, int, int], None]


@dataclass
class RawData:
    """What a loader returns, before splitting and transforms.

    ``pool`` is split into train/validation(/test); ``test`` is an official
    test split kept as is. ``image_kind`` is ``"pil"`` or ``"float"`` for image
    sources (augmentation allowed) and ``None`` otherwise. ``feature_names``
    name the columns of tabular inputs.
    """

    pool: Dataset
    task: str
    class_names: list[str] | None = None
    test: Dataset | None = None
    image_kind: str | None = None
    input_dtype: str = "float32"
    feature_names: list[str] | None = None


@dataclass(frozen=True)
class SourceCode:
    """A loader as train-script source: ``lines`` define tensors ``x`` and ``y``, or, for
    ``image_kind`` "pil", the torchvision datasets ``pool`` and ``test``; ``task`` and
    ``image_kind`` are those of the loader's RawData."""

    lines: Snippet
    task: str
    image_kind: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """A registry entry: ``loader(params, progress)`` gets params already validated;
    ``code(params)`` writes the same loading as script source (None: not supported)."""

    id: str
    title: str
    help: str
    category: str
    params: list[Param]
    loader: Callable[[dict, Progress | None], RawData] = field(repr=False)
    code: Callable[[dict], SourceCode] | None = field(default=None, repr=False)


def tensor_data(x: torch.Tensor, y: torch.Tensor, task: str) -> TensorDataset:
    """In-memory dataset with the target dtype/shape of ``task``."""
    if task == "classification":
        return torch_data.TensorDataset(x.float() if x.is_floating_point() else x, y.long())
    return torch_data.TensorDataset(x.float(), y.float().reshape(-1, 1))


def seed_param(default: int = 0) -> Param:
    return Param("seed", "int", default, "random seed of the generator", 0, 2**31 - 1)


def samples_param(default: int) -> Param:
    return Param("n_samples", "int", default, "number of samples", 4, 1_000_000)
