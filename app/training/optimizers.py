"""Optimizer registry with torch's parameter names and defaults.

`needs_closure` marks LBFGS, whose step() re-evaluates the loss several times and so
takes a closure that recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.lazy import lazy_module
from app.core.params import BOOL, CHOICE, FLOAT, FLOATS, INT, Param
from app.core.pysource import Expr, Snippet, call, changed, snippet
from app.training.errors import ConfigError, checked_params, checked_value, lookup

if TYPE_CHECKING:
    from torch import optim

torch = lazy_module("torch")

EPS = Param("eps", FLOAT, 1e-8, "added to the denominator for stability", 0.0)
BETAS = Param("betas", FLOATS, [0.9, 0.999], "decay of the running averages", 0.0, 1.0,
              lengths=(2,), scalar_ok=False)
AMSGRAD = Param("amsgrad", BOOL, False, "use the AMSGrad variant")
# torch's default (None) steps parameter by parameter on the CPU; fused does the same
# update in one pass, ~7x faster there (0.04 s instead of 0.26 s for AlexNet's 57M weights).
FUSED = Param("fused", BOOL, None, "one fused update for all parameters (much faster on "
              "CPU; needs floating-point parameters)", optional=True)


def _wd(default: float = 0.0) -> Param:
    return Param("weight_decay", FLOAT, default, "L2 penalty (decoupled in AdamW)", 0.0)


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    torch_name: str  # the class in torch.optim, imported when first used
    lr: float  # torch's default learning rate
    params: tuple[Param, ...]
    help: str
    needs_closure: bool = False
    sparse_only: bool = False  # steps only on sparse gradients (Embedding(sparse=True))

    @property
    def cls(self) -> type:
        return getattr(torch.optim, self.torch_name)

    def arguments(self, lr: float | None, params: dict[str, Any]) -> dict[str, Any]:
        """torch's keyword arguments: the default lr filled in, pairs as tuples."""
        return {"lr": self.lr if lr is None else lr,
                **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}}

    def code(self, lr: float | None, params: dict[str, Any], parameters: str) -> Snippet:
        """Source of `build_optimizer`'s call over the expression `parameters`."""
        kwargs = self.arguments(lr, params)
        return snippet(call(f"torch.optim.{self.cls.__name__}", Expr(parameters),
                            lr=kwargs.pop("lr"), **changed(self.cls, kwargs)), "import torch")


