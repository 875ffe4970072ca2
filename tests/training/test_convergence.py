"""Real training on the offline data: the numbers the course promises."""

from __future__ import annotations

import pytest

from app.core.templates import build_template
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer


@pytest.fixture(scope="module")
def digits():
    return load_data({"source": "digits",
                      "split": {"val_fraction": 0.1, "test_fraction": 0.2, "seed": 0}})


def train(template: str, data, **cfg: object) -> RunFinished:
    base = {"device": "cpu", "seed": 0, "probes": {"enabled": False}}
    result = Trainer(build_template(template), data, TrainConfig.from_dict({**base, **cfg}))\
        .run()
    assert isinstance(result, RunFinished), result
    return result


def test_linear_regression_recovers_w_and_b() -> None:
    data = load_data({"source": "linear"})
    cfg = TrainConfig.from_dict({"epochs": 3, "batch_size": 10, "device": "cpu",
                                 "loss": {"name": "MSE"},
                                 "optimizer": {"name": "SGD", "lr": 0.03}})
    trainer = Trainer(build_template("linear_regression"), data, cfg)
    result = trainer.run()
    assert trainer.model.linear.weight.detach().flatten().tolist() == pytest.approx([2.0, -3.4], abs=0.05)
    assert float(trainer.model.linear.bias.detach()) == pytest.approx(4.2, abs=0.05)
    assert result.metrics["val_loss"] < 1e-3


def test_mlp_reaches_95_percent_on_digits(digits) -> None:
    result = train("mlp", digits, epochs=12, batch_size=32,
                   scheduler={"name": "OneCycleLR", "params": {"max_lr": 0.003}})
    assert result.metrics["test_accuracy"] >= 0.95


def test_residual_cnn_reaches_97_percent_on_digits(digits) -> None:
    result = train("residual_cnn", digits, epochs=6, batch_size=32,
                   scheduler={"name": "OneCycleLR", "params": {"max_lr": 0.01}})
    assert result.metrics["test_accuracy"] >= 0.97
