import json
import re

import pytest
import torch
from torch import nn

from app.core.project import Project, load_project, save_project
from app.core.templates import build_template
from app.training.config import TrainConfig, default_config
from app.training.devices import list_devices, resolve_device
from app.training.errors import ConfigError
from app.training.init import INITS, InitRule, apply_init, calculate_gain

FULL = {"epochs": 3, "optimizer": {"name": "SGD", "lr": 0.1, "params": {"momentum": 0.9}},
        "scheduler": {"name": "StepLR", "params": {"step_size": 2}},
        "loss": {"name": "CrossEntropy", "params": {"weight": [1, 2], "label_smoothing": 0.1}},
        "init": [{"layer_types": ["Linear"], "scheme": "kaiming_normal",
                  "params": {"nonlinearity": "relu"}}],
        "early_stopping": {"enabled": True, "patience": 3}, "freeze": ["fc1"],
        "layer_lr": {"fc5": 0.01}, "regularisation": {"clip": "norm", "l1": 1e-5}}


def test_round_trip_through_json_and_the_project_file(tmp_path) -> None:
    cfg = TrainConfig.from_dict(FULL)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.loss.params["weight"] == [1.0, 2.0] and cfg.scheduler.step_per == "epoch"
    save_project(Project(build_template("mlp"), training=cfg.to_dict()), tmp_path / "p.json")
    assert TrainConfig.from_dict(load_project(tmp_path / "p.json").training) == cfg


@pytest.mark.parametrize("data, field", [
    ({"epochs": 0}, "training.epochs"),
    ({"batch_size": "64"}, "training.batch_size"),
    ({"device": "gpu"}, "training.device"),
    ({"optimizer": {"name": "Adamm"}}, "training.optimizer.name"),
    ({"optimizer": {"name": "SGD", "params": {"momentum": -1}}},
     "training.optimizer.params.momentum"),
    ({"optimizer": {"name": "SGD", "params": {"nesterov": True}}},
     "training.optimizer.params.nesterov"),
    ({"loss": {"name": "CrossEntropy", "params": {"label_smoothing": 2}}},
     "training.loss.params.label_smoothing"),
    ({"scheduler": {"name": "ReduceLROnPlateau", "step_per": "batch"}},
     "training.scheduler.step_per"),
    ({"init": [{"layer_types": ["Linear"], "scheme": "he"}]}, "training.init[0].scheme"),
    ({"early_stopping": {"monitor": "accuracy"}}, "training.early_stopping.monitor"),
    ({"probes": {"bins": 1}}, "training.probes.bins"),
    ({"learning_rate": 0.1}, "training.learning_rate"),
])
def test_errors_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(field) + ":"):
        TrainConfig.from_dict(data)


def test_defaults_per_task() -> None:
    assert default_config("classification").loss.name == "CrossEntropy"
    regression = default_config("regression")
    assert (regression.loss.name, regression.optimizer.name) == ("MSE", "SGD")


def test_devices_listed_and_resolved() -> None:
    devices = list_devices()
    assert devices[0].id == "cpu" and devices[0].kind == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda:0" if torch.cuda.is_available() else devices[-1].id
    assert str(resolve_device("auto")) == expected


def test_calculate_gain_is_torchs() -> None:
    assert calculate_gain("relu") == pytest.approx(2 ** 0.5)
    assert calculate_gain("tanh") == pytest.approx(5 / 3)
    assert calculate_gain("leaky_relu", 0.2) == pytest.approx((2 / (1 + 0.2 ** 2)) ** 0.5)
    with pytest.raises(ConfigError):
        calculate_gain("swish")


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 3, 3), nn.Flatten(), nn.Linear(12, 12))


@pytest.mark.parametrize("scheme", list(INITS))
def test_every_init_scheme_applies_like_torch(scheme: str) -> None:
    layer = "Conv2d" if scheme == "dirac" else "Linear"
    net = _net()
    torch.manual_seed(3)
    assert apply_init(net, [InitRule([layer], scheme)]) == 1
    reference = _net()
    target = reference[0] if layer == "Conv2d" else reference[2]
    torch.manual_seed(3)
    INITS[scheme].fn(target.weight.data, **{p.name: p.default for p in INITS[scheme].params})
    got = net[0] if layer == "Conv2d" else net[2]
    assert torch.equal(got.weight, target.weight)


def test_init_rules_choose_tensor_and_check_dimensions() -> None:
    net = _net()
    apply_init(net, [InitRule(["Linear", "Conv2d"], "constant", {"val": 0.5}, "bias")])
    assert (net[2].bias == 0.5).all() and (net[0].bias == 0.5).all()
    with pytest.raises(ConfigError, match="eye needs a tensor with 2 to 2 dimensions"):
        apply_init(net, [InitRule(["Conv2d"], "eye")])
    with pytest.raises(ConfigError, match="xavier_uniform needs .* 2\\.bias has 1"):
        apply_init(net, [InitRule(["Linear"], "xavier_uniform", tensor="bias")])
