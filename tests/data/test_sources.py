"""Registry, offline and synthetic sources, splits and loaders."""

from __future__ import annotations

import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import ConcatDataset

from app.data.sources import (
    SOURCES,
    DataSourceError,
    LoaderConfig,
    SplitConfig,
    describe_iterations,
    iterations_per_epoch,
    load_source,
    make_loader,
    source_ids,
)

OFFLINE = ["digits", "shapes", "iris", "wine", "breast_cancer", "diabetes", "linear", "moons", "circles",
           "spirals", "blobs", "seq_tokens", "seq_floats"]


def test_registry_entries_describe_themselves() -> None:
    assert source_ids() == list(SOURCES)
    assert set(OFFLINE) | {"mnist", "fashion_mnist", "cifar10", "image_folder", "csv"} == set(
        SOURCES)
    for spec in SOURCES.values():
        assert spec.title and spec.help and callable(spec.loader)
        for param in spec.params:
            assert param.name and param.kind and param.help


@pytest.mark.parametrize("source_id", OFFLINE)
def test_offline_sources_follow_the_tensor_contract(source_id: str) -> None:
    bundle = load_source(source_id)
    x, y = bundle.train[0]
    assert tuple(x.shape) == bundle.input_shape
    assert str(x.dtype) == f"torch.{bundle.input_dtype}"
    assert tuple(y.shape) == bundle.target_shape
    if bundle.task == "classification":
        assert y.dtype == torch.int64 and bundle.num_classes == len(bundle.class_names)
        labels = torch.stack([bundle.train[i][1] for i in range(len(bundle.train))])
        assert 0 <= labels.min() and labels.max() < bundle.num_classes
    else:
        assert y.dtype == torch.float32 and bundle.num_classes is None


def test_builtin_sizes_and_shapes() -> None:
    expected = {"digits": (1797, (1, 28, 28), 10), "iris": (150, (4,), 3),
                "wine": (178, (13,), 3), "breast_cancer": (569, (30,), 2),
                "diabetes": (442, (10,), None)}
    for source_id, (n, shape, classes) in expected.items():
        bundle = load_source(source_id, split=SplitConfig(val_fraction=0.0))
        assert (len(bundle.train), bundle.input_shape, bundle.num_classes) == (n, shape, classes)
    assert load_source("digits", {"upscale": False}).input_shape == (1, 8, 8)


def test_digits_upscaled_load_fast_and_in_unit_range() -> None:
    load_source("digits")  # warm sklearn's file cache
    start = time.perf_counter()
    bundle = load_source("digits")
    assert time.perf_counter() - start < 0.5
    images = bundle.train.tensors[0]
    assert images.min() >= 0 and images.max() <= 1 and images[:, :, :4].abs().max() == 0


def test_iris_is_standardised() -> None:
    bundle = load_source("iris", split=SplitConfig(val_fraction=0.0))
    x = bundle.train.tensors[0]
    assert torch.allclose(x.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x.std(0), torch.ones(4), atol=1e-5)


def test_linear_regression_recovers_w_and_b() -> None:
    bundle = load_source("linear", split=SplitConfig(val_fraction=0.1))
    x = torch.cat([bundle.train.tensors[0], bundle.val.tensors[0]]).double()
    y = torch.cat([bundle.train.tensors[1], bundle.val.tensors[1]]).double()
    design = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution.flatten()
    assert len(x) == 1000
    assert torch.allclose(solution, torch.tensor([2.0, -3.4, 4.2], dtype=torch.float64), atol=0.05)


def test_linear_accepts_user_weights() -> None:
    bundle = load_source("linear", {"w": [1.0, 0.5, -1.0], "b": 0.0, "noise": 0.0,
                                    "n_samples": 50}, split=SplitConfig(0.0))
    x, y = bundle.train.tensors
    assert bundle.input_shape == (3,)
    assert torch.allclose(x @ torch.tensor([1.0, 0.5, -1.0]), y.flatten(), atol=1e-5)


def test_token_sequences_follow_their_rule() -> None:
    params = {"rule": "contains", "token": 7, "vocab_size": 9, "seq_len": 5, "n_samples": 200}
    x, y = load_source("seq_tokens", params, split=SplitConfig(0.0)).train.tensors
    assert x.dtype == torch.int64 and x.shape == (200, 5) and x.max() < 9
    assert torch.equal((x == 7).any(1).long(), y) and y.sum() == 100
    x, y = load_source("seq_tokens", {"rule": "parity"}, split=SplitConfig(0.0)).train.tensors
    assert torch.equal(x.sum(1) % 2, y)
    bundle = load_source("seq_tokens", {"rule": "majority", "vocab_size": 4})
    assert bundle.num_classes == 4


