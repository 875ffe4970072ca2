"""A standalone training script for a project: `export --train-script train.py`.

`generate_train_script(project, model_module)` writes Python source that imports
`build_model` from the exported model file and reproduces the project's data (source,
split, augmentation), loss, optimizer, scheduler, epochs, batch size and seed with plain
torch / torchvision / scikit-learn / numpy calls. It runs as `python train.py` or under
`torchrun --nproc_per_node N train.py` (DistributedDataParallel) unchanged.

Nothing from the project file is executed: every value is validated first (through the
same registries the app uses) and written with repr; identifiers come from tables here.
What the script cannot reproduce faithfully is refused with a one-line ScriptError.
"""

from __future__ import annotations

import math
from typing import Any

from app.training.config import TrainConfig, default_config
from app.training.errors import ConfigError


class ScriptError(Exception):
    """The project uses something a generated training script does not support."""


def lit(value: Any) -> str:
    """repr of a plain JSON-like literal; anything else (or a non-finite float) is refused."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScriptError(f"train scripts need finite numbers, got {value!r}")
        return repr(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    raise ScriptError(f"train scripts cannot write the value {value!r}")


def _call(func: str, *args: str, **kwargs: Any) -> str:
    parts = [*args, *(f"{k}={lit(v)}" for k, v in kwargs.items())]
    return f"{func}({', '.join(parts)})"


# --- data sources -------------------------------------------------------------------

TABLES = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
          "diabetes": "load_diabetes"}
VISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def _source_code(source: str, p: dict[str, Any]) -> tuple[list[str], str, str | None]:
    """Lines that define `x` and `y` (tensors) or `pool` and `test` (torchvision sets),
    the task, and the image kind ("pil", "float" or None)."""
    if source == "digits":
        lines = ["bunch = skd.load_digits()",
                 "x = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0"]
        if p["upscale"]:
            lines += ["# MNIST digits are 20x20 centred in a 28x28 frame; the app does the same.",
                      "x = F.interpolate(x, size=(20, 20), mode='bilinear', align_corners=False)",
                      "x = F.pad(x, (4, 4, 4, 4)).clamp(0, 1)"]
        return [*lines, "y = torch.from_numpy(bunch.target)"], "classification", "float"
    if source in TABLES:
        task = "regression" if source == "diabetes" else "classification"
        lines = [f"bunch = skd.{TABLES[source]}()",
                 "x = np.asarray(bunch.data, dtype=np.float64)"]
        if p.get("standardize", False):
            lines.append("x = standardize_columns(x)")
        dtype = "np.float64" if task == "regression" else "np.int64"
        lines.append(f"y = np.asarray(bunch.target, dtype={dtype})")
        if p.get("standardize_target", False):
            lines.append("y = (y - y.mean()) / y.std()")
        return [*lines, "x, y = torch.from_numpy(x), torch.from_numpy(y)"], task, None
    if source == "linear":
        return [f"gen = torch.Generator().manual_seed({lit(p['seed'])})",
                f"w = torch.tensor({lit(p['w'])}, dtype=torch.float64)",
                (f"x = torch.randn({lit(p['n_samples'])}, len(w), generator=gen, "
                f"dtype=torch.float64)"),
                (f"noise = {lit(p['noise'])} * torch.randn({lit(p['n_samples'])}, generator=gen, "
                f"dtype=torch.float64)"),
                f"y = x @ w + {lit(p['b'])} + noise"], "regression", None
    points = {"moons": _call("skd.make_moons", lit(p.get("n_samples")), noise=p.get("noise"),
                             random_state=p.get("seed")),
              "circles": _call("skd.make_circles", lit(p.get("n_samples")), noise=p.get("noise"),
                               factor=p.get("factor"), random_state=p.get("seed")),
              "blobs": _call("skd.make_blobs", lit(p.get("n_samples")),
                             centers=p.get("n_classes"), cluster_std=p.get("cluster_std"),
                             random_state=p.get("seed"))}
    if source in points:
        return [f"x, y = {points[source]}", "x, y = torch.as_tensor(x), torch.as_tensor(y)"], \
            "classification", None
    if source == "spirals":
        n, k = lit(p["n_samples"]), lit(p["n_classes"])
        return [f"gen = torch.Generator().manual_seed({lit(p['seed'])})",
                f"y = torch.arange({n}) % {k}",
                f"t = torch.rand({n}, generator=gen, dtype=torch.float64)",
                f"angle = y * (2 * math.pi / {k}) + t * {lit(p['turns'])} * 2 * math.pi",
                (f"angle = angle + {lit(p['noise'])} * torch.randn({n}, generator=gen, "
                f"dtype=torch.float64)"),
                "x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)"], \
            "classification", None
    if source in VISION:
        root = f"os.path.expanduser({lit(p['root'])})"
        return [f"pool = tvd.{VISION[source]}({root}, train=True, download=False)",
                f"test = tvd.{VISION[source]}({root}, train=False, download=False)"], \
            "classification", "pil"
    raise ScriptError(f"train scripts do not support source '{source}' yet")


# --- augmentation -------------------------------------------------------------------

STEP_ARGS = {  # step type -> torch's keyword names, in order (all are v2 keywords)
    "Resize": ("size", "interpolation", "max_size", "antialias"),
    "CenterCrop": ("size",),
    "RandomCrop": ("size", "padding", "pad_if_needed", "fill", "padding_mode"),
    "RandomResizedCrop": ("size", "scale", "ratio", "interpolation"),
    "RandomHorizontalFlip": ("p",), "RandomVerticalFlip": ("p",),
    "RandomRotation": ("degrees", "interpolation", "expand", "center", "fill"),
    "Pad": ("padding", "fill", "padding_mode"),
    "ColorJitter": ("brightness", "contrast", "saturation", "hue"),
    "Grayscale": ("num_output_channels",), "RandomGrayscale": ("p",),
    "RandomAffine": ("degrees", "translate", "scale", "shear", "interpolation", "fill",
                     "center"),
    "RandomPerspective": ("distortion_scale", "p", "interpolation", "fill"),
    "GaussianBlur": ("kernel_size", "sigma"),
    "RandomErasing": ("p", "scale", "ratio", "value"),
    "ToImage": (),
}
INTERPOLATION = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC"}
DTYPE = {"float32": "torch.float32", "float64": "torch.float64", "uint8": "torch.uint8"}
TO_FLOAT = "v2.ToDtype(torch.float32, scale=True)"


def _step_code(step: dict[str, Any], where: str) -> list[str]:
    from app.data.augment import NORMALIZE_PRESETS

    kind, p = step["type"], step
    if kind in STEP_ARGS:
        args = []
        for name in STEP_ARGS[kind]:
            value = lit(p[name]) if name != "interpolation" else \
                f"v2.InterpolationMode.{INTERPOLATION[p[name]]}"
            args.append(f"{name}={value}")
        return [f"v2.{kind}({', '.join(args)})"]
    if kind == "ToDtype":
        return [f"v2.ToDtype({DTYPE[p['dtype']]}, scale={lit(p['scale'])})"]
    if kind == "ToTensor":
        return ["v2.ToImage()", TO_FLOAT]
    if kind == "LinearTransformation":
        return [(f"v2.LinearTransformation(torch.tensor({lit(p['transformation_matrix'])}), "
                f"torch.tensor({lit(p['mean_vector'])}))")]
    if kind == "Normalize":
        mean, std = NORMALIZE_PRESETS.get(p["preset"], (p["mean"], p["std"]))
        if mean is None:
            raise ScriptError(f"{where}: Normalize preset 'dataset' needs its statistics "
                              f"saved in the project before a train script can use them")
        return [_call("v2.Normalize", mean=list(mean), std=list(std))]
    if kind in ("RandomChoice", "RandomApply", "RandomOrder"):
        inner = ", ".join(c for i, s in enumerate(p["transforms"]) if s.get("enabled", True)
                          for c in _step_code(s, f"{where} > step {i + 1} '{s['type']}'"))
        extra = "" if kind == "RandomOrder" else f", p={lit(p['p'])}"
        return [f"v2.{kind}([{inner}]{extra})"]
    raise ScriptError(f"{where}: train scripts cannot inline the '{kind}' step yet; "
                      f"remove it or train in the app")


def _pipeline_code(steps: list[dict] | None, input_kind: str, which: str) -> str:
    """`v2.Compose([...])` for a validated step list, with the app's float32 tail."""
    from app.data.augment import STEPS, AugmentError, build_pipeline, normalize_steps

    try:
        build_pipeline(steps, input_kind=input_kind, stats=([0.0], [1.0]))  # validates
        steps = normalize_steps(list(steps or []))
    except AugmentError as exc:
        raise ScriptError(f"data.{which}: {exc}") from None
    items, kind = [], input_kind
    for i, step in enumerate(steps):
        if not step["enabled"]:
            continue
        items += _step_code(step, f"data.{which}: step {i + 1} '{step['type']}'")
        kind = STEPS[step["type"]].produces(kind, step)
    items += {"pil": ["v2.ToImage()", TO_FLOAT], "uint8": [TO_FLOAT], "float": []}[kind]
    items.append("v2.ToPureTensor()")
    body = "".join(f"    {item},\n" for item in items)
    return f"v2.Compose([\n{body}])"


