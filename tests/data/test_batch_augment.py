"""Batched augmentation: torchvision's numbers, one draw per sample, used where it applies."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from app.data.augment import build_pipeline
from app.data.batch_augment import build_batch_pipeline, rotation_grid, sample_grid
from app.data.datasets import BatchTransformedDataset, TransformedDataset
from app.data.sources import SplitConfig, load_source

ANGLES = [-14.7, 3.3, 0.01, 12.0, -359.5, 89.9, 181.25]
ROTATE = {"type": "RandomRotation", "degrees": 15}
NORMALIZE = {"type": "Normalize", "preset": "custom", "mean": [0.1], "std": [0.25]}


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [None, 0, [0.5, 0.2, 1.0]])
@pytest.mark.parametrize("center", [None, [3.0, 20.5]])
def test_rotation_of_a_batch_equals_torchvision_rotate_per_image(mode, fill, center) -> None:
    images = torch.rand(len(ANGLES), 3, 28, 20, generator=torch.Generator().manual_seed(0))
    got = sample_grid(images, rotation_grid(torch.tensor(ANGLES), 28, 20, center), mode, fill)
    for image, angle, out in zip(images, ANGLES, got):
        # float32 angles, as v2.RandomRotation draws them
        want = TF.rotate(image, float(torch.tensor(angle)), InterpolationMode(mode), False,
                         center, fill)
        torch.testing.assert_close(out, want, rtol=0, atol=1e-6)


def test_each_sample_draws_its_own_angle_from_the_global_generator() -> None:
    """The pipeline rotates sample i by the i-th uniform draw in [-15, 15], then
    normalises: exactly v2's RandomRotation + Normalize with those angles."""
    pipeline = build_batch_pipeline([ROTATE, NORMALIZE], input_kind="float")
    images = torch.rand(1, 1, 12, 12).expand(16, 1, 12, 12).contiguous()  # one image 16x
    torch.manual_seed(3)
    got = pipeline(images)
    torch.manual_seed(3)
    angles = torch.empty(16).uniform_(-15, 15).tolist()
    assert len({round(a, 3) for a in angles}) == 16
    for out, angle in zip(got, angles):
        want = TF.normalize(TF.rotate(images[0], angle, fill=0), [0.1], [0.25])
        torch.testing.assert_close(out, want, rtol=0, atol=1e-6)
    assert all(not torch.equal(got[0], other) for other in got[1:])


def test_flips_toss_a_coin_per_sample() -> None:
    pipeline = build_batch_pipeline([{"type": "RandomHorizontalFlip", "p": 0.5},
                                     {"type": "RandomVerticalFlip", "p": 0.5}],
                                    input_kind="float")
    image = torch.arange(16.0).view(1, 1, 4, 4)
    torch.manual_seed(0)
    out = pipeline(image.expand(64, 1, 4, 4))
    kinds = {tuple(o.flatten().tolist()) for o in out}
    assert kinds == {tuple(t.flatten().tolist()) for t in (
        image, image.flip(-1), image.flip(-2), image.flip(-1).flip(-2))}


@pytest.mark.parametrize("steps", [
    [{"type": "RandomRotation", "degrees": 15, "expand": True}],
    [{"type": "RandomAffine", "degrees": 15}],
    [ROTATE, {"type": "RandomApply", "transforms": [NORMALIZE]}],
])
def test_steps_without_a_batched_form_keep_the_per_sample_pipeline(steps) -> None:
    assert build_batch_pipeline(steps, input_kind="float") is None
    assert build_batch_pipeline([ROTATE], input_kind="pil") is None


def test_a_disabled_step_is_skipped_and_errors_are_the_pipelines() -> None:
    pipeline = build_batch_pipeline([{**ROTATE, "enabled": False}, NORMALIZE],
                                    input_kind="float")
    x = torch.rand(2, 1, 5, 5)
    torch.testing.assert_close(pipeline(x), (x - 0.1) / 0.25)
    with pytest.raises(ValueError, match="mean/std have 1 values but the image has 3"):
        pipeline(torch.rand(2, 3, 5, 5))


def test_digits_with_rotation_train_on_batches_each_fetch_transformed_once() -> None:
    split = {"val_fraction": 0.2, "seed": 0}
    bundle = load_source("digits", train_transforms=[ROTATE, NORMALIZE],
                         split=SplitConfig(**split))
    assert isinstance(bundle.train, BatchTransformedDataset)
    calls = []
    transform = bundle.train.transform
    bundle.train.transform = lambda xs: calls.append(len(xs)) or transform(xs)
    x, y = next(iter(DataLoader(bundle.train, batch_size=32)))
    assert calls == [32] and x.shape == (32, 1, 28, 28) and y.dtype == torch.int64
    plain = load_source("digits", split=SplitConfig(**split)).train
    assert torch.equal(y, torch.stack([plain[i][1] for i in range(32)]))
    slow = load_source("digits", train_transforms=[{"type": "RandomAffine", "degrees": 15}],
                       split=SplitConfig(**split)).train
    assert type(slow) is TransformedDataset


def test_a_single_item_is_a_batch_of_one() -> None:
    base = [(torch.full((1, 3, 3), float(i)), i) for i in range(4)]
    data = BatchTransformedDataset(base, [2, 0], build_batch_pipeline([NORMALIZE],
                                                                      input_kind="float"))
    x, y = data[0]
    assert x.shape == (1, 3, 3) and float(x[0, 0, 0]) == pytest.approx((2 - 0.1) / 0.25)
    assert y.dtype == torch.int64 and int(y) == 2
    per_sample = TransformedDataset(base, [2, 0], build_pipeline([NORMALIZE],
                                                                 input_kind="float"))
    torch.testing.assert_close(data.__getitems__([0, 1])[1][0], per_sample[1][0])