def test_float_sequences_both_tasks() -> None:
    bundle = load_source("seq_floats", split=SplitConfig(0.0))
    x, y = bundle.train.tensors
    assert x.shape == (2000, 12, 1) and torch.equal((x.sum((1, 2)) > 0).long(), y)
    regression = load_source("seq_floats", {"task": "sine_next", "noise": 0.0})
    assert regression.task == "regression" and regression.target_shape == (1,)


def test_two_d_sets_are_seeded() -> None:
    a = load_source("spirals", {"seed": 3}).train.tensors[0]
    b = load_source("spirals", {"seed": 3}).train.tensors[0]
    c = load_source("spirals", {"seed": 4}).train.tensors[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_split_fractions_and_seed() -> None:
    split = SplitConfig(val_fraction=0.2, test_fraction=0.1, seed=5)
    bundle = load_source("iris", split=split)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (105, 30, 15)
    all_rows = torch.cat([bundle.train.tensors[0], bundle.val.tensors[0], bundle.test.tensors[0]])
    assert len(torch.unique(all_rows, dim=0)) == len(torch.unique(
        load_source("iris", split=SplitConfig(0.0)).train.tensors[0], dim=0))
    again = load_source("iris", split=split)
    assert torch.equal(bundle.val.tensors[0], again.val.tensors[0])
    other = load_source("iris", split=SplitConfig(0.2, 0.1, seed=6))
    assert not torch.equal(bundle.val.tensors[0], other.val.tensors[0])


@pytest.mark.parametrize(("split", "message"), [
    (SplitConfig(val_fraction=1.0), "val_fraction must lie in"),
    (SplitConfig(val_fraction=0.6, test_fraction=0.5), "no training samples left"),
])
def test_bad_splits_are_refused(split: SplitConfig, message: str) -> None:
    with pytest.raises(DataSourceError, match=message):
        load_source("iris", split=split)


def test_bad_source_and_params_are_named() -> None:
    with pytest.raises(DataSourceError, match="unknown data source 'nope'"):
        load_source("nope")
    with pytest.raises(DataSourceError,
                       match=r"source 'linear': field 'weights' is not a parameter \(known: w, b"):
        load_source("linear", {"weights": [1]})
    with pytest.raises(DataSourceError, match="source 'linear': field 'noise' must be >= 0"):
        load_source("linear", {"noise": -1})
    with pytest.raises(DataSourceError, match="field 'token' must be < vocab_size"):
        load_source("seq_tokens", {"token": 12})
    with pytest.raises(DataSourceError, match="augmentation applies to image sources only"):
        load_source("iris", train_transforms=[{"type": "RandomHorizontalFlip"}])


def test_iterations_per_epoch_course_example() -> None:
    assert iterations_per_epoch(87, 8, drop_last=False) == 11
    assert iterations_per_epoch(87, 8, drop_last=True) == 10
    assert iterations_per_epoch(80, 8, drop_last=False) == 10
    cfg = LoaderConfig(batch_size=8, drop_last=True)
    assert describe_iterations(87, cfg) == ("87 samples, batch 8: 10 iterations per epoch "
                                            "(7 samples dropped)")
    with pytest.raises(DataSourceError, match="batch_size must be >= 1"):
        iterations_per_epoch(10, 0, False)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), batch=st.integers(1, 16), drop_last=st.booleans())
def test_iterations_match_a_real_dataloader(n: int, batch: int, drop_last: bool) -> None:
    data = torch.utils.data.TensorDataset(torch.arange(n))
    loader = make_loader(data, LoaderConfig(batch_size=batch, drop_last=drop_last), train=True)
    assert len(list(loader)) == iterations_per_epoch(n, batch, drop_last)


def test_eval_loader_keeps_order_and_every_sample() -> None:
    data = torch.utils.data.TensorDataset(torch.arange(87))
    cfg = LoaderConfig(batch_size=8, shuffle=True, drop_last=True)
    evaluated = torch.cat([b[0] for b in make_loader(data, cfg, train=False)])
    assert torch.equal(evaluated, torch.arange(87))
    first = torch.cat([b[0] for b in make_loader(data, cfg, train=True, seed=1)])
    second = torch.cat([b[0] for b in make_loader(data, cfg, train=True, seed=1)])
    assert len(first) == 80 and torch.equal(first, second) and not torch.equal(first,
                                                                               torch.arange(80))


def test_loader_batches_have_contract_shapes() -> None:
    bundle = load_source("diabetes")
    x, y = next(iter(make_loader(bundle.train, LoaderConfig(batch_size=16), train=True)))
    assert x.shape == (16, 10) and y.shape == (16, 1) and y.dtype == torch.float32
    assert len(ConcatDataset([bundle.train, bundle.val])) == 442