# --- training pieces ----------------------------------------------------------------

CLASS_LOSSES = {"CrossEntropy": "CrossEntropyLoss", "NLL": "NLLLoss",
                "MultiMargin": "MultiMarginLoss"}
VALUE_LOSSES = {"MSE": "MSELoss", "L1": "L1Loss", "SmoothL1": "SmoothL1Loss",
                "Huber": "HuberLoss", "PoissonNLL": "PoissonNLLLoss"}


def _config(project: Any, task: str) -> TrainConfig:
    try:
        cfg = TrainConfig.from_dict(project.training) if project.training \
            else default_config(task)
    except ConfigError as exc:
        raise ScriptError(str(exc)) from None
    unsupported = [("training.init", cfg.init), ("training.freeze", cfg.freeze),
                   ("training.layer_lr", cfg.layer_lr),
                   ("training.mixed_precision", cfg.mixed_precision),
                   ("training.early_stopping", cfg.early_stopping.enabled)]
    for name, value in unsupported:
        if value:
            raise ScriptError(f"{name}: train scripts do not support this setting yet")
    return cfg


def _loss_code(cfg: TrainConfig, task: str) -> str:
    losses = CLASS_LOSSES if task == "classification" else VALUE_LOSSES
    if cfg.loss.name not in losses:
        raise ScriptError(f"training.loss: train scripts support {', '.join(losses)} for "
                          f"{task}, not {cfg.loss.name}")
    args = []
    for key, value in cfg.loss.params.items():
        args.append(f"{key}=torch.tensor({lit(value)})" if key == "weight" and value is not None
                    else f"{key}={lit(value)}")
    return f"nn.{losses[cfg.loss.name]}({', '.join(args)})"


