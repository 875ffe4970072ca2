"""Each optimizer and scheduler, driven by the Trainer, against torch used by hand."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S
from torch.utils.data import TensorDataset

from app.data.sources import DatasetBundle
from app.training.config import TrainConfig
from app.training.events import BatchEnd, EpochEnd, RunFinished
from app.training.optimizers import OPTIMIZERS
from app.training.schedulers import SCHEDULERS
from app.training.setup import EpochSampler
from app.training.trainer import Trainer
from tests.training.conftest import blobs, config, small_net

OPTIMIZER_PARAMS = {"SGD": {"momentum": 0.9, "nesterov": True}, "Adam": {"amsgrad": True},
                    "LBFGS": {"max_iter": 3}}


def tokens() -> DatasetBundle:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 20, (64, 1), generator=g)
    y = x[:, 0] % 3
    return DatasetBundle(TensorDataset(x, y), None, None, "classification", (1,), 3, None,
                         input_dtype="int64")


def sparse_net() -> nn.Module:
    return nn.Sequential(nn.Embedding(20, 3, sparse=True), nn.Flatten())


def by_hand(model: nn.Module, data: DatasetBundle, cfg: TrainConfig) -> nn.Module:
    """The plain PyTorch loop with torch's optimizer, over the Trainer's batch order."""
    spec = OPTIMIZERS[cfg.optimizer.name]
    kwargs = {k: tuple(v) if isinstance(v, list) else v
              for k, v in cfg.optimizer.params.items()}
    opt = spec.cls(model.parameters(), lr=cfg.optimizer.lr or spec.lr, **kwargs)
    loss_fn = nn.CrossEntropyLoss()
    sampler = EpochSampler(len(data.train), True, cfg.seed)
    for epoch in range(1, cfg.epochs + 1):
        sampler.set_epoch(epoch)
        order = list(sampler)
        for i in range(0, len(order), cfg.batch_size):
            x, y = data.train[order[i:i + cfg.batch_size]]

            def closure(x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                return loss
            opt.step(closure)
    return model


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_like_torch(name: str) -> None:
    data, net = (tokens(), sparse_net()) if name == "SparseAdam" else (blobs(), small_net())
    cfg = config(optimizer={"name": name, "params": OPTIMIZER_PARAMS.get(name, {})})
    start, initial = copy.deepcopy(net), copy.deepcopy(net)
    result = Trainer(net, data, cfg).run()
    assert isinstance(result, RunFinished), result
    expected = by_hand(start, data, cfg)
    for (key, got), want in zip(net.state_dict().items(), expected.state_dict().values()):
        assert torch.allclose(got, want, atol=1e-6), (name, key)
    assert not torch.equal(net[0].weight, initial[0].weight)  # it really trained


def test_sparse_adam_on_dense_layers_fails_readably() -> None:
    result = Trainer(small_net(), blobs(), config(optimizer={"name": "SparseAdam"})).run()
    assert "SparseAdam" in result.reason and "dense" in result.reason


SCHEDULE_CASES = {
    "StepLR": ({"step_size": 2, "gamma": 0.5}, lambda o: S.StepLR(o, 2, 0.5)),
    "MultiStepLR": ({"milestones": [1, 3], "gamma": 0.3},
                    lambda o: S.MultiStepLR(o, [1, 3], 0.3)),
    "ExponentialLR": ({"gamma": 0.8}, lambda o: S.ExponentialLR(o, 0.8)),
    "CosineAnnealingLR": ({"eta_min": 0.001}, lambda o: S.CosineAnnealingLR(o, 4, 0.001)),
    "CosineAnnealingWarmRestarts": ({"T_0": 2, "T_mult": 2},
                                    lambda o: S.CosineAnnealingWarmRestarts(o, 2, 2)),
    "OneCycleLR": ({"max_lr": 0.5}, lambda o: S.OneCycleLR(o, 0.5, total_steps=4 * 4)),
    "LinearLR": ({"start_factor": 0.25, "total_iters": 3},
                 lambda o: S.LinearLR(o, 0.25, total_iters=3)),
    "PolynomialLR": ({"power": 2.0}, lambda o: S.PolynomialLR(o, 4, 2.0)),
}


def test_every_scheduler_is_exercised() -> None:
    assert set(SCHEDULE_CASES) | {"ReduceLROnPlateau"} == set(SCHEDULERS)


@pytest.mark.parametrize("name", list(SCHEDULE_CASES))
def test_lr_trace_matches_torch_side_by_side(name: str) -> None:
    params, make = SCHEDULE_CASES[name]
    events: list = []
    cfg = config(epochs=4, batch_size=16, optimizer={"name": "SGD", "lr": 0.1,
                                                     "params": {"momentum": 0.9}},
                 scheduler={"name": name, "params": params})
    Trainer(small_net(), blobs(n=80), cfg, callback=events.append).run()  # 60 train: 4 batches
    batches = [e for e in events if isinstance(e, BatchEnd)]
    per_batch = cfg.scheduler.step_per == "batch"
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    sched = make(opt)
    expected = []
    for _epoch in range(4):
        for _batch in range(4):
            opt.step()
            if per_batch:
                sched.step()
            expected.append(opt.param_groups[0]["lr"])  # BatchEnd reports the lr after
        if not per_batch:
            sched.step()
    assert [b.lr for b in batches] == pytest.approx(expected, rel=1e-12)
    if not per_batch:
        epochs = [e.lr for e in events if isinstance(e, EpochEnd)]
        assert epochs == pytest.approx(expected[::4], rel=1e-12)  # lr of each first batch


def test_polynomial_steps_per_batch_when_asked() -> None:
    cfg = config(epochs=3, scheduler={"name": "PolynomialLR", "step_per": "batch",
                                      "params": {"total_iters": 6, "power": 2.0}},
                 optimizer={"name": "SGD", "lr": 0.9})
    events: list = []
    Trainer(small_net(), blobs(n=40), cfg, callback=events.append).run()  # 2 batches
    lrs = [e.lr for e in events if isinstance(e, EpochEnd)]
    assert lrs == pytest.approx([0.9, 0.9 * (4 / 6) ** 2, 0.9 * (2 / 6) ** 2])


LEGACY_WARMUP = ({"preset": "linear_warmup", "warmup_steps": 7},
                 lambda s: min(1.0, (s + 1) / 7))
LEGACY_POLY = ({"preset": "polynomial", "total_steps": 5, "power": 2.0},
               lambda s: max(0.0, 1.0 - min(s, 5) / 5) ** 2.0)


@pytest.mark.parametrize("params, factor", [LEGACY_WARMUP, LEGACY_POLY])
def test_old_lambda_presets_load_as_torch_schedulers_with_the_same_trace(params, factor
                                                                         ) -> None:
    cfg = TrainConfig.from_dict({"epochs": 4, "scheduler": {"name": "LambdaLR",
                                                            "params": params}})
    assert cfg.scheduler.name in ("LinearLR", "PolynomialLR")
    assert cfg.scheduler.step_per == "batch"  # LambdaLR's default interval is kept
    events: list = []
    run_cfg = config(epochs=4, optimizer={"name": "SGD", "lr": 0.1},
                     scheduler={"name": "LambdaLR", "params": params})
    Trainer(small_net(), blobs(n=80), run_cfg, callback=events.append).run()
    got = [b.lr for b in events if isinstance(b, BatchEnd)]
    assert got == pytest.approx([0.1 * factor(s) for s in range(1, 17)], rel=1e-9, abs=1e-15)


def test_reduce_on_plateau_follows_the_validation_loss() -> None:
    events: list = []
    cfg = config(epochs=6, optimizer={"name": "SGD", "lr": 0.5},
                 scheduler={"name": "ReduceLROnPlateau",
                            "params": {"patience": 0, "factor": 0.5, "threshold": 0.05}})
    Trainer(small_net(), blobs(), cfg, callback=events.append).run()
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    torch_sched = S.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.05)
    expected = []
    for e in epochs:
        expected.append(opt.param_groups[0]["lr"])
        torch_sched.step(e.val_loss)
    assert [e.lr for e in epochs] == pytest.approx(expected)
    assert min(expected) < 0.5  # the plateau really triggered


def test_one_cycle_without_momentum_is_a_config_error() -> None:
    cfg = config(optimizer={"name": "Adagrad"}, scheduler={"name": "OneCycleLR"})
    result = Trainer(small_net(), blobs(), cfg).run()
    assert "OneCycleLR" in result.reason and "momentum" in result.reason


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_fused_adam_steps_like_the_default_and_is_written_only_when_asked(name) -> None:
    from app.training.optimizers import OptimizerConfig, build_optimizer

    torch.manual_seed(0)
    start = torch.randn(5, 3)
    grads = [torch.randn(5, 3) for _ in range(3)]
    stepped = []
    for params in ({}, {"fused": True}):
        weight = torch.nn.Parameter(start.clone())
        opt = build_optimizer(OptimizerConfig(name, 0.01, params), [{"params": [weight]}])
        assert opt.defaults["fused"] is params.get("fused")
        for g in grads:
            weight.grad = g.clone()
            opt.step()
        stepped.append(weight.detach())
    assert torch.allclose(*stepped, atol=1e-6) and not torch.equal(stepped[0], start)
    assert "fused" not in OPTIMIZERS[name].code(0.01, {}, "model.parameters()").code
    assert "fused=True" in OPTIMIZERS[name].code(0.01, {"fused": True},
                                                  "model.parameters()").code
