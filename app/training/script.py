"""A standalone training script for a project: `export --train-script train.py`.

`generate_train_script(project, model_module)` writes Python source that imports
`build_model` from the exported model file and reproduces the project's data (source,
split, augmentation), loss, optimizer, scheduler, epochs, batch size and seed. It runs as
`python train.py` or under `torchrun --nproc_per_node N train.py` (DistributedDataParallel)
unchanged.

The pieces come from the registries the app trains with: each data source, augmentation
step, loss, optimizer and scheduler writes its own code (a Snippet with its imports), and
helpers the app uses (the split, the dataset wrapper, target adapters, column scaling)
are copied from their real source. Nothing from the project file is executed: values are
validated by those registries and written by `pysource.literal`. What the script cannot
reproduce is refused with a one-line ScriptError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.pysource import LiteralError, Snippet, embed, import_lines, literal, needs, snippet
from app.data.augment import STEPS, AugmentError, build_pipeline, normalize_steps
from app.data.datasets import TransformedDataset
from app.data.errors import DataSourceError, checked_params
from app.data.loading import SplitConfig, split_indices
from app.data.source_spec import SourceCode
from app.data.sources import SOURCES
from app.training.config import TrainConfig, default_config
from app.training.errors import ConfigError
from app.training.losses import LOSSES
from app.training.metrics import BINARY_THRESHOLDS
from app.training.optimizers import OPTIMIZERS
from app.training.schedulers import SCHEDULERS
from app.training.script_fine_tune import FineTuneCode, fine_tune_code
from app.training.script_template import HEADER, TRAINING
from app.training.targets import _as_is


class ScriptError(Exception):
    """The project uses something a generated training script does not support."""


# Target kinds the script's datasets can feed: class indices (N,) or values (N, 1).
TARGETS = {"classification": ("class_index", "probability", "sign"), "regression": ("value",)}
UNSUPPORTED = (("init", "training.init"), ("mixed_precision", "training.mixed_precision"))
BASE = ("from __future__ import annotations", "import os", "import torch",
        "import torch.distributed as dist", "from torch import nn",
        "from torch.nn.parallel import DistributedDataParallel",
        "from torch.utils.data import DataLoader",
        "from torch.utils.data.distributed import DistributedSampler")


@dataclass
class Parts:
    """The written pieces of one script."""

    source_id: str
    source: SourceCode
    split: SplitConfig
    pipelines: tuple[Snippet, Snippet] | None  # train, eval: `v2.Compose([...])`
    cfg: TrainConfig
    loss: Snippet  # the criterion
    loss_call: Snippet  # loss of a batch from `out` and `y`
    optimizer: Snippet
    scheduler: Snippet | None
    fine_tune: FineTuneCode | None  # pretrained weights, frozen layers, per-layer rates


def generate_train_script(project: Any, model_module: str) -> str:
    """Source of a standalone training script for `project` (see the module docstring)."""
    if not model_module.isidentifier():
        raise ScriptError(f"the model file name {model_module!r} is not an importable module "
                          f"name; use letters, digits and _")
    try:
        return _render(_parts(project), model_module, str(getattr(project, "name", "") or ""))
    except LiteralError as exc:
        raise ScriptError(f"train scripts cannot write a value: {exc}") from None
    except OSError as exc:  # inspect.getsource: an installation without .py files
        raise ScriptError(f"train scripts copy helpers from the app's source files, which "
                          f"this installation lacks ({exc})") from None


def _parts(project: Any) -> Parts:
    data = project.data or {}
    source = _source(data)
    train_steps, eval_steps = data.get("train_transforms"), data.get("eval_transforms")
    kind = source.image_kind
    if kind is None and (train_steps or eval_steps):
        raise ScriptError(f"data: augmentation applies to image sources only, not "
                          f"'{data['source']}'")
    transformed = kind == "pil" or bool(train_steps or eval_steps)
    pipelines = (_pipeline(train_steps, kind, "train_transforms"),
                 _pipeline(eval_steps, kind, "eval_transforms")) if transformed else None
    cfg = _config(project, source.task)
    loss, loss_call = _loss(cfg, source.task)
    try:
        fine_tune = fine_tune_code(project.network, cfg)
    except ValueError as exc:
        raise ScriptError(str(exc)) from None
    return Parts(data["source"], source, _split(data), pipelines, cfg, loss, loss_call,
                 _optimizer(cfg, fine_tune), _scheduler(cfg), fine_tune)


def _source(data: dict) -> SourceCode:
    name = data.get("source")
    if not name:
        raise ScriptError("the project has no data source; choose one before exporting a "
                          "train script")
    spec = SOURCES.get(name)
    if spec is None:
        raise ScriptError(f"unknown data source '{name}'")
    try:
        params = checked_params(spec.params, data.get("params") or {}, f"source '{name}'",
                                DataSourceError)
    except DataSourceError as exc:
        raise ScriptError(f"data: {exc}") from None
    if spec.code is None:
        raise ScriptError(f"train scripts do not support source '{name}' yet")
    return spec.code(params)


def _split(data: dict) -> SplitConfig:
    split = data.get("split") or {}
    for key, value in split.items():
        if key not in SplitConfig.__dataclass_fields__ or isinstance(value, bool) \
                or not isinstance(value, int | float):
            raise ScriptError(f"data.split.{key}: must be a number")
    return SplitConfig(**split)


def _pipeline(steps: list[dict] | None, input_kind: str, which: str) -> Snippet:
    """`v2.Compose([...])` of a validated step list, with the app's float32 tail."""
    try:
        build_pipeline(steps, input_kind=input_kind, stats=([0.0], [1.0]))  # validates
        steps = normalize_steps(list(steps or []))
    except AugmentError as exc:
        raise ScriptError(f"data.{which}: {exc}") from None
    items, kind = [], input_kind
    for i, step in enumerate(steps):
        if step["enabled"]:
            items.append(step_code(step, f"data.{which}: step {i + 1} '{step['type']}'"))
            kind = STEPS[step["type"]].produces(kind, step)
    tail = {"pil": ["v2.ToImage()", "v2.ToDtype(torch.float32, scale=True)"],
            "uint8": ["v2.ToDtype(torch.float32, scale=True)"], "float": []}[kind]
    codes = [item.code for item in items] + tail + ["v2.ToPureTensor()"]
    body = "".join(f"    {code},\n" for code in codes)
    return needs(f"v2.Compose([\n{body}])",
                 [*items, snippet("", "import torch", "from torchvision.transforms import v2")])