def _optimizer_code(cfg: TrainConfig) -> str:
    from app.training.optimizers import OPTIMIZERS

    opt = cfg.optimizer
    spec = OPTIMIZERS[opt.name]
    if spec.needs_closure or opt.name == "SparseAdam":
        raise ScriptError(f"training.optimizer: train scripts do not support {opt.name} yet")
    lr = spec.lr if opt.lr is None else opt.lr
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in opt.params.items()}
    return _call(f"torch.optim.{spec.cls.__name__}", "model.parameters()", lr=lr, **params)


def _scheduler_code(cfg: TrainConfig) -> tuple[str | None, str, str | None]:
    """(constructor expression or None, step_per, monitored metric or None)."""
    s = cfg.scheduler
    if s.name is None:
        return None, "epoch", None
    p = dict(s.params)
    total = "EPOCHS * len(train_loader)" if s.step_per == "batch" else "EPOCHS"
    name = f"lr_scheduler.{s.name}"
    if s.name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingWarmRestarts"):
        return _call(name, "optimizer", **p), s.step_per, None
    if s.name == "CosineAnnealingLR":
        t_max = lit(p["T_max"]) if p["T_max"] else total
        return _call(name, "optimizer", f"T_max={t_max}", eta_min=p["eta_min"]), s.step_per, None
    if s.name == "OneCycleLR":
        max_lr = p.pop("max_lr")
        peak = lit(max_lr) if max_lr else "10 * optimizer.param_groups[0]['lr']"
        return _call(name, "optimizer", f"max_lr={peak}", f"total_steps={total}", **p), \
            s.step_per, None
    if s.name == "ReduceLROnPlateau":
        monitor = p.pop("monitor")
        if monitor not in ("val_loss", "train_loss", "val_accuracy"):
            raise ScriptError(f"training.scheduler: train scripts cannot monitor {monitor}")
        return _call(name, "optimizer", **p), s.step_per, monitor
    if s.name == "LambdaLR":
        if p["preset"] == "linear_warmup":
            factor = f"lambda step: min(1.0, (step + 1) / {lit(p['warmup_steps'])})"
        else:
            steps = lit(p["total_steps"]) if p["total_steps"] else f"({total})"
            factor = (f"lambda step: max(0.0, 1.0 - min(step, {steps}) / {steps}) "
                      f"** {lit(p['power'])}")
        return f"{name}(optimizer, {factor})", s.step_per, None
    raise ScriptError(f"training.scheduler: train scripts do not support {s.name} yet")


