"""Augmentation registry: every step on PIL and tensor input, validation, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.data.augment import (
    STEPS,
    AugmentError,
    build_pipeline,
    fill_dataset_stats,
    needs_dataset_stats,
    normalize_steps,
    pipeline_from_json,
    pipeline_to_json,
)
from app.data.noise import SaltPepperNoise
from app.data.stats import compute_mean_std

FLIP = {"type": "RandomHorizontalFlip", "p": 1.0}
EXAMPLES = {
    "Resize": {"size": 8}, "CenterCrop": {"size": [6, 8]}, "RandomCrop": {"size": 8,
                                                                         "padding": [1, 2]},
    "RandomResizedCrop": {"size": 8}, "FiveCrop": {"size": 4}, "TenCrop": {"size": 4},
    "RandomHorizontalFlip": {}, "RandomVerticalFlip": {}, "RandomRotation": {"degrees": [-30, 30]},
    "Pad": {"padding": [1, 2, 3, 4], "padding_mode": "reflect"},
    "ColorJitter": {"brightness": 0.5, "contrast": 0.5, "saturation": 0.5, "hue": 0.1},
    "Grayscale": {"num_output_channels": 3}, "RandomGrayscale": {"p": 0.5},
    "RandomAffine": {"degrees": 20, "translate": [0.1, 0.1], "scale": [0.9, 1.1], "shear": 5},
    "RandomPerspective": {"p": 1.0}, "GaussianBlur": {"kernel_size": 3},
    "RandomErasing": {"p": 1.0, "value": "random"},
    "LinearTransformation": {"transformation_matrix": np.eye(3 * 12 * 12).tolist(),
                             "mean_vector": [0.5] * (3 * 12 * 12)},
    "ToImage": {}, "ToDtype": {}, "ToTensor": {}, "Normalize": {"preset": "CIFAR-10"},
    "RandomChoice": {"transforms": [FLIP, {"type": "RandomVerticalFlip", "p": 1.0}]},
    "RandomApply": {"transforms": [{"type": "RandomRotation", "degrees": 30}], "p": 0.7},
    "RandomOrder": {"transforms": [FLIP, {"type": "Pad", "padding": 1}]},
    "SaltPepperNoise": {"snr": 0.8, "p": 1.0},
}


def _pil() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))


def _tensor() -> torch.Tensor:
    return torch.from_numpy(np.array(_pil())).permute(2, 0, 1).float() / 255


def test_every_registered_step_has_an_example() -> None:
    assert set(EXAMPLES) == set(STEPS)
    for spec in STEPS.values():
        assert spec.title and spec.help and all(p.help for p in spec.params)


@pytest.mark.parametrize("kind", ["pil", "float"])
@pytest.mark.parametrize("step_type", sorted(EXAMPLES))
def test_step_runs_deterministically(step_type: str, kind: str) -> None:
    step = {"type": step_type, **EXAMPLES[step_type]}
    if kind not in STEPS[step_type].accepts:
        with pytest.raises(AugmentError, match=f"step 1 '{step_type}': needs a"):
            build_pipeline([step], input_kind=kind)
        return
    pipeline = build_pipeline([step], input_kind=kind)
    outputs = []
    for _ in range(2):
        torch.manual_seed(0)
        outputs.append(pipeline(_pil() if kind == "pil" else _tensor()))
    assert outputs[0].dtype == torch.float32 and torch.equal(outputs[0], outputs[1])
    assert 0 <= outputs[0].min() or step_type in ("Normalize", "LinearTransformation",
                                                    "RandomErasing")


def test_crops_are_stacked_into_one_tensor() -> None:
    five = build_pipeline([{"type": "FiveCrop", "size": 4}])(_pil())
    ten = build_pipeline([{"type": "TenCrop", "size": 4, "vertical_flip": True}])(_pil())
    assert five.shape == (5, 3, 4, 4) and ten.shape == (10, 3, 4, 4)
    # The flipped image's top-left crop is the original bottom-left crop, mirrored.
    assert torch.equal(ten[5], five[2].flip(-2)) and torch.equal(ten[:5], five)
    assert torch.allclose(five[0], _tensor()[:, :4, :4])  # top-left crop first


def test_padding_modes_match_torch_docs() -> None:
    row = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    reflect = build_pipeline([{"type": "Pad", "padding": [2, 0], "padding_mode": "reflect"}],
                             input_kind="float")(row)
    symmetric = build_pipeline([{"type": "Pad", "padding": [2, 0],
                                 "padding_mode": "symmetric"}], input_kind="float")(row)
    assert reflect.flatten().tolist() == [3, 2, 1, 2, 3, 4, 3, 2]
    assert symmetric.flatten().tolist() == [2, 1, 1, 2, 3, 4, 4, 3]


@pytest.mark.parametrize(("steps", "message"), [
    ([{"type": "RandomRotation", "degrees": [10, 20, 30]}],
     r"step 1 'RandomRotation': field 'degrees' takes one number or 2 numbers \(got 3\)"),
    ([{"type": "RandomRotation", "degrees": -10}], "single number means \\[-a, a\\]"),
    ([{"type": "RandomRotation", "degrees": [30, -30]}], "increasing order"),
    ([{"type": "RandomErasing"}], "step 1 'RandomErasing': needs a tensor: add ToImage"),
    ([{"type": "ToImage"}, {"type": "Normalize", "preset": "MNIST"}],
     "step 2 'Normalize': needs a float tensor"),
    ([{"type": "ColorJitter", "hue": 0.7}], "field 'hue' must be <= 0.5"),
    ([{"type": "GaussianBlur", "kernel_size": 4}], "must be odd"),
    ([{"type": "Grayscale", "num_output_channels": 2}], "must be one of \\[1, 3\\]"),
    ([{"type": "RandomApply", "transforms": [{"type": "ToImage"}]}],
     "nested steps must not change the image type"),
    ([{"type": "RandomApply", "transforms": [{"type": "Rotate"}]}],
     "step 1 'RandomApply' > step 1 'Rotate': unknown step type"),
    ([{"type": "Resize", "sizes": 3}],
     r"field 'sizes' is not a parameter \(known: size, interpolation"),
    ([{"type": "Normalize", "preset": "custom", "mean": [0.5]}], "needs mean and std"),
    ([{"type": "ToTensor"}, {"type": "Normalize", "preset": "dataset"}], "preset 'dataset' needs"),
    ([{"type": "RandomChoice", "transforms": [FLIP], "p": [0.5, 0.5]}], "one probability per"),
    ([{"type": "LinearTransformation", "transformation_matrix": [[1, 0], [0, 1]],
       "mean_vector": [0]}], "needs 2 values"),
])
def test_invalid_steps_are_refused_with_reason(steps: list, message: str) -> None:
    with pytest.raises(AugmentError, match=message):
        build_pipeline(steps)


def test_normalize_refuses_channel_mismatch_instead_of_broadcasting() -> None:
    pipeline = build_pipeline([{"type": "Normalize", "preset": "CIFAR-10"}], input_kind="float")
    with pytest.raises(ValueError, match="3 values but the image has 1 channel"):
        pipeline(torch.rand(1, 8, 8))


def test_pipeline_ends_in_float_and_disabled_steps_are_skipped() -> None:
    out = build_pipeline([{"type": "RandomVerticalFlip", "p": 1.0, "enabled": False}])(_pil())
    assert out.dtype == torch.float32 and torch.allclose(out, _tensor())
    assert type(out) is torch.Tensor
    uint8 = build_pipeline([{"type": "ToImage"}])(_pil())
    assert uint8.dtype == torch.float32 and uint8.max() <= 1


def test_presets_have_documented_values() -> None:
    x = torch.full((1, 2, 2), 0.1307)
    assert torch.allclose(build_pipeline([{"type": "Normalize", "preset": "MNIST"}],
                                         input_kind="float")(x), torch.zeros(1, 2, 2), atol=1e-6)
    out = build_pipeline([{"type": "Normalize", "preset": "CIFAR-10"}], input_kind="float")(
        torch.tensor([0.4914, 0.4822, 0.4465]).reshape(3, 1, 1) + torch.tensor(
            [0.2470, 0.2435, 0.2616]).reshape(3, 1, 1))
    assert torch.allclose(out.flatten(), torch.ones(3), atol=1e-5)


def test_json_round_trip_is_stable() -> None:
    steps = [{"type": t, **EXAMPLES[t]} for t in ("RandomRotation", "RandomApply", "Normalize")]
    text = pipeline_to_json(steps)
    loaded = pipeline_from_json(text)
    assert loaded == json.loads(text) and pipeline_to_json(loaded) == text
    assert loaded[0] == {"type": "RandomRotation", "degrees": [-30.0, 30.0],
                         "interpolation": "nearest", "expand": False, "center": None,
                         "fill": 0.0, "enabled": True}
    with pytest.raises(AugmentError, match="not valid JSON"):
        pipeline_from_json("[{")


@settings(max_examples=40, deadline=None)
@given(degrees=st.one_of(st.integers(0, 180), st.tuples(st.integers(-180, 0),
                                                         st.integers(0, 180)).map(list)),
       p=st.floats(0, 1), brightness=st.floats(0, 2), enabled=st.booleans())
def test_generated_pipelines_round_trip_and_run(degrees, p, brightness, enabled) -> None:
    steps = [{"type": "RandomRotation", "degrees": degrees, "enabled": enabled},
             {"type": "RandomApply", "p": p, "transforms": [
                 {"type": "ColorJitter", "brightness": brightness}]}]
    loaded = pipeline_from_json(json.dumps(normalize_steps(steps)))
    assert normalize_steps(loaded) == loaded
    torch.manual_seed(1)
    a = build_pipeline(loaded, input_kind="float")(_tensor())
    torch.manual_seed(1)
    b = build_pipeline(steps, input_kind="float")(_tensor())
    assert torch.equal(a, b)


def test_dataset_statistics_fill_normalize() -> None:
    images = torch.rand(20, 3, 4, 4) * torch.tensor([1.0, 0.5, 0.2]).reshape(1, 3, 1, 1)
    data = torch.utils.data.TensorDataset(images, torch.zeros(20))
    mean, std = compute_mean_std(data)
    flat = images.permute(1, 0, 2, 3).reshape(3, -1).double()
    assert np.allclose(mean, flat.mean(1)) and np.allclose(std, flat.std(1, unbiased=False))
    steps = [{"type": "RandomApply", "transforms": [
        {"type": "Normalize", "preset": "dataset"}]}]
    assert needs_dataset_stats(steps)
    filled = fill_dataset_stats(steps, mean, std)
    assert not needs_dataset_stats(filled) and filled[0]["transforms"][0]["mean"] == mean
    assert steps[0]["transforms"][0].get("mean") is None


def test_salt_pepper_noise_fractions_and_modes() -> None:
    noise = SaltPepperNoise(snr=0.7, p=1.0)
    torch.manual_seed(0)
    out = noise(torch.full((3, 100, 100), 0.5))
    assert abs((out[0] == 0).float().mean() - 0.15) < 0.02
    assert abs((out[0] == 1).float().mean() - 0.15) < 0.02
    assert torch.equal(out[0], out[2])  # a hit pixel is hit in every channel
    gray = Image.fromarray(np.full((10, 10), 128, np.uint8))
    assert noise(gray).mode == "L" and set(np.unique(np.asarray(noise(gray)))) <= {0, 128, 255}
    assert torch.equal(SaltPepperNoise(0.5, p=0.0)(torch.ones(1, 5, 5)), torch.ones(1, 5, 5))
    with pytest.raises(ValueError, match="snr and p must lie in"):
        SaltPepperNoise(snr=1.5)
