"""Learning-rate scheduler registry, and when each one steps.

torch's rule (since 1.1): call optimizer.step() first, then scheduler.step(). Per-epoch
schedulers step after each epoch's last batch, per-batch ones after every batch
(OneCycleLR always per batch: its total_steps counts batches). ReduceLROnPlateau steps
per epoch with the monitored metric. LambdaLR takes named presets, never code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import optim
from torch.optim import lr_scheduler as sched

from app.core.params import BOOL, CHOICE, FLOAT, INT, INTS, Param
from app.training.errors import ConfigError, checked_params, lookup

EPOCH, BATCH = "epoch", "batch"
GAMMA = Param("gamma", FLOAT, 0.1, "factor the learning rate is multiplied by", 0.0)
ETA_MIN = Param("eta_min", FLOAT, 0.0, "lowest learning rate", 0.0)
MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")


class LinearWarmup:
    """Factor rising linearly from 1/warmup_steps to 1, then staying at 1.

    A class, not a lambda, so LambdaLR.state_dict() saves its fields and a checkpoint
    restores it (LambdaLR stores the __dict__ of callable objects).
    """

    def __init__(self, warmup_steps: int) -> None:
        self.warmup_steps = warmup_steps

    def __call__(self, step: int) -> float:
        return min(1.0, (step + 1) / self.warmup_steps)


class Polynomial:
    """Factor (1 - step / total_steps) ** power, reaching 0 at total_steps."""

    def __init__(self, total_steps: int, power: float) -> None:
        self.total_steps = total_steps
        self.power = power

    def __call__(self, step: int) -> float:
        return max(0.0, 1.0 - min(step, self.total_steps) / self.total_steps) ** self.power


@dataclass(frozen=True)
class SchedulerSpec:
    name: str
    params: tuple[Param, ...]
    help: str
    step_per: tuple[str, ...] = (EPOCH,)  # allowed intervals; the first is the default
    monitors: bool = False  # step(metric): ReduceLROnPlateau


SCHEDULERS: dict[str, SchedulerSpec] = {s.name: s for s in (
    SchedulerSpec("StepLR", (Param("step_size", INT, 10, "epochs between decays", 1),
                             GAMMA), "multiply the rate by gamma every step_size epochs"),
    SchedulerSpec("MultiStepLR", (Param("milestones", INTS, [30, 80], "epochs at which "
                                        "the rate decays", 1, scalar_ok=False), GAMMA),
                  "multiply the rate by gamma at each milestone epoch"),
    SchedulerSpec("ExponentialLR", (Param("gamma", FLOAT, 0.9, "factor per epoch", 0.0),),
                  "multiply the rate by gamma every epoch"),
    SchedulerSpec("CosineAnnealingLR",
                  (Param("T_max", INT, None, "steps of one half cosine (default: the "
                         "whole run)", 1, optional=True), ETA_MIN),
                  "cosine curve from the initial rate down to eta_min", (EPOCH, BATCH)),
    SchedulerSpec("CosineAnnealingWarmRestarts",
                  (Param("T_0", INT, 10, "epochs until the first restart", 1),
                   Param("T_mult", INT, 1, "growth of the period after a restart", 1),
                   ETA_MIN), "cosine annealing that restarts at the initial rate"),
    SchedulerSpec("OneCycleLR",
                  (Param("max_lr", FLOAT, None, "peak rate (default: 10x the optimizer "
                         "lr)", 0.0, optional=True),
                   Param("pct_start", FLOAT, 0.3, "fraction of the cycle spent rising",
                         0.0, 1.0),
                   Param("anneal_strategy", CHOICE, "cos", "shape of the curve",
                         choices=("cos", "linear")),
                   Param("cycle_momentum", BOOL, True, "cycle momentum inversely"),
                   Param("base_momentum", FLOAT, 0.85, "lowest momentum", 0.0),
                   Param("max_momentum", FLOAT, 0.95, "highest momentum", 0.0),
                   Param("div_factor", FLOAT, 25.0, "initial rate = max_lr / div_factor",
                         1e-12),
                   Param("final_div_factor", FLOAT, 1e4, "final rate = initial / this",
                         1e-12),
                   Param("three_phase", BOOL, False, "annihilation phase at the end")),
                  "one rise and fall over the whole run, stepped every batch", (BATCH,)),
    SchedulerSpec("ReduceLROnPlateau",
                  (Param("monitor", CHOICE, "val_loss", "metric watched (not a torch "
                         "argument)", choices=MONITORS),
                   Param("mode", CHOICE, "min", "min for losses, max for accuracies",
                         choices=("min", "max")),
                   Param("factor", FLOAT, 0.1, "factor the rate is multiplied by", 0.0,
                         0.999999),
                   Param("patience", INT, 10, "epochs without improvement to wait", 0),
                   Param("threshold", FLOAT, 1e-4, "minimal improvement", 0.0),
                   Param("threshold_mode", CHOICE, "rel", "relative or absolute",
                         choices=("rel", "abs")),
                   Param("cooldown", INT, 0, "epochs to wait after a reduction", 0),
                   Param("min_lr", FLOAT, 0.0, "lower bound on the rate", 0.0),
                   Param("eps", FLOAT, 1e-8, "smallest change applied", 0.0)),
                  "reduce the rate when a metric stops improving", monitors=True),
    SchedulerSpec("LambdaLR",
                  (Param("preset", CHOICE, "linear_warmup", "factor curve",
                         choices=("linear_warmup", "polynomial")),
                   Param("warmup_steps", INT, 100, "linear_warmup: steps to reach the "
                         "full rate", 1),
                   Param("total_steps", INT, None, "polynomial: steps to reach 0 "
                         "(default: the whole run)", 1, optional=True),
                   Param("power", FLOAT, 1.0, "polynomial: exponent", 0.0)),
                  "initial rate times a preset factor curve", (BATCH, EPOCH)),
)}


@dataclass
class SchedulerConfig:
    name: str | None = None  # None: constant learning rate
    params: dict[str, Any] = field(default_factory=dict)
    step_per: str | None = None  # None: the scheduler's default interval


@dataclass
class Schedule:
    """A built scheduler and how the trainer drives it."""

    scheduler: sched.LRScheduler | sched.ReduceLROnPlateau
    step_per: str
    monitor: str | None = None


def scheduler_spec(name: str, where: str = "scheduler.name") -> SchedulerSpec:
    return lookup(SCHEDULERS, name, "scheduler", where)


def validate_scheduler(cfg: SchedulerConfig, where: str = "scheduler") -> SchedulerConfig:
    if cfg.name is None:
        return SchedulerConfig()
    spec = scheduler_spec(cfg.name, f"{where}.name")
    params = checked_params(spec.params, cfg.params, f"{where}.params")
    step_per = cfg.step_per or spec.step_per[0]
    if step_per not in spec.step_per:
        raise ConfigError(f"{where}.step_per: {cfg.name} steps per "
                          f"{' or '.join(spec.step_per)}, not per {step_per!r}")
    return SchedulerConfig(cfg.name, params, step_per)


def build_scheduler(cfg: SchedulerConfig, optimizer: optim.Optimizer, *, epochs: int,
                    steps_per_epoch: int) -> Schedule | None:
    """The scheduler for a run of `epochs` epochs of `steps_per_epoch` batches."""
    cfg = validate_scheduler(cfg)
    if cfg.name is None:
        return None
    assert cfg.step_per is not None
    total = epochs * (steps_per_epoch if cfg.step_per == BATCH else 1)
    params = dict(cfg.params)
    builder = _BUILDERS.get(cfg.name, _plain)
    try:
        scheduler = builder(cfg.name, params, optimizer, total)
    except ValueError as exc:  # e.g. OneCycleLR cycle_momentum on Adagrad
        raise ConfigError(f"scheduler: {cfg.name}: {exc}") from None
    return Schedule(scheduler, cfg.step_per, params.get("monitor"))


def _plain(name: str, params: dict[str, Any], opt: optim.Optimizer, total: int
           ) -> sched.LRScheduler:
    return getattr(sched, name)(opt, **params)


def _cosine(name: str, params: dict[str, Any], opt: optim.Optimizer, total: int
            ) -> sched.LRScheduler:
    return sched.CosineAnnealingLR(opt, T_max=params["T_max"] or total,
                                   eta_min=params["eta_min"])


def _one_cycle(name: str, params: dict[str, Any], opt: optim.Optimizer, total: int
               ) -> sched.LRScheduler:
    max_lr = params.pop("max_lr") or 10 * opt.param_groups[0]["lr"]
    return sched.OneCycleLR(opt, max_lr=max_lr, total_steps=total, **params)


def _plateau(name: str, params: dict[str, Any], opt: optim.Optimizer, total: int
             ) -> sched.ReduceLROnPlateau:
    params = {k: v for k, v in params.items() if k != "monitor"}
    return sched.ReduceLROnPlateau(opt, **params)


def _lambda(name: str, params: dict[str, Any], opt: optim.Optimizer, total: int
            ) -> sched.LRScheduler:
    if params["preset"] == "linear_warmup":
        factor: LinearWarmup | Polynomial = LinearWarmup(params["warmup_steps"])
    else:
        factor = Polynomial(params["total_steps"] or total, params["power"])
    return sched.LambdaLR(opt, factor)


_BUILDERS = {"CosineAnnealingLR": _cosine, "OneCycleLR": _one_cycle,
             "ReduceLROnPlateau": _plateau, "LambdaLR": _lambda}
