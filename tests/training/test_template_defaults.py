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


@pytest.mark.parametrize("template_id, accuracy", [
    ("logistic_regression", 0.95), ("softmax_regression", 0.9), ("lenet5", 0.9)])
def test_template_defaults_train_to_a_good_accuracy(template_id: str, accuracy: float) -> None:
    project = TEMPLATES[template_id].project()
    config = TrainConfig.from_dict(project.training | {"probes": {"enabled": False}})
    result = Trainer(project.network, load_data(project.data), config).run()
    assert isinstance(result, RunFinished), result
    assert result.metrics["val_accuracy"] >= accuracy


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