# --- the script -------------------------------------------------------------------------

def generate_train_script(project: Any, model_module: str) -> str:
    """Source of a standalone training script for `project` (see the module docstring)."""
    if not model_module.isidentifier():
        raise ScriptError(f"the model file name {model_module!r} is not an importable module "
                          f"name; use letters, digits and _")
    data = project.data or {}
    source = data.get("source")
    if not source:
        raise ScriptError("the project has no data source; choose one before exporting a "
                          "train script")
    from app.data.errors import DataSourceError, checked_params
    from app.data.sources import SOURCES

    spec = SOURCES.get(source)
    if spec is None:
        raise ScriptError(f"unknown data source '{source}'")
    try:
        params = checked_params(spec.params, data.get("params") or {}, f"source '{source}'",
                                DataSourceError)
    except DataSourceError as exc:
        raise ScriptError(f"data: {exc}") from None
    lines, task, image_kind = _source_code(source, params)
    split = {"val_fraction": 0.2, "test_fraction": 0.0, "seed": 0, **(data.get("split") or {})}
    for key, value in split.items():
        if key not in ("val_fraction", "test_fraction", "seed") or isinstance(value, bool) \
                or not isinstance(value, int | float):
            raise ScriptError(f"data.split.{key}: must be a number")
    train_steps, eval_steps = data.get("train_transforms"), data.get("eval_transforms")
    transformed = image_kind == "pil" or bool(train_steps or eval_steps)
    if transformed and image_kind is None:
        raise ScriptError(f"data: augmentation applies to image sources only, not '{source}'")
    cfg = _config(project, task)
    scheduler, step_per, monitor = _scheduler_code(cfg)
    return _render(model_module=model_module, title=str(getattr(project, "name", "") or ""),
                   source=source, lines=lines, task=task,
                   image_kind=image_kind, transformed=transformed, split=split,
                   train_tf=_pipeline_code(train_steps, image_kind, "train_transforms")
                   if transformed else None,
                   eval_tf=_pipeline_code(eval_steps, image_kind, "eval_transforms")
                   if transformed else None,
                   cfg=cfg, loss=_loss_code(cfg, task), optimizer=_optimizer_code(cfg),
                   scheduler=scheduler, step_per=step_per, monitor=monitor)


HEADER = '''\
"""Training script exported by TorchCanvas.

Data: source {source!r}; loss, optimizer and schedule as in the project.
Run:  python train.py
  or: torchrun --nproc_per_node N train.py   (DistributedDataParallel)
Saves the trained weights to model.pt (load them with build_model().load_state_dict).
"""
'''

DATASET_CLASS = '''

class Transformed(Dataset):
    """Items of `base` at `indices`, with `transform` on x (as the app does)."""

    def __init__(self, base, indices, transform):
        self.base, self.indices, self.transform = base, list(indices), transform

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        x, y = self.base[self.indices[i]]
        return self.transform(x), torch.as_tensor(y, dtype=torch.int64)
'''

STANDARDIZE = '''

def standardize_columns(x):
    """(x - mean) / std per column (ddof=1, NaN ignored); NaN and constant columns -> 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(x, axis=0)
        count = np.sum(~np.isnan(x), axis=0)
        std = np.sqrt(np.nansum((x - mean) ** 2, axis=0) / (count - 1))
        out = (x - mean) / std
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
'''


