"""TrainConfig: everything a run needs besides the network and the data.

JSON-serialisable (`to_dict` / `from_dict`); stored in the project file's "training"
section. `from_dict` fills defaults and raises ConfigError whose message starts with the
field path, e.g. "training.optimizer.params.momentum: must be a number, got 'x'".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app.core.params import BOOL, CHOICE, FLOAT, INT, INTS, Param
from app.core.project import field_name
from app.training.devices import check_device_name
from app.training.errors import ConfigError, checked_object, checked_params, checked_value
from app.training.init import InitRule, validate_rule
from app.training.losses import LossConfig, validate_loss
from app.training.optimizers import OptimizerConfig, validate_optimizer
from app.training.pretrained import check_section
from app.training.schedulers import MONITORS, SchedulerConfig, validate_scheduler


@dataclass
class Regularisation:
    """L2 weight decay is an optimizer parameter (torch applies it inside step())."""

    l1: float = 0.0  # adds l1 * sum(|w|) over trainable weights to the loss
    clip: str | None = None  # None | "norm" | "value"
    clip_value: float = 1.0  # max norm, or max absolute gradient entry
    clip_norm_type: float = 2.0


@dataclass
class EarlyStopping:
    enabled: bool = False
    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass
class ProbeConfig:
    enabled: bool = True
    every_n_batches: int = 0  # 0: once per epoch, at its end
    bins: int = 30
    histograms: bool = True
    grad_norms: bool = True
    activation_layers: list[str] | None = None  # None: probes.auto_layers picks them


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    shuffle: bool = True
    drop_last: bool = False
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = False  # CUDA only: autocast + GradScaler
    log_every: int = 10  # BatchEnd every N batches; the loss is read (synced) only then
    top_k: list[int] = field(default_factory=lambda: [5])
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    init: list[InitRule] = field(default_factory=list)
    regularisation: Regularisation = field(default_factory=Regularisation)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    freeze: list[str] = field(default_factory=list)  # node names or blocks (module paths)
    layer_lr: dict[str, float] = field(default_factory=dict)  # node name -> its own lr
    # starting weights: {"published": NAME} or {"file": PATH}, "keep": fresh layers
    pretrained: dict[str, Any] | None = None
    probes: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "training") -> TrainConfig:
        return config_from_dict(data, where)

    def validated(self) -> TrainConfig:
        return config_from_dict(self.to_dict())


TOP = (Param("epochs", INT, 10, minimum=1),
       Param("batch_size", INT, 64, minimum=1),
       Param("shuffle", BOOL, True), Param("drop_last", BOOL, False),
       Param("num_workers", INT, 0, minimum=0), Param("seed", INT, 0, minimum=0),
       Param("mixed_precision", BOOL, False), Param("log_every", INT, 10, minimum=1),
       Param("top_k", INTS, [5], minimum=1, scalar_ok=False))
REGULARISATION = (Param("l1", FLOAT, 0.0, minimum=0.0),
                  Param("clip", CHOICE, None, choices=(None, "norm", "value"),
                        optional=True),
                  Param("clip_value", FLOAT, 1.0, minimum=0.0),
                  Param("clip_norm_type", FLOAT, 2.0, minimum=0.0))
EARLY = (Param("enabled", BOOL, False),
         Param("monitor", CHOICE, "val_loss", choices=MONITORS),
         Param("patience", INT, 5, minimum=0), Param("min_delta", FLOAT, 0.0, minimum=0.0),
         Param("restore_best", BOOL, True))
PROBES = (Param("enabled", BOOL, True), Param("every_n_batches", INT, 0, minimum=0),
          Param("bins", INT, 30, minimum=2, maximum=1000),
          Param("histograms", BOOL, True), Param("grad_norms", BOOL, True))
SECTIONS = ("loss", "optimizer", "scheduler", "init", "regularisation", "early_stopping",
            "freeze", "layer_lr", "probes", "device", "pretrained")


def _split(data: dict[str, Any], names: tuple[str, ...]) -> tuple[dict, dict]:
    return ({k: v for k, v in data.items() if k not in names},
            {k: v for k, v in data.items() if k in names})


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of node names, got {value!r}")
    return list(value)


def _keys(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}.{field_name(key)}: unknown field "
                              f"(known: {', '.join(allowed)})")


def _loss(value: Any, where: str) -> LossConfig:
    d = checked_object(value, where)
    _keys(d, ("name", "params"), where)
    return validate_loss(LossConfig(d.get("name", "CrossEntropy"), d.get("params") or {}),
                         where)


def _optimizer(value: Any, where: str) -> OptimizerConfig:
    d = checked_object(value, where)
    _keys(d, ("name", "lr", "params"), where)
    return validate_optimizer(OptimizerConfig(d.get("name", "Adam"), d.get("lr"),
                                              d.get("params") or {}), where)


def _scheduler(value: Any, where: str) -> SchedulerConfig:
    d = checked_object(value, where)
    _keys(d, ("name", "params", "step_per"), where)
    return validate_scheduler(SchedulerConfig(d.get("name"), d.get("params") or {},
                                              d.get("step_per")), where)


def _init(value: Any, where: str) -> list[InitRule]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of rules, got {value!r}")
    rules = []
    for i, item in enumerate(value):
        d = checked_object(item, f"{where}[{i}]")
        _keys(d, ("layer_types", "scheme", "params", "tensor"), f"{where}[{i}]")
        rule = InitRule(d.get("layer_types"), d.get("scheme"), d.get("params") or {},
                        d.get("tensor", "weight"))
        rules.append(validate_rule(rule, f"{where}[{i}]"))
    return rules


def _layer_lr(value: Any, where: str) -> dict[str, float]:
    d = checked_object(value, where)
    return {str(k): checked_value(Param(k, FLOAT, None, minimum=0.0), v, f"{where}.{k}")
            for k, v in d.items()}


def _probes(value: Any, where: str) -> ProbeConfig:
    d = checked_object(value, where)
    rest, layers = _split(d, ("activation_layers",))
    params = checked_params(PROBES, rest, where)
    chosen = layers.get("activation_layers")
    if chosen is not None:
        chosen = _names(chosen, f"{where}.activation_layers")
    return ProbeConfig(**params, activation_layers=chosen)


def _section(cls: type, specs: tuple[Param, ...], value: Any, where: str) -> Any:
    return cls(**checked_params(specs, checked_object(value, where), where))


def config_from_dict(data: Any, where: str = "training") -> TrainConfig:
    data = checked_object(data, where)
    top, sections = _split(data, SECTIONS)
    values = checked_params(TOP, top, where)
    return TrainConfig(
        **values,
        device=check_device_name(sections.get("device", "auto"), f"{where}.device"),
        loss=_loss(sections.get("loss"), f"{where}.loss"),
        optimizer=_optimizer(sections.get("optimizer"), f"{where}.optimizer"),
        scheduler=_scheduler(sections.get("scheduler"), f"{where}.scheduler"),
        init=_init(sections.get("init"), f"{where}.init"),
        regularisation=_section(Regularisation, REGULARISATION,
                                sections.get("regularisation"), f"{where}.regularisation"),
        early_stopping=_section(EarlyStopping, EARLY, sections.get("early_stopping"),
                                f"{where}.early_stopping"),
        freeze=_names(sections.get("freeze", []), f"{where}.freeze"),
        layer_lr=_layer_lr(sections.get("layer_lr"), f"{where}.layer_lr"),
        probes=_probes(sections.get("probes"), f"{where}.probes"),
        pretrained=check_section(sections.get("pretrained"), f"{where}.pretrained"),
    )


def default_config(task: str) -> TrainConfig:
    """Sensible starting points: cross-entropy + Adam, or MSE + SGD for regression."""
    if task == "regression":
        return TrainConfig(epochs=10, batch_size=10, loss=LossConfig("MSE"),  # d2l 3.2
                           optimizer=OptimizerConfig("SGD", lr=0.03)).validated()
    return TrainConfig().validated()
