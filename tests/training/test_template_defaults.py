"""Opening a template and pressing Train works: its project's settings reach a good score."""

from __future__ import annotations

import pytest
import torch

from app.core.templates import TEMPLATES
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.metrics import metric_kind
from app.training.trainer import Trainer


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_training_settings_are_valid(template_id: str) -> None:
    project = TEMPLATES[template_id].project()
    config = TrainConfig.from_dict(project.training)
    assert config.to_dict()["epochs"] >= 1
    assert project.data["source"] == TEMPLATES[template_id].dataset


# The course's results on its offline data: MLP 97%, CNN 98% (each trains in ~10 s here).
@pytest.mark.parametrize("template_id, accuracy", [
    ("logistic_regression", 0.95), ("softmax_regression", 0.9), ("lenet5", 0.9),
    ("mlp", 0.97), ("mnist_cnn", 0.98)])
def test_template_defaults_train_to_a_good_accuracy(template_id: str, accuracy: float) -> None:
    project = TEMPLATES[template_id].project()
    config = TrainConfig.from_dict(project.training | {"probes": {"enabled": False}})
    result = Trainer(project.network, load_data(project.data), config).run()
    assert isinstance(result, RunFinished), result
    assert result.metrics["val_accuracy"] >= accuracy


@pytest.mark.parametrize("template_id", ["alexnet", "vgg11", "vgg16", "resnet18"])
def test_imagenet_classics_train_offline_on_their_generated_data(template_id: str) -> None:
    """F5 on a fresh AlexNet/VGG/ResNet project trains: no files, the data fits the Input.
    A few images keep it fast; the project's own settings (init, transforms) are used."""
    project = TEMPLATES[template_id].project()
    assert project.data["source"] == "shapes"
    data = project.data | {"params": project.data.get("params", {}) | {"n_samples": 80}}
    config = TrainConfig.from_dict(project.training | {"epochs": 1, "probes": {"enabled": False}})
    result = Trainer(project.network, load_data(data), config).run()
    assert isinstance(result, RunFinished), result
    # Starts near chance (ln 10 = 2.3), not blown up by the init
    assert 1.5 < result.metrics["train_loss"] < 4
    assert result.metrics["val_accuracy"] is not None


def test_linear_regression_template_fits_the_true_weights() -> None:
    project = TEMPLATES["linear_regression"].project()
    config = TrainConfig.from_dict(project.training | {"probes": {"enabled": False}})
    result = Trainer(project.network, load_data(project.data), config).run()
    assert isinstance(result, RunFinished), result
    assert result.metrics["val_loss"] < 0.01  # the noise is 0.01: y is recovered


def test_binary_outputs_are_scored_by_threshold() -> None:
    probabilities = torch.tensor([[0.9], [0.2], [0.6], [0.4]])
    labels = torch.tensor([1, 0, 0, 1])
    kind = metric_kind(probabilities, labels, "BCE")
    scores = kind.scores(probabilities)
    assert scores.argmax(1).tolist() == [1, 0, 1, 0]
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-0.1]])
    assert metric_kind(logits, labels.float()[:, None], "BCEWithLogits").scores(
        logits).argmax(1).tolist() == [1, 0, 1, 0]
    assert kind.labels(labels.float()[:, None]).tolist() == [1, 0, 0, 1]
    assert metric_kind(torch.zeros(4, 3), labels, "CrossEntropy").threshold is None
