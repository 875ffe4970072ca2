"""Dataset sources: a registry of offline sets, synthetic generators and file formats.

``load_source(id, params, train_transforms=..., eval_transforms=..., split=...)``
returns a ``DatasetBundle`` whose datasets yield ``(x, y)`` tensors: features
float32 (int64 token ids for sequence sources), classification targets int64
class indices of shape (), regression targets float32 of shape (1,).
Small offline sets stay in memory as ``TensorDataset``; image files go through
the compiled augmentation pipeline (training and evaluation pipelines are
separate; validation and test use the evaluation one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, TensorDataset

from app.data.augment import build_pipeline, needs_dataset_stats
from app.data.batch_augment import build_batch_pipeline
from app.data.datasets import BatchTransformedDataset, TransformedDataset
from app.data.errors import DataSourceError, checked_params
from app.data.loading import (
    LoaderConfig,
    SplitConfig,
    describe_iterations,
    iterations_per_epoch,
    make_loader,
    split_indices,
)
from app.data.registry import SOURCES, source_ids
from app.data.source_spec import Progress, RawData, SourceSpec
from app.data.stats import compute_mean_std

__all__ = ["SOURCES", "DataSourceError", "DatasetBundle", "LoaderConfig", "SourceSpec",
           "SplitConfig", "describe_iterations", "iterations_per_epoch", "load_source",
           "make_loader", "source_ids"]

# Enough images for mean/std to three decimals without reading all of MNIST.
STATS_LIMIT = 10_000


@dataclass
class DatasetBundle:
    """The datasets of one source plus what a network needs to know about them.

    ``train``/``val``/``test`` yield ``(x, y)`` tensors after transforms; ``val``
    and ``test`` are None when empty. ``input_shape`` is one sample's shape
    without the batch dimension, measured on the training pipeline's output
    (an evaluation FiveCrop/TenCrop adds a leading crops dimension there).
    ``task`` is "classification" or "regression"; ``num_classes`` and
    ``class_names`` are None for regression. ``input_dtype`` is "int64" for
    token sequences; ``target_shape`` is () for class indices and (1,) for
    regression. ``feature_names`` names the columns of tabular and 2-D inputs.
    """

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    task: str
    input_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str] | None
    input_dtype: str = "float32"
    target_shape: tuple[int, ...] = ()
    feature_names: list[str] | None = None


def load_source(
    source_id: str, params: dict | None = None, *,
    train_transforms: list[dict] | None = None, eval_transforms: list[dict] | None = None,
    split: SplitConfig | None = None, progress: Progress | None = None,
) -> DatasetBundle:
    """Load a registered source, split it and attach the augmentation pipelines.

    ``params`` override the source's defaults (unknown names are refused).
    Transforms apply to image sources only. Sources with an official test set
    keep it; otherwise ``split.test_fraction`` carves one out. ``progress``
    receives (file, bytes done, bytes total) while downloading. Every problem
    raises ``DataSourceError`` with a one-line message.
    """
    spec = SOURCES.get(source_id)
    if spec is None:
        raise DataSourceError(f"unknown data source '{source_id}'; known: {source_ids()}")
    values = checked_params(spec.params, params, f"source '{source_id}'", DataSourceError)
    raw = spec.loader(values, progress)
    split = split or SplitConfig()
    indices = split_indices(len(raw.pool), split, has_test=raw.test is not None)
    if raw.image_kind is None and (train_transforms or eval_transforms):
        raise DataSourceError(f"source '{source_id}': augmentation applies to image sources "
                              f"only; this one gives {raw.task} features")
    if raw.image_kind is None or (raw.image_kind == "float" and not train_transforms
                                  and not eval_transforms):
        parts = _tensor_parts(raw, indices)
    else:
        parts = _image_parts(raw, indices, train_transforms, eval_transforms)
    return _bundle(source_id, raw, parts)


def _subset(data: TensorDataset, idx: Sequence[int]) -> TensorDataset | None:
    if not idx:
        return None
    index = torch.as_tensor(idx, dtype=torch.long)
    return TensorDataset(*(t[index] for t in data.tensors))


def _tensor_parts(raw: RawData, indices: tuple) -> tuple:
    train, val, test = (_subset(raw.pool, idx) for idx in indices)
    if raw.test is not None:
        test = _subset(raw.test, range(len(raw.test)))
    return train, val, test


def _image_parts(raw: RawData, indices: tuple, train_steps: list | None,
                 eval_steps: list | None) -> tuple:
    train_idx, val_idx, test_idx = indices
    stats = None
    if needs_dataset_stats(train_steps) or needs_dataset_stats(eval_steps):
        plain = TransformedDataset(raw.pool, train_idx, build_pipeline([], input_kind=raw.image_kind))
        stats = compute_mean_std(plain, limit=STATS_LIMIT)
    train_tf, eval_tf = (_dataset_for(steps, raw.image_kind, stats)
                         for steps in (train_steps, eval_steps))
    train = train_tf(raw.pool, train_idx)
    val = eval_tf(raw.pool, val_idx) if val_idx else None
    if raw.test is not None:
        test = eval_tf(raw.test, None)
    else:
        test = eval_tf(raw.pool, test_idx) if test_idx else None
    return train, val, test


def _dataset_for(steps: list | None, kind: str, stats: tuple | None
                 ) -> Callable[[Dataset, Sequence[int] | None], TransformedDataset]:
    """Datasets applying `steps` to whole batches when every step can (each sample
    still draws its own parameters), else to each sample."""
    batched = build_batch_pipeline(steps, input_kind=kind, stats=stats)
    if batched is not None:
        return lambda base, idx: BatchTransformedDataset(base, idx, batched)
    per_sample = build_pipeline(steps, input_kind=kind, stats=stats)
    return lambda base, idx: TransformedDataset(base, idx, per_sample)


def _probe(source_id: str, dataset: Dataset, which: str) -> tuple[int, ...]:
    try:
        x, _ = dataset[0]
    except (ValueError, TypeError, RuntimeError, IndexError, OSError) as exc:
        raise DataSourceError(f"source '{source_id}': the {which} pipeline failed on the first "
                              f"sample: {exc}") from None
    return tuple(x.shape)


def _bundle(source_id: str, raw: RawData, parts: tuple) -> DatasetBundle:
    train, val, test = parts
    shape = _probe(source_id, train, "training")
    for dataset in (val, test):
        other = _probe(source_id, dataset, "evaluation") if dataset is not None else shape
        if other != shape and other[1:] != shape:
            raise DataSourceError(f"source '{source_id}': training samples have shape {shape} "
                                  f"but evaluation samples {other}; make both pipelines end in "
                                  f"the same size")
    classification = raw.task == "classification"
    return DatasetBundle(
        train=train, val=val, test=test, task=raw.task, input_shape=shape,
        num_classes=len(raw.class_names) if classification else None,
        class_names=list(raw.class_names) if classification else None,
        input_dtype=raw.input_dtype, target_shape=() if classification else (1,),
        feature_names=raw.feature_names,
    )