def _render(**k: Any) -> str:
    cfg: TrainConfig = k["cfg"]
    task, kind = k["task"], k["image_kind"]
    title = k["title"]
    uses = "\n".join(k["lines"])
    stdlib = ["import math", "import os"] if k["source"] == "spirals" else ["import os"]
    plain = ["import torch", "import torch.distributed as dist"]
    if "np." in uses or "standardize_columns" in uses:
        plain.append("import numpy as np")
    if kind == "pil":
        plain.append("import torchvision.datasets as tvd")
    froms = [("torch", "nn"), ("torch.nn.parallel", "DistributedDataParallel"),
             ("torch.utils.data", "DataLoader, Dataset, TensorDataset" if k["transformed"]
              else "DataLoader, TensorDataset"),
             ("torch.utils.data.distributed", "DistributedSampler")]
    if "skd." in uses:
        froms.append(("sklearn", "datasets as skd"))
    if "F." in uses:
        froms.append(("torch.nn", "functional as F"))
    if k["scheduler"]:
        froms.append(("torch.optim", "lr_scheduler"))
    if k["transformed"]:
        froms.append(("torchvision.transforms", "v2"))
    # isort's order (ruff I001): plain imports by module, then from-imports by module.
    plain.sort(key=lambda line: line.split()[1].lower())
    froms.sort(key=lambda item: item[0].lower())
    imports = [*stdlib, "", *plain, *(f"from {m} import {names}" for m, names in froms)]
    out = [HEADER.format(source=k["source"]), *imports, "",
           f"PROJECT = {lit(title)}", f"EPOCHS = {lit(cfg.epochs)}", f"BATCH_SIZE = {lit(cfg.batch_size)}",
           f"SEED = {lit(cfg.seed)}", f"SHUFFLE = {lit(cfg.shuffle)}",
           f"DROP_LAST = {lit(cfg.drop_last)}", f"NUM_WORKERS = {lit(cfg.num_workers)}",
           f"VAL_FRACTION = {lit(k['split']['val_fraction'])}",
           f"TEST_FRACTION = {lit(k['split']['test_fraction'])}",
           f"SPLIT_SEED = {lit(k['split']['seed'])}",
           f"L1 = {lit(cfg.regularisation.l1)}",
           f"CLIP = {lit(cfg.regularisation.clip)}  # None, 'norm' or 'value'",
           f"CLIP_VALUE = {lit(cfg.regularisation.clip_value)}",
           f"CLIP_NORM_TYPE = {lit(cfg.regularisation.clip_norm_type)}",
           f"REGRESSION = {lit(task == 'regression')}"]
    if "standardize_columns" in uses:
        out.append(STANDARDIZE.rstrip("\n"))
    if k["transformed"]:
        out.append(DATASET_CLASS.rstrip("\n"))
    has_test = kind == "pil"
    split_lines = [
        "",
        "",
        "def split_indices(n, has_test):",
        '    """Shuffled (train, val) indices, exactly as the app splits."""',
        "    n_val = round(n * VAL_FRACTION)",
        "    n_test = 0 if has_test else round(n * TEST_FRACTION)",
        "    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))",
        "    return order[n_val + n_test:].tolist(), order[:n_val].tolist()",
        "",
        "",
        "def load_data():",
        '    """The training and validation datasets of the project\'s data source."""',
        *(f"    {line}" for line in k["lines"]),
    ]
    if kind == "pil":
        split_lines += [
            "    train_idx, val_idx = split_indices(len(pool), has_test=True)",
            "    del test  # the official test split is not used for training",
            f"    train_tf = {indent(k['train_tf'], 4)}",
            f"    eval_tf = {indent(k['eval_tf'], 4)}",
            "    return (Transformed(pool, train_idx, train_tf),",
            "            Transformed(pool, val_idx, eval_tf) if val_idx else None)"]
    else:
        target = "y.long()" if task == "classification" else "y.float().reshape(-1, 1)"
        split_lines += [
            f"    pool = TensorDataset(x.float(), {target})",
            f"    train_idx, val_idx = split_indices(len(pool), has_test={has_test!r})"]
        if k["transformed"]:
            split_lines += [
                f"    train_tf = {indent(k['train_tf'], 4)}",
                f"    eval_tf = {indent(k['eval_tf'], 4)}",
                "    return (Transformed(pool, train_idx, train_tf),",
                "            Transformed(pool, val_idx, eval_tf) if val_idx else None)"]
        else:
            split_lines += [
                "    x, y = pool.tensors",
                "    val = TensorDataset(x[val_idx], y[val_idx]) if val_idx else None",
                "    return TensorDataset(x[train_idx], y[train_idx]), val"]
    out += split_lines
    out.append(TRAINING.format(
        model_module=k["model_module"], loss=k["loss"], optimizer=k["optimizer"],
        scheduler=f"scheduler = {k['scheduler']}\n    " if k["scheduler"] else "",
        batch_step="            scheduler.step()\n" if k["step_per"] == "batch" and k["scheduler"]
        else "",
        epoch_step=_epoch_step(k["scheduler"], k["step_per"], k["monitor"])))
    return "\n".join(out) + "\n"


