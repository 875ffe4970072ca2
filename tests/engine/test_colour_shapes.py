"""The generated colour-shapes source: deterministic, balanced, shape (not colour) tells the class."""

from __future__ import annotations

import torch

from app.data.colour_shapes import CLASSES, generate
from app.data.sources import load_source


def test_source_gives_cifar_sized_colour_images_in_ten_balanced_classes() -> None:
    bundle = load_source("shapes")
    assert bundle.input_shape == (3, 32, 32)
    assert bundle.num_classes == 10 and bundle.class_names == list(CLASSES)
    assert len(bundle.train) + len(bundle.val) == 3000
    x, y = bundle.train[0]
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    images, labels = generate(500, 32, seed=1, noise=0.1)
    assert images.min() >= 0 and images.max() <= 1
    assert labels.bincount().tolist() == [50] * 10


def test_same_seed_same_images_other_seed_other_images() -> None:
    a, la = generate(40, 16, seed=3, noise=0.1)
    b, lb = generate(40, 16, seed=3, noise=0.1)
    c, _ = generate(40, 16, seed=4, noise=0.1)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)


def test_image_size_parameter_and_augmentation_apply() -> None:
    bundle = load_source("shapes", {"image_size": 64, "n_samples": 100},
                         train_transforms=[{"type": "RandomHorizontalFlip"}])
    assert bundle.input_shape == (3, 64, 64)


def test_every_shape_is_visible_and_colour_does_not_give_the_class_away() -> None:
    images, labels = generate(2000, 32, seed=0, noise=0.0)
    background = images[:, :, 0, 0]  # corners are background: centres stay within ±0.25
    changed = (images - background[:, :, None, None]).norm(dim=1) > 0.4
    assert changed.flatten(1).sum(1).min() >= 10  # at least 10 shape pixels in every image
    # Mean colour per class is close to the overall mean: no class has its own colour.
    per_class = torch.stack([images[labels == k].mean((0, 2, 3)) for k in range(10)])
    assert (per_class - images.mean((0, 2, 3))).abs().max() < 0.06


def test_classes_differ_in_outline() -> None:
    # Noise-free masks of the same geometry differ between every pair of classes.
    images, labels = generate(10, 32, seed=0, noise=0.0)
    assert sorted(labels.tolist()) == list(range(10))
    grey = images.mean(1)
    masks = (grey - grey[:, :1, :1]).abs() > 1e-6
    fills = masks.flatten(1).float().sum(1)
    assert (fills > 0).all()
    assert len({tuple(m.flatten().tolist()) for m in masks}) == 10
