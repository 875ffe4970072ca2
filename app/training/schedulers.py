"""Learning-rate scheduler registry, and when each one steps.

torch's rule (since 1.1): call optimizer.step() first, then scheduler.step(). Per-epoch
schedulers step after each epoch's last batch, per-batch ones after every batch
(OneCycleLR always per batch: its total_steps counts batches). ReduceLROnPlateau steps
per epoch with the monitored metric.

Each entry's `arguments` turns its params into torch's keyword arguments, given the run's
total steps and the initial rate; the app builds the scheduler from them and the train
script writes them (then total and rate are expressions of the script).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.lazy import lazy_module
from app.core.params import BOOL, CHOICE, FLOAT, INT, INTS, Param
from app.core.pysource import Expr, Snippet, call, changed, snippet
from app.training.errors import ConfigError, checked_params, lookup

if TYPE_CHECKING:
    from torch import optim

sched = lazy_module("torch.optim.lr_scheduler")

EPOCH, BATCH = "epoch", "batch"
GAMMA = Param("gamma", FLOAT, 0.1, "factor the learning rate is multiplied by", 0.0)
ETA_MIN = Param("eta_min", FLOAT, 0.0, "lowest learning rate", 0.0)
MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")

# (params, total steps of the run, initial lr) -> torch's keyword arguments. total and lr
# are numbers in the app and Expr in the train script.
Arguments = Callable[[dict[str, Any], Any, Any], dict[str, Any]]


def _same(params: dict[str, Any], total: Any, lr: Any) -> dict[str, Any]:
    return params


def _cosine(params: dict[str, Any], total: Any, lr: Any) -> dict[str, Any]:
    return {"T_max": params["T_max"] or total, "eta_min": params["eta_min"]}


def _one_cycle(params: dict[str, Any], total: Any, lr: Any) -> dict[str, Any]:
    peak = params["max_lr"] or (Expr(f"10 * {lr}") if isinstance(lr, Expr) else 10 * lr)
    return {**params, "max_lr": peak, "total_steps": total}


def _plateau(params: dict[str, Any], total: Any, lr: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "monitor"}


def _polynomial(params: dict[str, Any], total: Any, lr: Any) -> dict[str, Any]:
    return {"total_iters": params["total_iters"] or total, "power": params["power"]}


@dataclass(frozen=True)
class SchedulerSpec:
    name: str
    params: tuple[Param, ...]
    help: str
    step_per: tuple[str, ...] = (EPOCH,)  # allowed intervals; the first is the default
    monitors: bool = False  # step(metric): ReduceLROnPlateau
    arguments: Arguments = field(default=_same, repr=False)

    def build(self, optimizer: optim.Optimizer, params: dict[str, Any], total: int
              ) -> sched.LRScheduler | sched.ReduceLROnPlateau:
        lr = optimizer.param_groups[0]["lr"]
        return getattr(sched, self.name)(optimizer, **self.arguments(params, total, lr))

    def code(self, params: dict[str, Any], total: str, optimizer: str = "optimizer"
             ) -> Snippet:
        """Source of `build` in a script whose expressions `total` and `optimizer` exist."""
        lr = Expr(f"{optimizer}.param_groups[0]['lr']")
        kwargs = self.arguments(params, Expr(total), lr)
        return snippet(call(f"lr_scheduler.{self.name}", Expr(optimizer),
                            **changed(getattr(sched, self.name), kwargs)),
                       "from torch.optim import lr_scheduler")


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
                  "cosine curve from the initial rate down to eta_min", (EPOCH, BATCH),
                  arguments=_cosine),
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
                  "one rise and fall over the whole run, stepped every batch", (BATCH,),
                  arguments=_one_cycle),
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
                  "reduce the rate when a metric stops improving", monitors=True,
                  arguments=_plateau),
    SchedulerSpec("LinearLR",
                  (Param("start_factor", FLOAT, 1 / 3, "factor of the rate at the start "
                         "(> 0)", 1e-12, 1.0),
                   Param("end_factor", FLOAT, 1.0, "factor at the end", 0.0, 1.0),
                   Param("total_iters", INT, 5, "steps from start to end factor", 0)),
                  "rate changes linearly between two factors, then stays: a warmup",
                  (EPOCH, BATCH)),
    SchedulerSpec("PolynomialLR",
                  (Param("total_iters", INT, None, "steps to reach 0 (default: the whole "
                         "run)", 1, optional=True),
                   Param("power", FLOAT, 1.0, "exponent of the decay", 0.0)),
                  "rate falls as (1 - step / total_iters) ** power to 0", (EPOCH, BATCH),
                  arguments=_polynomial),
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
    if cfg.name == "LambdaLR":
        cfg = _from_lambda(cfg, where)
    spec = scheduler_spec(cfg.name, f"{where}.name")
    params = checked_params(spec.params, cfg.params, f"{where}.params")
    step_per = cfg.step_per or spec.step_per[0]
    if step_per not in spec.step_per:
        raise ConfigError(f"{where}.step_per: {cfg.name} steps per "
                          f"{' or '.join(spec.step_per)}, not per {step_per!r}")
    return SchedulerConfig(cfg.name, params, step_per)


# Projects saved before torch's LinearLR/PolynomialLR replaced our LambdaLR presets.
LAMBDA_PARAMS = (Param("preset", CHOICE, "linear_warmup", choices=("linear_warmup",
                                                                   "polynomial")),
                 Param("warmup_steps", INT, 100, minimum=1),
                 Param("total_steps", INT, None, minimum=1, optional=True),
                 Param("power", FLOAT, 1.0, minimum=0.0))


def _from_lambda(cfg: SchedulerConfig, where: str) -> SchedulerConfig:
    """The same schedule in today's terms: (step + 1) / warmup_steps up to 1 is LinearLR
    from 1 / warmup_steps over warmup_steps - 1 steps; the polynomial is PolynomialLR."""
    p = checked_params(LAMBDA_PARAMS, cfg.params, f"{where}.params")
    step_per = cfg.step_per or BATCH  # LambdaLR's default interval
    if p["preset"] == "polynomial":
        return SchedulerConfig("PolynomialLR", {"total_iters": p["total_steps"],
                                                "power": p["power"]}, step_per)
    steps = p["warmup_steps"]
    return SchedulerConfig("LinearLR", {"start_factor": 1 / steps, "end_factor": 1.0,
                                        "total_iters": steps - 1}, step_per)


def build_scheduler(cfg: SchedulerConfig, optimizer: optim.Optimizer, *, epochs: int,
                    steps_per_epoch: int) -> Schedule | None:
    """The scheduler for a run of `epochs` epochs of `steps_per_epoch` batches."""
    cfg = validate_scheduler(cfg)
    if cfg.name is None:
        return None
    assert cfg.step_per is not None
    total = epochs * (steps_per_epoch if cfg.step_per == BATCH else 1)
    try:
        scheduler = SCHEDULERS[cfg.name].build(optimizer, dict(cfg.params), total)
    except ValueError as exc:  # e.g. OneCycleLR cycle_momentum on Adagrad
        raise ConfigError(f"scheduler: {cfg.name}: {exc}") from None
    return Schedule(scheduler, cfg.step_per, cfg.params.get("monitor"))
