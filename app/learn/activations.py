"""The activation explorer: every activation of the catalogue as a curve f(x) with its
derivative f'(x) computed by autograd, for the parameter values the student picks.

Qt-free. The module is built from the catalogue's LayerSpec (one source of truth for
the torch class and its parameters), so what is plotted is what a node would compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from app.core.catalogue import CATALOGUE, LayerSpec
from app.core.params import CHOICE, FLOAT, Param, ParamError

CATEGORY = "Activation"
FLAT = 0.01  # a slope below this passes almost no gradient back
DEPTH = 10  # layers a gradient crosses in the vanishing-gradient note
# Not element-wise: these normalise over a dimension, so they are shown on two scores
# (x, 0), where softmax's first probability is sigmoid(x).
PAIRED = {"Softmax", "LogSoftmax"}
STRUCTURAL = {"dim", "num_parameters"}  # shape the module, not the curve


class ActivationError(ValueError):
    """An unknown activation or a parameter value it does not accept."""


def activation_types() -> list[str]:
    """Every activation of the catalogue, in palette order."""
    return [t for t, spec in CATALOGUE.items() if spec.category == CATEGORY]


def curve_params(layer_type: str) -> tuple[Param, ...]:
    """The parameters that change the curve (numbers and choices), editable live."""
    return tuple(p for p in _spec(layer_type).params
                 if p.kind in (FLOAT, CHOICE) and p.name not in STRUCTURAL)


def _spec(layer_type: str) -> LayerSpec:
    spec = CATALOGUE.get(layer_type)
    if spec is None or spec.category != CATEGORY:
        raise ActivationError(f"{layer_type!r} is not an activation of the catalogue")
    return spec


def build(layer_type: str, values: dict[str, Any] | None = None) -> torch.nn.Module:
    """The torch module a node of this type would be, in float64 and eval mode (RReLU
    then uses the mean of its slope range instead of a random draw)."""
    spec = _spec(layer_type)
    params = spec.defaults()
    for name, value in (values or {}).items():
        try:
            params[name] = spec.param(name).validate(value)
        except KeyError:
            raise ActivationError(f"{layer_type} has no parameter {name!r}") from None
        except ParamError as exc:
            raise ActivationError(f"{layer_type}.{exc}") from None
    if layer_type in PAIRED:
        params["dim"] = -1
    return spec.build(params).double().eval()


@dataclass
class Curve:
    """f and f' sampled at xs, with the numbers behind the saturation note."""

    layer_type: str
    xs: np.ndarray
    ys: np.ndarray
    slopes: np.ndarray

    @property
    def max_slope(self) -> float:
        return float(np.abs(self.slopes).max())

    @property
    def flat_fraction(self) -> float:
        """Share of the plotted range where |f'| < FLAT: inputs there pass on (almost) no
        gradient, so the weights before them stop learning."""
        return float((np.abs(self.slopes) < FLAT).mean())

    def note(self) -> str:
        """Saturation and vanishing gradients, in numbers read off this curve."""
        lo, hi = self.xs[0], self.xs[-1]
        parts = [f"Largest slope on [{lo:g}, {hi:g}]: {self.max_slope:.3g}."]
        if self.flat_fraction > 0:
            parts.append(f"On {self.flat_fraction:.0%} of this range the slope is below "
                         f"{FLAT:g}: the unit is saturated (or dead) there and passes almost "
                         f"no gradient back.")
        if self.max_slope < 1 - 1e-9:
            parts.append(f"Even at best, a gradient crossing {DEPTH} such layers shrinks to "
                         f"{self.max_slope ** DEPTH:.2g} of its size: vanishing gradients.")
        else:
            parts.append("A slope of 1 passes the gradient on unchanged, so deep stacks "
                         "still learn where the unit is active.")
        if self.layer_type in PAIRED:
            parts.append("Not element-wise: shown on two scores (x, 0); softmax's first "
                         "output is then sigmoid(x).")
        return " ".join(parts)


def curve(layer_type: str, values: dict[str, Any] | None = None,
          xs: np.ndarray | None = None) -> Curve:
    """f(x) and f'(x) = d f / d x by autograd, at `xs` (default: 401 points on [-6, 6])."""
    module = build(layer_type, values)
    grid = np.linspace(-6.0, 6.0, 401) if xs is None else np.asarray(xs, dtype=np.float64)
    x = torch.tensor(grid, dtype=torch.float64, requires_grad=True)
    if layer_type in PAIRED:
        y = module(torch.stack([x, torch.zeros_like(x)], dim=1))[:, 0]
    else:
        y = module(x)
    # Each output depends on its own input only, so the gradient of the sum is f'(x).
    (slopes,) = torch.autograd.grad(y.sum(), x)
    return Curve(layer_type, grid, y.detach().numpy(), slopes.numpy())