OPTIMIZERS: dict[str, OptimizerSpec] = {s.name: s for s in (
    OptimizerSpec("SGD", "SGD", 1e-3,
                  (Param("momentum", FLOAT, 0.0, "momentum factor", 0.0),
                   Param("dampening", FLOAT, 0.0, "dampening for momentum", 0.0),
                   Param("nesterov", BOOL, False, "Nesterov momentum (needs momentum > 0 "
                         "and dampening 0)"), _wd()),
                  "stochastic gradient descent"),
    OptimizerSpec("Adagrad", "Adagrad", 1e-2,
                  (Param("lr_decay", FLOAT, 0.0, "learning-rate decay", 0.0), _wd(),
                   Param("initial_accumulator_value", FLOAT, 0.0, "start of the sum of "
                         "squared gradients", 0.0),
                   Param("eps", FLOAT, 1e-10, "added to the denominator", 0.0)),
                  "per-parameter rates from the sum of squared gradients"),
    OptimizerSpec("RMSprop", "RMSprop", 1e-2,
                  (Param("alpha", FLOAT, 0.99, "smoothing constant", 0.0, 1.0), EPS,
                   _wd(), Param("momentum", FLOAT, 0.0, "momentum factor", 0.0),
                   Param("centered", BOOL, False, "normalise by the gradient variance")),
                  "divides by a running average of squared gradients"),
    OptimizerSpec("Adadelta", "Adadelta", 1.0,
                  (Param("rho", FLOAT, 0.9, "decay of the running averages", 0.0, 1.0),
                   Param("eps", FLOAT, 1e-6, "added to the denominator", 0.0), _wd()),
                  "Adagrad without the shrinking rate"),
    OptimizerSpec("Adam", "Adam", 1e-3, (BETAS, EPS, _wd(), AMSGRAD, FUSED),
                  "adaptive moments; L2 weight decay added to the gradient"),
    OptimizerSpec("AdamW", "AdamW", 1e-3, (BETAS, EPS, _wd(1e-2), AMSGRAD, FUSED),
                  "Adam with decoupled weight decay"),
    OptimizerSpec("Adamax", "Adamax", 2e-3, (BETAS, EPS, _wd()),
                  "Adam with the infinity norm"),
    OptimizerSpec("SparseAdam", "SparseAdam", 1e-3, (BETAS, EPS),
                  "Adam for sparse gradients (Embedding with sparse=True) only",
                  sparse_only=True),
    OptimizerSpec("ASGD", "ASGD", 1e-2,
                  (Param("lambd", FLOAT, 1e-4, "decay term", 0.0),
                   Param("alpha", FLOAT, 0.75, "power for the eta update", 0.0),
                   Param("t0", FLOAT, 1e6, "step at which averaging starts", 0.0), _wd()),
                  "averaged stochastic gradient descent"),
    OptimizerSpec("Rprop", "Rprop", 1e-2,
                  (Param("etas", FLOATS, [0.5, 1.2], "multiplicative decrease and "
                         "increase", 0.0, lengths=(2,), scalar_ok=False),
                   Param("step_sizes", FLOATS, [1e-6, 50.0], "minimal and maximal step",
                         0.0, lengths=(2,), scalar_ok=False)),
                  "resilient backpropagation: uses only the sign of the gradient"),
    OptimizerSpec("LBFGS", "LBFGS", 1.0,
                  (Param("max_iter", INT, 20, "iterations per step", 1),
                   Param("max_eval", INT, None, "function evaluations per step "
                         "(default max_iter * 1.25)", 1, optional=True),
                   Param("tolerance_grad", FLOAT, 1e-7, "first-order optimality", 0.0),
                   Param("tolerance_change", FLOAT, 1e-9, "change in loss or parameters",
                         0.0),
                   Param("history_size", INT, 100, "update history size", 1),
                   Param("line_search_fn", CHOICE, None, "line search",
                         choices=(None, "strong_wolfe"), optional=True)),
                  "quasi-Newton; re-evaluates the loss through a closure; full batch suits it",
                  needs_closure=True),
)}


@dataclass
class OptimizerConfig:
    name: str = "Adam"
    lr: float | None = None  # None: torch's default for the optimizer
    params: dict[str, Any] = field(default_factory=dict)


def optimizer_spec(name: str, where: str = "optimizer.name") -> OptimizerSpec:
    return lookup(OPTIMIZERS, name, "optimizer", where)


def validate_optimizer(cfg: OptimizerConfig, where: str = "optimizer") -> OptimizerConfig:
    spec = optimizer_spec(cfg.name, f"{where}.name")
    lr = checked_value(Param("lr", FLOAT, spec.lr, minimum=0.0, optional=True), cfg.lr,
                       f"{where}.lr")
    params = checked_params(spec.params, cfg.params, f"{where}.params")
    if params.get("nesterov") and (params["momentum"] <= 0 or params["dampening"] != 0):
        raise ConfigError(f"{where}.params.nesterov: needs momentum > 0 and dampening 0")
    return OptimizerConfig(cfg.name, lr, params)


def build_optimizer(cfg: OptimizerConfig, groups: Iterable[dict[str, Any]]
                    ) -> optim.Optimizer:
    """`groups` are torch param groups; a group's own "lr" overrides cfg.lr."""
    cfg = validate_optimizer(cfg)
    spec = OPTIMIZERS[cfg.name]
    return spec.cls(list(groups), **spec.arguments(cfg.lr, cfg.params))


def current_lr(optimizer: optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
