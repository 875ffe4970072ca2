"""Loss registry: every torch loss the course teaches, with its parameters and targets.

`build_loss` turns a LossConfig into a callable `(output, target) -> scalar tensor` that
adapts the dataset's targets to what torch expects (see targets.py) without any sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.lazy import lazy_module
from app.core.params import BOOL, CHOICE, FLOAT, FLOATS, INT, Param
from app.core.pysource import Expr, Snippet, call, changed, literal, snippet
from app.training.errors import checked_params, lookup

if TYPE_CHECKING:
    from torch import Tensor

    from app.training.targets import TargetKind

torch = lazy_module("torch")
nn = lazy_module("torch.nn")
targets = lazy_module("app.training.targets")  # torch-based target checks, for runs only


def reduction(*extra: str, default: str = "mean") -> Param:
    return Param("reduction", CHOICE, default, "how per-sample losses are combined; "
                 "'none' is averaged for the backward pass",
                 choices=("none", "mean", "sum", *extra))


WEIGHT = Param("weight", FLOATS, None, "a rescaling weight per class", scalar_ok=False,
               optional=True)
IGNORE = Param("ignore_index", INT, -100, "target value that is ignored")
MARGIN0 = Param("margin", FLOAT, 0.0, "margin")
MARGIN1 = Param("margin", FLOAT, 1.0, "margin")
TENSOR_PARAMS = ("weight", "pos_weight")  # lists in the config, tensors for torch


@dataclass(frozen=True)
class LossSpec:
    name: str
    torch_name: str  # the class in torch.nn, imported when first used
    target: str  # key of app.training.targets.TARGET_KINDS
    params: tuple[Param, ...]
    help: str
    task: str = "classification"  # the task it usually serves, for defaults and hints

    @property
    def cls(self) -> type:
        return getattr(nn, self.torch_name)

    @property
    def target_kind(self) -> TargetKind:
        return targets.TARGET_KINDS[self.target]

    def code(self, params: dict[str, Any]) -> Snippet:
        """Source of `build_loss`'s torch module for validated `params` (train script)."""
        kwargs = {k: Expr(f"torch.tensor({literal(v)})") if k in TENSOR_PARAMS and v is not None
                  else v for k, v in params.items()}
        return snippet(call(f"nn.{self.cls.__name__}", **changed(self.cls, kwargs)),
                       "import torch", "from torch import nn")