def step_code(step: dict, where: str) -> Snippet:
    """The source of one validated (normalized) step, nested steps included."""
    spec = STEPS[step["type"]]
    if spec.code is None:
        raise ScriptError(f"{where}: train scripts cannot inline the '{spec.type}' step yet; "
                          f"remove it or train in the app")
    params = {k: v for k, v in step.items() if k not in ("type", "enabled")}
    if spec.nests:
        params["transforms"] = [step_code(child, f"{where} > step {i + 1} '{child['type']}'")
                                for i, child in enumerate(params["transforms"])
                                if child["enabled"]]
    try:
        return spec.code(spec, params)
    except ValueError as exc:  # a Normalize preset 'dataset' without saved statistics
        raise ScriptError(f"{where}: {exc}; save the statistics in the project first") from None


def _config(project: Any, task: str) -> TrainConfig:
    try:
        cfg = TrainConfig.from_dict(project.training) if project.training \
            else default_config(task)
    except ConfigError as exc:
        raise ScriptError(str(exc)) from None
    for name, where in UNSUPPORTED:
        if getattr(cfg, name):
            raise ScriptError(f"{where}: train scripts do not support this setting yet")
    if cfg.early_stopping.enabled:
        raise ScriptError("training.early_stopping: train scripts do not support this "
                          "setting yet")
    return cfg


def _loss(cfg: TrainConfig, task: str) -> tuple[Snippet, Snippet]:
    spec = LOSSES[cfg.loss.name]
    if spec.target not in TARGETS[task]:
        names = [n for n, s in LOSSES.items() if s.target in TARGETS[task]]
        raise ScriptError(f"training.loss: train scripts support {', '.join(names)} for "
                          f"{task} data, not {cfg.loss.name}")
    adapt = spec.target_kind.adapt
    mean = ".mean()" if cfg.loss.params.get("reduction") == "none" else ""  # as the app does
    if adapt is _as_is:
        return spec.code(cfg.loss.params), snippet(f"criterion(out, y){mean}")
    helper = embed(adapt)
    return spec.code(cfg.loss.params), needs(f"criterion(*{helper.code}(out, y)){mean}",
                                             [helper])


def _optimizer(cfg: TrainConfig, fine_tune: FineTuneCode | None) -> Snippet:
    spec = OPTIMIZERS[cfg.optimizer.name]
    if spec.needs_closure or spec.sparse_only:
        why = "re-evaluates the loss in a closure" if spec.needs_closure \
            else "needs sparse gradients"
        raise ScriptError(f"training.optimizer: train scripts do not support {spec.name} "
                          f"(it {why})")
    parameters = fine_tune.parameters if fine_tune else "model.parameters()"
    return spec.code(cfg.optimizer.lr, cfg.optimizer.params, parameters)


def _scheduler(cfg: TrainConfig) -> Snippet | None:
    s = cfg.scheduler
    if s.name is None:
        return None
    monitor = s.params.get("monitor")
    if monitor not in (None, "val_loss", "train_loss", "val_accuracy"):
        raise ScriptError(f"training.scheduler: train scripts cannot monitor {monitor}")
    total = "EPOCHS * len(train_loader)" if s.step_per == "batch" else "EPOCHS"
    return SCHEDULERS[s.name].code(s.params, total)


