"""Every registered loss, optimizer, scheduler and augmentation step either appears in a
generated train script, builds there what the app builds and trains for one epoch of a
few batches, or is refused with one line.

All accepted scripts run in ONE subprocess (a driver imports each and calls main()), so
the whole registry costs one interpreter start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler
from torchvision.transforms import v2

from app.core.project import Project
from app.core.templates import TEMPLATES
from app.data.augment import STEPS, build_pipeline, normalize_steps
from app.training.losses import LOSSES, LossConfig, build_loss, validate_loss
from app.training.optimizers import (
    OPTIMIZERS,
    OptimizerConfig,
    build_optimizer,
    validate_optimizer,
)
from app.training.schedulers import (
    SCHEDULERS,
    SchedulerConfig,
    build_scheduler,
    validate_scheduler,
)
from app.training.script import ScriptError, generate_train_script, step_code

# Values that suit the tiny data below (defaults where they already do).
IDENTITY64 = [[float(i == j) for j in range(64)] for i in range(64)]
STEP_PARAMS: dict[str, dict[str, Any]] = {
    "CenterCrop": {"size": 6}, "RandomCrop": {"size": 6, "padding": [1, 1]},
    "RandomResizedCrop": {"size": 8}, "Resize": {"size": 10, "interpolation": "nearest"},
    "FiveCrop": {"size": 4}, "TenCrop": {"size": 4},
    "LinearTransformation": {"transformation_matrix": IDENTITY64, "mean_vector": [0.0] * 64},
    "Normalize": {"mean": [0.5], "std": [0.25]}, "ToDtype": {"dtype": "float64"},
    "RandomChoice": {"transforms": [{"type": "RandomHorizontalFlip"},
                                    {"type": "RandomVerticalFlip"}], "p": [0.3, 0.7]},
    "RandomApply": {"transforms": [{"type": "RandomHorizontalFlip", "p": 1.0}], "p": 0.9},
    "RandomOrder": {"transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Pad"}]},
    "RandomErasing": {"p": 1.0, "value": "random"},
    "RandomAffine": {"degrees": 5, "translate": [0.1, 0.1], "scale": [0.9, 1.1]},
}
LOSS_PARAMS = {"CrossEntropy": {"label_smoothing": 0.1, "reduction": "none"},
               "Huber": {"delta": 0.5}, "BCEWithLogits": {"pos_weight": [2.0]}}
OPTIMIZER_PARAMS = {"SGD": {"momentum": 0.9, "nesterov": True}, "Adam": {"amsgrad": True},
                    "Rprop": {"etas": [0.4, 1.3]}}
SCHEDULER_PARAMS = {"ReduceLROnPlateau": {"monitor": "val_accuracy", "mode": "max"},
                    "OneCycleLR": {"max_lr": 0.05}, "LinearLR": {"total_iters": 2},
                    "MultiStepLR": {"milestones": [1]}}
# What the script refuses, each with the words its one-line message must contain.
REFUSED = {
    ("step", "FiveCrop"): "FiveCrop", ("step", "TenCrop"): "TenCrop",
    ("step", "SaltPepperNoise"): "SaltPepperNoise",
    ("optimizer", "LBFGS"): "closure", ("optimizer", "SparseAdam"): "sparse",
    **{("loss", name): f"not {name}" for name in (
        "KLDiv", "MarginRanking", "MultiLabelMargin", "MultiLabelSoftMargin",
        "TripletMargin", "CosineEmbedding", "CTC")},
}
BINARY = ("probability", "sign")  # one output per sample, labels 0/1


def _project(source: str, params: dict, training: dict, steps: list | None = None
             ) -> Project:
    project = TEMPLATES["linear_regression"].project()
    project.data = {"source": source, "params": params,
                    "split": {"val_fraction": 0.95 if source == "digits" else 0.25}}
    if steps is not None:
        project.data["train_transforms"] = steps
    project.training = {"epochs": 1, "batch_size": 32, **training}
    return project


def _cases() -> dict[tuple[str, str], tuple[Project, str]]:
    """(registry, name) -> (project, model kind) for every registered entry."""
    blobs = ("blobs", {"n_samples": 48, "n_classes": 3})
    two = ("blobs", {"n_samples": 48, "n_classes": 2})
    line = ("linear", {"n_samples": 48})
    cases: dict[tuple[str, str], tuple[Project, str]] = {}
    for name, spec in LOSSES.items():
        source = line if spec.task == "regression" else two if spec.target in BINARY else blobs
        model = "value" if spec.task == "regression" else \
            ("probability" if name == "BCE" else "binary") if spec.target in BINARY else "blobs"
        loss = {"name": name, "params": LOSS_PARAMS.get(name, {})}
        cases["loss", name] = (_project(*source, {"loss": loss, "optimizer": {"name": "SGD"}}),
                               model)
    for name in OPTIMIZERS:
        optimizer = {"name": name, "params": OPTIMIZER_PARAMS.get(name, {})}
        cases["optimizer", name] = (_project(*blobs, {"optimizer": optimizer}), "blobs")
    for name, spec in SCHEDULERS.items():
        scheduler = {"name": name, "params": SCHEDULER_PARAMS.get(name, {}),
                     "step_per": spec.step_per[-1]}
        cases["scheduler", name] = (_project(*blobs, {"optimizer": {"name": "SGD", "params": {
            "momentum": 0.9}}, "scheduler": scheduler}), "blobs")
    for name in STEPS:
        step = {"type": name, **STEP_PARAMS.get(name, {})}
        cases["step", name] = (_project("digits", {"upscale": False}, {}, [step]), "image")
    return cases


MODELS = {  # outputs and head of the hand-written model for each kind of case
    "blobs": "nn.Linear(2, 3)", "binary": "nn.Linear(2, 1)",
    "probability": "nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())", "value": "nn.Linear(2, 1)",
    "image": "Pooled()",
}
MODEL_FILE = '''\
import torch
from torch import nn


class Pooled(nn.Module):
    """Any image size and channel count -> 10 class scores."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        x = x.float().mean(1, keepdim=True)
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 2).flatten(1))


