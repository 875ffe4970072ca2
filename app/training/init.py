"""Weight initialisation per layer type, with torch.nn.init's schemes and arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.lazy import lazy_module
from app.core.params import CHOICE, FLOAT, INT, Param
from app.training.errors import ConfigError, checked_params

if TYPE_CHECKING:
    from torch import Tensor, nn

torch = lazy_module("torch")

NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu")
GAIN = Param("gain", FLOAT, 1.0, "scaling factor; see calculate_gain", 0.0)
KAIMING = (Param("a", FLOAT, 0.0, "negative slope of the following leaky_relu"),
           Param("mode", CHOICE, "fan_in", "fan_in keeps forward variance, fan_out "
                 "backward", choices=("fan_in", "fan_out")),
           Param("nonlinearity", CHOICE, "leaky_relu", "the activation that follows",
                 choices=("relu", "leaky_relu")))


@dataclass(frozen=True)
class InitSpec:
    name: str
    torch_name: str  # the function in torch.nn.init, imported when first used
    params: tuple[Param, ...]
    help: str
    dims: tuple[int, int] = (1, 99)  # tensor dimensions it accepts (min, max)

    @property
    def fn(self) -> Callable[..., Tensor]:
        return getattr(torch.nn.init, self.torch_name)


INITS: dict[str, InitSpec] = {s.name: s for s in (
    InitSpec("xavier_uniform", "xavier_uniform_", (GAIN,),
             "U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))", (2, 99)),
    InitSpec("xavier_normal", "xavier_normal_", (GAIN,),
             "N(0, std), std = gain * sqrt(2 / (fan_in + fan_out))", (2, 99)),
    InitSpec("kaiming_uniform", "kaiming_uniform_", KAIMING,
             "He et al. 2015, uniform", (2, 99)),
    InitSpec("kaiming_normal", "kaiming_normal_", KAIMING,
             "He et al. 2015, normal", (2, 99)),
    InitSpec("uniform", "uniform_", (Param("a", FLOAT, 0.0, "lower bound"),
                                          Param("b", FLOAT, 1.0, "upper bound")),
             "U(a, b)"),
    InitSpec("normal", "normal_", (Param("mean", FLOAT, 0.0, "mean"),
                                        Param("std", FLOAT, 1.0, "standard deviation",
                                              0.0)), "N(mean, std²)"),
    InitSpec("constant", "constant_", (Param("val", FLOAT, 0.0, "the value"),),
             "every entry set to val"),
    InitSpec("zeros", "zeros_", (), "every entry 0"),
    InitSpec("ones", "ones_", (), "every entry 1"),
    InitSpec("orthogonal", "orthogonal_", (GAIN,), "a (semi-)orthogonal matrix",
             (2, 99)),
    InitSpec("eye", "eye_", (), "the identity matrix (Linear weights)", (2, 2)),
    InitSpec("dirac", "dirac_", (Param("groups", INT, 1, "groups of the conv",
                                             1),),
             "identity convolution: keeps the input channels", (3, 5)),
    InitSpec("sparse", "sparse_", (Param("sparsity", FLOAT, 0.1, "fraction of "
                                               "zeros per column", 0.0, 1.0),
                                         Param("std", FLOAT, 0.01, "std of the "
                                               "non-zeros", 0.0)),
             "sparse matrix with normal non-zero entries (Martens 2010)", (2, 2)),
)}


@dataclass
class InitRule:
    """Apply `scheme` to the `tensor` ("weight" or "bias") of every layer of these types."""

    layer_types: list[str]
    scheme: str
    params: dict[str, Any] = field(default_factory=dict)
    tensor: str = "weight"


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch recommends for an activation, for display next to the init choice."""
    if nonlinearity not in NONLINEARITIES:
        raise ConfigError(f"init gain: unknown nonlinearity {nonlinearity!r} (known: "
                          f"{', '.join(NONLINEARITIES)})")
    return float(torch.nn.init.calculate_gain(nonlinearity, param))


def validate_rule(rule: InitRule, where: str) -> InitRule:
    if rule.scheme not in INITS:
        raise ConfigError(f"{where}.scheme: unknown init {rule.scheme!r} (known: "
                          f"{', '.join(INITS)})")
    if rule.tensor not in ("weight", "bias"):
        raise ConfigError(f"{where}.tensor: must be 'weight' or 'bias', got {rule.tensor!r}")
    if not isinstance(rule.layer_types, list) or not rule.layer_types or not all(
            isinstance(t, str) for t in rule.layer_types):
        raise ConfigError(f"{where}.layer_types: must be a non-empty list of layer types")
    params = checked_params(INITS[rule.scheme].params, rule.params, f"{where}.params")
    return InitRule(list(rule.layer_types), rule.scheme, params, rule.tensor)


def apply_init(model: nn.Module, rules: list[InitRule]) -> int:
    """Apply the rules in order (later rules win); returns how many tensors were set."""
    count = 0
    for i, rule in enumerate(rules):
        rule = validate_rule(rule, f"init[{i}]")
        spec = INITS[rule.scheme]
        for name, module in model.named_modules():
            tensor = getattr(module, rule.tensor, None)
            if type(module).__name__ not in rule.layer_types or not isinstance(
                    tensor, torch.Tensor):
                continue
            low, high = spec.dims
            if not low <= tensor.dim() <= high:
                raise ConfigError(f"init[{i}]: {rule.scheme} needs a tensor with {low} to "
                                  f"{high} dimensions; {name}.{rule.tensor} has "
                                  f"{tensor.dim()}")
            with torch.no_grad():
                spec.fn(tensor, **rule.params)
            count += 1
    return count
