"""Preview: display-ready arrays, reproducible with a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.data.preview import image_to_display, preview
from app.data.sources import SplitConfig, load_source

AUGMENT = [{"type": "RandomRotation", "degrees": 30}, {"type": "SaltPepperNoise", "p": 1.0}]


def test_image_preview_is_reproducible_and_displayable() -> None:
    bundle = load_source("digits", train_transforms=AUGMENT)
    first, second = preview(bundle, 6, seed=3), preview(bundle, 6, seed=3)
    assert first.kind == "image" and len(first.items) == 6
    for a, b in zip(first.items, second.items, strict=True):
        assert a.data.shape == (28, 28, 1) and a.data.dtype == np.float32
        assert 0 <= a.data.min() and a.data.max() <= 1 and np.array_equal(a.data, b.data)
        assert a.label_name == bundle.class_names[a.label]
    other = preview(bundle, 6, seed=4)
    assert [i.index for i in other.items] != [i.index for i in first.items]


def test_preview_leaves_global_rng_alone() -> None:
    bundle = load_source("digits", train_transforms=AUGMENT)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    preview(bundle, 4, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_mnist_preview_matches_file_values(mnist_root: Path) -> None:
    bundle = load_source("mnist", {"root": str(mnist_root)})
    item = preview(bundle, 3, split="test").items[0]
    assert np.allclose(item.data, item.label * 10 / 255)


def test_rows_points_and_sequences() -> None:
    rows = preview(load_source("wine"), 5, split="val")
    assert rows.kind == "row" and rows.items[0].data.shape == (13,)
    assert rows.feature_names[0] == "alcohol"
    points = preview(load_source("moons"), 400)
    assert points.kind == "point" and len(points.items) == 320  # capped at the split size
    regression = preview(load_source("linear"), 2)
    assert isinstance(regression.items[0].label, float) and regression.items[0].label_name is None
    tokens = preview(load_source("seq_tokens"), 2)
    assert tokens.kind == "sequence" and tokens.items[0].data.dtype == np.int64


def test_display_rescales_normalised_and_tiles_crops() -> None:
    crops = torch.randn(5, 3, 4, 6)
    image = image_to_display(crops)
    assert image.shape == (4, 30, 3) and image.min() == 0 and image.max() == 1
    assert image_to_display(torch.full((1, 2, 2), 255, dtype=torch.uint8)).max() == 1


def test_missing_split_is_reported() -> None:
    with pytest.raises(ValueError, match="no test split"):
        preview(load_source("iris", split=SplitConfig(0.2)), 3, split="test")