def build_model():
    torch.manual_seed(0)
    return {model}
'''
DRIVER = '''\
import importlib, os, sys, traceback
for folder in sys.argv[1:]:
    os.chdir(folder)
    sys.path.insert(0, folder)
    try:
        importlib.import_module("train_" + os.path.basename(folder)).main()
        print("DONE", os.path.basename(folder), flush=True)
    except Exception:
        print("FAILED", os.path.basename(folder), traceback.format_exc(), flush=True)
    sys.path.remove(folder)
'''


def test_every_registry_entry_is_scripted_and_trains_or_is_refused(tmp_path: Path) -> None:
    folders, texts = [], {}
    for i, ((registry, name), (project, model)) in enumerate(_cases().items()):
        try:
            text = generate_train_script(project, f"model_{i}")
        except ScriptError as exc:
            expected = REFUSED.get((registry, name))
            assert expected is not None, f"{registry} {name} refused: {exc}"
            assert expected in str(exc) and "\n" not in str(exc), str(exc)
            continue
        assert (registry, name) not in REFUSED, f"{registry} {name} should be refused"
        texts[registry, name] = text
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        (folder / f"model_{i}.py").write_text(MODEL_FILE.format(model=MODELS[model]))
        (folder / f"train_c{i}.py").write_text(text)
        folders.append((registry, name, folder))
    for (registry, name), text in texts.items():
        assert _written_name(registry, name) in text, (registry, name)
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run([sys.executable, str(tmp_path / "driver.py"),
                             *(str(f) for _, _, f in folders)], capture_output=True, text=True,
                            timeout=300, check=False, env=env)
    done = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("DONE")}
    failed = [f"{r} {n}: {result.stdout.split('FAILED ' + f.name, 1)[-1][:1500]}"
              for r, n, f in folders if f.name not in done]
    assert not failed, "\n".join(failed) + result.stderr[-2000:]
    assert result.stdout.count("epoch 1/1") == len(folders)


def _written_name(registry: str, name: str) -> str:
    if registry == "loss":
        return f"nn.{LOSSES[name].cls.__name__}("
    if registry == "optimizer":
        return f"torch.optim.{OPTIMIZERS[name].cls.__name__}("
    if registry == "scheduler":
        return f"lr_scheduler.{name}("
    return "v2.Compose([v2.ToImage()" if name == "ToTensor" else f"v2.{name}("


# --- what the written code builds equals what the app builds ---------------------------

def _eval(code: str, **names: Any) -> Any:
    return eval(code, {"torch": torch, "nn": nn, "v2": v2, "lr_scheduler": lr_scheduler,
                       **names})


def _public(obj: Any) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in vars(obj).items()
            if not k.startswith("_")}


@pytest.mark.parametrize("name", [n for n in LOSSES])
def test_loss_code_builds_the_apps_loss(name: str) -> None:
    app = build_loss(LossConfig(name, LOSS_PARAMS.get(name, {})))
    cfg = validate_loss(LossConfig(name, LOSS_PARAMS.get(name, {})))
    written = _eval(LOSSES[name].code(cfg.params).code)
    assert type(written) is type(app.module)
    assert _public(written) == _public(app.module)
    for key, value in app.module.state_dict().items():
        assert torch.equal(written.state_dict()[key], value), key


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS])
def test_optimizer_code_builds_the_apps_optimizer(name: str) -> None:
    cfg = validate_optimizer(OptimizerConfig(name, 0.05, OPTIMIZER_PARAMS.get(name, {})))
    model = nn.Linear(2, 3)
    app = build_optimizer(cfg, [{"params": model.parameters()}])
    written = _eval(OPTIMIZERS[name].code(cfg.lr, cfg.params, "model.parameters()").code,
                    model=model)
    assert type(written) is type(app) and written.defaults == app.defaults


@pytest.mark.parametrize("name", [n for n in SCHEDULERS])
def test_scheduler_code_builds_the_apps_scheduler_with_the_same_lr_trace(name: str) -> None:
    cfg = validate_scheduler(SchedulerConfig(name, SCHEDULER_PARAMS.get(name, {})))
    traces = []
    for written in (False, True):
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        if written:
            total = "EPOCHS * 3" if cfg.step_per == "batch" else "EPOCHS"
            sched = _eval(SCHEDULERS[name].code(cfg.params, total).code, optimizer=opt,
                          EPOCHS=4)
        else:
            sched = build_scheduler(cfg, opt, epochs=4, steps_per_epoch=3).scheduler
        trace = []
        for _ in range(12):
            opt.step()
            sched.step(1.0) if isinstance(sched, lr_scheduler.ReduceLROnPlateau) \
                else sched.step()
            trace.append(opt.param_groups[0]["lr"])
        traces.append(trace)
    assert traces[0] == traces[1]


@pytest.mark.parametrize("name", [n for n in STEPS if STEPS[n].code is not None])
def test_step_code_builds_the_apps_transform(name: str) -> None:
    step = {"type": name, **STEP_PARAMS.get(name, {})}
    app = build_pipeline([step], input_kind="float").transforms[0]
    written = _eval(step_code(normalize_steps([step])[0], "test").code)
    if name == "Normalize":  # the app's CheckedNormalize only adds a channel check
        assert (written.mean, written.std) == (app.mean, app.std)
    else:
        assert _state(written) == _state(app)


def _state(value: Any) -> Any:
    """A transform's settings, nested transforms included; 2 == 2.0 and [a] == (a,) as for
    torch, which reads both alike."""
    if isinstance(value, nn.Module):
        return (type(value).__name__, [_state(c) for c in value.children()],
                {k: _state(v) for k, v in vars(value).items() if not k.startswith("_")})
    if isinstance(value, list | tuple):
        return tuple(_state(v) for v in value)
    if isinstance(value, torch.Tensor):
        return tuple(value.flatten().tolist())
    if isinstance(value, Enum):  # torch keeps its default mode as the enum's value
        return value.value
    return int(value) if isinstance(value, float) and value.is_integer() else value
