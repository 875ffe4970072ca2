"""The health coach reads the learning rate off the loss: each case driven by a real run."""

from __future__ import annotations

from typing import Any

import pytest

from app.analysis.health import check_health
from app.analysis.run_history import RunHistory
from app.core.templates import TEMPLATES
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import EpochEnd
from app.training.trainer import Trainer

ARCHITECTURE_ADVICE = ("ReLU instead", "Kaiming", "BatchNorm")


def train(template_id: str, **overrides: Any) -> tuple[RunHistory, dict[str, str]]:
    """A real short run of a template, recorded as the GUI records it."""
    project = TEMPLATES[template_id].project()
    config = TrainConfig.from_dict(project.training | overrides)
    bundle = load_data(project.data)
    run = RunHistory(template_id)
    run.class_names = bundle.class_names
    Trainer(project.network, bundle, config, callback=run.add).run()
    return run, {n.name: n.type for n in project.network.nodes}


def test_adam_at_lr_5_blows_the_loss_up_and_is_told_to_lower_the_rate() -> None:
    run, types = train("mlp", epochs=1, optimizer={"name": "Adam", "lr": 5.0})
    assert max(run.batch_loss) > 100  # the blow-up the student sees on the loss plot
    flags = check_health(run, types)
    assert flags[0].kind == "lr_too_high" and "far above its start" in flags[0].message
    assert flags[0].remedy.startswith("lower the learning rate (now 5; try 0.5)")
    assert not any(word in f.remedy for f in flags for word in ARCHITECTURE_ADVICE)


def test_sgd_at_lr_5_kills_the_relus_and_is_told_to_lower_the_rate_not_to_add_batchnorm() -> None:
    run, types = train("mlp", epochs=2, optimizer={"name": "SGD", "lr": 5.0})
    flags = check_health(run, types)
    assert [f.kind for f in flags] == ["lr_too_high"], [f.text() for f in flags]
    assert "exactly 0" in flags[0].message and "fc1" in flags[0].message
    assert "lower the learning rate" in flags[0].remedy
    assert not any(word in f.remedy for f in flags for word in ARCHITECTURE_ADVICE)


def test_a_nan_loss_is_told_to_lower_the_rate() -> None:
    run, types = train("linear_regression", epochs=3, optimizer={"name": "SGD", "lr": 1e4})
    assert run.status == "failed"
    flags = check_health(run, types)
    assert flags[0].kind == "lr_too_high" and "NaN" in flags[0].message
    assert "lower the learning rate" in flags[0].remedy and "clip" in flags[0].remedy


def test_lenet_with_sigmoid_at_chance_after_3_epochs_gets_the_hint() -> None:
    run, types = train("lenet5", epochs=3)
    assert max(run.val_acc) < 0.15  # really at chance: the plateau LeNet-5 is known for
    flags = check_health(run, types)
    assert [f.kind for f in flags] == ["plateau"]
    assert "LeNet-5 need ~4 epochs to leave chance" in flags[0].remedy
    assert "try ReLU or Adam" in flags[0].remedy
    assert "chance 10.0%" in flags[0].message


def test_a_healthy_run_gets_no_learning_rate_or_plateau_advice() -> None:
    run, types = train("mnist_cnn", epochs=3)
    assert run.val_acc[-1] > 0.8
    assert not [f for f in check_health(run, types) if f.kind in ("lr_too_high", "plateau")]


@pytest.mark.parametrize("losses, kind", [
    ([0.9, 0.7, 0.8, 1.1], "lr_too_high"),  # rising for 2 epochs, by more than 10%
    ([0.9, 0.7, 0.71, 0.72], None),  # noise at the bottom is not a rising loss
])
def test_rising_training_loss(losses: list[float], kind: str | None) -> None:
    run = RunHistory("r")
    for epoch, loss in enumerate(losses, 1):
        run.add(EpochEnd(epoch, loss, loss, 0.5, 1.0))
    flags = check_health(run, {})
    assert [f.kind for f in flags] == ([kind] if kind else [])
    if kind:
        assert "rose for 2 epochs" in flags[0].message and "now 0.5; try 0.05" in flags[0].remedy