LOSSES: dict[str, LossSpec] = {s.name: s for s in (
    LossSpec("CrossEntropy", "CrossEntropyLoss", "class_index",
             (WEIGHT, IGNORE, reduction(),
              Param("label_smoothing", FLOAT, 0.0, "mix of uniform targets", 0.0, 1.0)),
             "softmax + negative log-likelihood on raw class scores (logits)"),
    LossSpec("NLL", "NLLLoss", "class_index", (WEIGHT, IGNORE, reduction()),
             "negative log-likelihood; the network must end with LogSoftmax"),
    LossSpec("BCE", "BCELoss", "probability", (WEIGHT, reduction()),
             "binary cross-entropy on probabilities (end with a Sigmoid)"),
    LossSpec("BCEWithLogits", "BCEWithLogitsLoss", "probability",
             (WEIGHT, reduction(), Param("pos_weight", FLOATS, None,
                                         "weight of positive examples per class",
                                         scalar_ok=False, optional=True)),
             "sigmoid + binary cross-entropy on raw scores, numerically stable"),
    LossSpec("L1", "L1Loss", "value", (reduction(),), "mean absolute error",
             "regression"),
    LossSpec("MSE", "MSELoss", "value", (reduction(),), "mean squared error", "regression"),
    LossSpec("SmoothL1", "SmoothL1Loss", "value",
             (reduction(), Param("beta", FLOAT, 1.0, "where L2 turns into L1", 0.0)),
             "squared error below beta, absolute error above", "regression"),
    LossSpec("Huber", "HuberLoss", "value",
             (reduction(), Param("delta", FLOAT, 1.0, "where L2 turns into L1", 1e-12)),
             "SmoothL1 scaled by delta", "regression"),
    LossSpec("PoissonNLL", "PoissonNLLLoss", "value",
             (Param("log_input", BOOL, True, "the output is log(rate)"),
              Param("full", BOOL, False, "add the Stirling term"),
              Param("eps", FLOAT, 1e-8, "avoids log(0) when log_input is false", 0.0),
              reduction()),
             "negative log-likelihood of counts under a Poisson rate", "regression"),
    LossSpec("KLDiv", "KLDivLoss", "distribution",
             (reduction("batchmean", default="batchmean"),
              Param("log_target", BOOL, False, "the target is given as log-probabilities")),
             "Kullback-Leibler divergence; the output must be log-probabilities"),
    LossSpec("MarginRanking", "MarginRankingLoss", "pair_sign", (MARGIN0, reduction()),
             "ranks two scores: target 1 means the first should be larger"),
    LossSpec("MultiLabelMargin", "MultiLabelMarginLoss", "multilabel_index", (reduction(),),
             "multi-class multi-label hinge loss"),
    LossSpec("SoftMargin", "SoftMarginLoss", "sign", (reduction(),),
             "two-class logistic loss with targets 1 / -1"),
    LossSpec("MultiLabelSoftMargin", "MultiLabelSoftMarginLoss", "multi_hot",
             (WEIGHT, reduction()), "one-versus-all logistic loss for multi-label targets"),
    LossSpec("MultiMargin", "MultiMarginLoss", "class_index",
             (Param("p", CHOICE, 1, "1 or 2", choices=(1, 2)), MARGIN1, WEIGHT,
              reduction()), "multi-class hinge loss on class scores"),
    LossSpec("TripletMargin", "TripletMarginLoss", "triplet",
             (MARGIN1, Param("p", FLOAT, 2.0, "norm degree of the distance", 0.0),
              Param("eps", FLOAT, 1e-6, "numerical stability", 0.0),
              Param("swap", BOOL, False, "distance swap (Balntas et al.)"), reduction()),
             "pulls the anchor to the positive, pushes it from the negative"),
    LossSpec("HingeEmbedding", "HingeEmbeddingLoss", "sign", (MARGIN1, reduction()),
             "for distances: small when target is 1, above margin when -1"),
    LossSpec("CosineEmbedding", "CosineEmbeddingLoss", "pair_sign", (MARGIN0, reduction()),
             "cosine similarity of two embeddings: 1 similar, -1 dissimilar"),
    LossSpec("CTC", "CTCLoss", "sequence",
             (Param("blank", CHOICE, 0, "blank label; padding uses it too", choices=(0,)),
              reduction(),
              Param("zero_infinity", BOOL, False, "zero infinite losses")),
             "connectionist temporal classification for unaligned sequences"),
)}


@dataclass
class LossConfig:
    name: str = "CrossEntropy"
    params: dict[str, Any] = field(default_factory=dict)


def loss_spec(name: str, where: str = "loss.name") -> LossSpec:
    return lookup(LOSSES, name, "loss", where)


def validate_loss(cfg: LossConfig, where: str = "loss") -> LossConfig:
    spec = loss_spec(cfg.name, f"{where}.name")
    return LossConfig(cfg.name, checked_params(spec.params, cfg.params, f"{where}.params"))


class Criterion:
    """`criterion(output, target)`: adapts targets, calls the torch loss, reduces 'none'."""

    def __init__(self, spec: LossSpec, module: nn.Module) -> None:
        self.spec = spec
        self.module = module
        self._adapt = spec.target_kind.adapt

    def __call__(self, output: Tensor, target: Tensor) -> Tensor:
        loss = self.module(*self._adapt(output, target))
        return loss.mean() if loss.dim() else loss  # reduction='none' still trains

    def check(self, output: Tensor, target: Tensor) -> None:
        """Raise TrainingError when the targets do not suit this loss (first batch only)."""
        self.spec.target_kind.check(self.spec.name, output.detach(), target)

    def to(self, device: torch.device) -> Criterion:
        self.module.to(device)  # class weights live on the model's device
        return self


def build_loss(cfg: LossConfig) -> Criterion:
    cfg = validate_loss(cfg)
    spec = LOSSES[cfg.name]
    kwargs = {k: torch.tensor(v) if k in TENSOR_PARAMS and v is not None else v
              for k, v in cfg.params.items()}
    return Criterion(spec, spec.cls(**kwargs))
