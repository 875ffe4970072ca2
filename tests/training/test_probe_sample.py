"""A snapshot says which sample its activations show: split, index, label and the model's
answer for it, read back with the rest of the probe (the activation view's caption)."""

from __future__ import annotations

import torch
from torch import nn

from app.training.config import ProbeConfig
from app.training.events import ProbeSample
from app.training.probes import Probes


def _net(outputs: int) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, outputs))


def test_a_classifier_snapshot_names_its_sample_and_prediction() -> None:
    net = _net(5)
    x = torch.randn(1, 1, 8, 8)
    probes = Probes(net, ProbeConfig(bins=4), x, {"conv": "0", "fc": "3"},
                    ProbeSample("validation", 0, 3.0))
    snap = probes.capture(epoch=1, step=10)
    with torch.no_grad():
        expected = int(net(x).argmax(1))
    assert snap.sample == ProbeSample("validation", 0, 3.0, float(expected))
    with torch.no_grad():  # training moves the answer: the next snapshot says the new one
        net[3].bias.copy_(torch.nn.functional.one_hot(torch.tensor((expected + 1) % 5), 5)
                          * 1e3)
    assert probes.capture(epoch=1, step=20).sample.predicted == float((expected + 1) % 5)


def test_a_regression_snapshot_gives_the_value() -> None:
    net = _net(1)
    x = torch.randn(1, 1, 8, 8)
    probes = Probes(net, ProbeConfig(bins=4), x, {"conv": "0"}, ProbeSample("training", 0, 0.5))
    with torch.no_grad():
        value = float(net(x)[0, 0])
    snap = probes.capture(epoch=1, step=1)
    assert snap.sample.split == "training" and snap.sample.label == 0.5
    assert abs(snap.sample.predicted - value) < 1e-5


def test_without_sample_info_the_snapshot_has_none() -> None:
    net = _net(3)
    snap = Probes(net, ProbeConfig(bins=4), torch.randn(1, 1, 8, 8), {"conv": "0"}).capture(0, 0)
    assert snap.sample is None and snap.activations["conv"].shape == (2, 6, 6)


def test_the_caption_names_classes_when_the_data_does() -> None:
    from app.ui.training.plots.activations import sample_text

    info = ProbeSample("validation", 0, 3.0, 5.0)
    assert sample_text(info) == "validation sample 0 · label 3 · predicted 5"
    names = ["plane", "car", "bird", "cat", "deer", "dog"]
    assert sample_text(info, names) == "validation sample 0 · label cat · predicted dog"
    assert sample_text(ProbeSample("training", 0, 0.5, 0.731)) == \
        "training sample 0 · label 0.5 · predicted 0.731"
    assert sample_text(None) == "one fixed sample"