def _epoch_step(scheduler: str | None, step_per: str, monitor: str | None) -> str:
    if not scheduler or step_per != "epoch":
        return ""
    if monitor is None:
        return "        scheduler.step()\n"
    value = {"val_loss": "val_loss if val_loss is not None else train_loss",
             "train_loss": "train_loss", "val_accuracy": "val_metric"}[monitor]
    return f"        scheduler.step({value})\n"


def indent(text: str, spaces: int) -> str:
    return text.replace("\n", "\n" + " " * spaces)


TRAINING = '''

def output_of(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def main():
    from {model_module} import build_model  # the exported model file, next to this script

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        rank, world, local_rank = 0, 1, 0
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    main_process = rank == 0

    train_set, val_set = load_data()
    torch.manual_seed(SEED)  # same seed -> the same initial weights in every process
    model = build_model().to(device)
    net = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda"
                                  else None) if distributed else model
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=SHUFFLE,
                                 seed=SEED)
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, sampler=sampler,
                              drop_last=DROP_LAST, num_workers=NUM_WORKERS)
    val_loader = DataLoader(val_set, batch_size=max(BATCH_SIZE, 256),
                            num_workers=NUM_WORKERS) if val_set is not None else None

    criterion = {loss}.to(device)
    optimizer = {optimizer}
    {scheduler}l1_params = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]

    for epoch in range(1, EPOCHS + 1):
        sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, samples
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = criterion(output_of(net(x)), y)
            if L1:
                loss = loss + L1 * sum(p.abs().sum() for p in l1_params)
            loss.backward()
            if CLIP == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), CLIP_VALUE, CLIP_NORM_TYPE)
            elif CLIP == "value":
                nn.utils.clip_grad_value_(model.parameters(), CLIP_VALUE)
            optimizer.step()
{batch_step}            total += torch.tensor([loss.item() * len(y), len(y)], device=device)
        if distributed:
            dist.all_reduce(total)
        train_loss = (total[0] / total[1]).item()
        val_loss, val_metric = evaluate(model, val_loader, criterion, device)
{epoch_step}        if main_process:
            line = f"epoch {{epoch}}/{{EPOCHS}}  train_loss {{train_loss:.4f}}"
            if val_loss is not None:
                name = "val_mse" if REGRESSION else "val_accuracy"
                line += f"  val_loss {{val_loss:.4f}}  {{name}} {{val_metric:.4f}}"
            print(line, flush=True)

    if main_process:
        torch.save(model.state_dict(), "model.pt")  # the unwrapped module's weights
        print("saved model.pt", flush=True)
    if distributed:
        dist.destroy_process_group()


def evaluate(model, loader, criterion, device):
    """Validation loss and accuracy (MSE for regression); every process computes it."""
    if loader is None:
        return None, None
    model.eval()
    loss_sum, metric_sum, count = 0.0, 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = output_of(model(x))
            loss_sum += criterion(out, y).item() * len(y)
            if REGRESSION:
                metric_sum += ((out - y) ** 2).mean().item() * len(y)
            else:
                metric_sum += (out.argmax(1) == y).sum().item()
            count += len(y)
    model.train()
    return loss_sum / count, metric_sum / count


if __name__ == "__main__":
    main()'''