# --- rendering ----------------------------------------------------------------------------

MONITORED = {"val_loss": "val_loss if val_loss is not None else train_loss",
             "train_loss": "train_loss", "val_accuracy": "val_metric"}


def _render(parts: Parts, model_module: str, title: str) -> str:
    cfg, source, split = parts.cfg, parts.source, parts.split
    regression = source.task == "regression"
    has_test = source.image_kind == "pil"
    splitter, dataset = embed(split_indices), embed(TransformedDataset)
    tune = parts.fine_tune
    used = [source.lines, parts.loss, parts.loss_call, parts.optimizer, splitter,
            *([parts.scheduler] if parts.scheduler else []), *([tune.code] if tune else []),
            *([dataset, *parts.pipelines] if parts.pipelines else [])]
    tensors = ["from torch.utils.data import TensorDataset"] if not has_test else []
    imports = import_lines([*BASE, *tensors, *(line for p in used for line in p.imports)])
    constants = {
        "PROJECT": title, "EPOCHS": cfg.epochs, "BATCH_SIZE": cfg.batch_size, "SEED": cfg.seed,
        "SHUFFLE": cfg.shuffle, "DROP_LAST": cfg.drop_last, "NUM_WORKERS": cfg.num_workers,
        "VAL_FRACTION": split.val_fraction, "TEST_FRACTION": split.test_fraction,
        "SPLIT_SEED": split.seed, "L1": cfg.regularisation.l1,
        "CLIP": cfg.regularisation.clip, "CLIP_VALUE": cfg.regularisation.clip_value,
        "CLIP_NORM_TYPE": cfg.regularisation.clip_norm_type, "REGRESSION": regression,
        "THRESHOLD": BINARY_THRESHOLDS.get(cfg.loss.name)}
    notes = {"CLIP": "None, 'norm' or 'value'",
             "THRESHOLD": "one output per sample: class 1 above it"}
    helpers = dict.fromkeys(h for p in used for h in p.helpers)
    out = [HEADER.format(source=parts.source_id).rstrip("\n"), "",
           *imports, "",
           *(f"{name} = {literal(value)}" + (f"  # {notes[name]}" if name in notes else "")
             for name, value in constants.items()),
           *(tune.constants if tune else []),
           *(f"\n\n{helper}" for helper in helpers),
           "", "", *_load_data(parts, splitter, dataset, has_test, regression)]
    scheduler = parts.scheduler.code if parts.scheduler else None
    out.append(TRAINING.format(
        model_module=model_module, model=tune.code.code if tune else "build_model()",
        loss=parts.loss.code, loss_call=parts.loss_call.code,
        optimizer=parts.optimizer.code,
        scheduler=f"scheduler = {scheduler}\n    " if scheduler else "",
        batch_step="            scheduler.step()\n"
        if scheduler and cfg.scheduler.step_per == "batch" else "",
        epoch_step=_epochstep_code(scheduler, cfg)))
    return "\n".join(out) + "\n"


def _load_data(parts: Parts, splitter: Snippet, dataset: Snippet, has_test: bool,
               regression: bool) -> list[str]:
    lines = ["def load_data():",
             '    """The training and validation datasets of the project\'s data source."""',
             *(f"    {line}" for line in parts.source.lines.code.split("\n"))]
    split = ["    split = SplitConfig(VAL_FRACTION, TEST_FRACTION, SPLIT_SEED)",
             f"    train_idx, val_idx, _ = {splitter.code}(len(pool), split, has_test={has_test})"]
    if not has_test:
        target = "y.float().reshape(-1, 1)" if regression else "y.long()"
        lines.append(f"    pool = TensorDataset(x.float(), {target})")
    if parts.pipelines is None:
        return [*lines, *split, "    x, y = pool.tensors",
                "    val = TensorDataset(x[val_idx], y[val_idx]) if val_idx else None",
                "    return TensorDataset(x[train_idx], y[train_idx]), val"]
    train_tf, eval_tf = (p.code.replace("\n", "\n    ") for p in parts.pipelines)
    if has_test:
        lines.append("    del test  # the official test split is not used for training")
    dtype = "torch.float32" if regression else "torch.int64"
    return [*lines, *split, f"    train_tf = {train_tf}", f"    eval_tf = {eval_tf}",
            f"    return ({dataset.code}(pool, train_idx, train_tf, {dtype}),",
            f"            {dataset.code}(pool, val_idx, eval_tf, {dtype}) if val_idx else None)"]


def _epochstep_code(scheduler: str | None, cfg: TrainConfig) -> str:
    if not scheduler or cfg.scheduler.step_per != "epoch":
        return ""
    monitor = cfg.scheduler.params.get("monitor")
    value = MONITORED[monitor] if monitor else ""
    return f"        scheduler.step({value})\n"
