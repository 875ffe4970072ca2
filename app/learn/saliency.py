"""Which pixels a trained image classifier looks at: Grad-CAM, vanilla gradient, SmoothGrad.

Qt-free. Grad-CAM (Selvaraju et al. 2017) hooks one convolution layer: its activations A
(K maps) and the gradient of the class score y_c with respect to them. Each map's weight
is its mean gradient, α_k = mean_ij ∂y_c/∂A_k[i, j]; the map is ReLU(Σ_k α_k·A_k),
scaled up to the input (bilinear) and divided by its maximum. The gradient maps are
|∂y_c/∂x| (largest over colour channels), SmoothGrad averaging it over noisy copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

METHODS = ("gradcam", "gradient", "smoothgrad")
METHOD_TITLES = {"gradcam": "Grad-CAM", "gradient": "Vanilla gradient",
                 "smoothgrad": "SmoothGrad"}


class SaliencyError(ValueError):
    """The model or input cannot be explained this way (no conv layer, wrong class...)."""


@dataclass
class Explanation:
    """A heat map in [0, 1] at the input's size, for class `target` of `probs`."""

    method: str
    heat: np.ndarray  # (H, W)
    target: int
    probs: np.ndarray  # the model's class probabilities for the unchanged input
    layer: str | None = None

    @property
    def predicted(self) -> int:
        return int(self.probs.argmax())


def conv_layers(model: nn.Module) -> list[str]:
    """Module paths of the 2-D convolutions, input side first: Grad-CAM's candidates."""
    return [path for path, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    return out.reshape(len(x), -1)


def _probs(logits: torch.Tensor) -> np.ndarray:
    if logits.shape[1] == 1:  # one unit: P(class 1)
        p = torch.sigmoid(logits[0, 0])
        return torch.stack([1 - p, p]).detach().cpu().double().numpy()
    return torch.softmax(logits[0].detach().double(), dim=0).cpu().numpy()


def _score(logits: torch.Tensor, target: int) -> torch.Tensor:
    """y_c: the logit of class c (a single sigmoid unit scores class 1 as +z, 0 as −z)."""
    if logits.shape[1] == 1:
        return logits[:, 0] if target == 1 else -logits[:, 0]
    return logits[:, target]


def _target(probs: np.ndarray, target: int | None) -> int:
    if target is None:
        return int(probs.argmax())
    if not 0 <= target < len(probs):
        raise SaliencyError(f"class {target} does not exist: the model has {len(probs)} "
                            f"classes (0..{len(probs) - 1})")
    return target


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout draw, no batch-norm update) for the explanation, then back."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str | None = None,
             target: int | None = None) -> Explanation:
    """Grad-CAM of one (C, H, W) input at conv layer `layer` (default: the last one)."""
    layers = conv_layers(model)
    if not layers:
        raise SaliencyError("Grad-CAM needs a Conv2d layer and this model has none")
    layer = layers[-1] if layer is None else layer
    if layer not in layers:
        raise SaliencyError(f"no Conv2d layer {layer!r} (choose from {', '.join(layers)})")
    seen: list[torch.Tensor] = []
    hook = model.get_submodule(layer).register_forward_hook(
        lambda _m, _i, out: seen.append(out))
    try:
        with _evaluating(model), torch.enable_grad():
            logits = _logits(model, x.unsqueeze(0).to(_device(model)))
            probs = _probs(logits)
            target = _target(probs, target)
            activations = seen[0]
            (grads,) = torch.autograd.grad(_score(logits, target).sum(), activations)
    finally:
        hook.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)  # α_k
    cam = F.relu((weights * activations).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam.double(), size=tuple(x.shape[-2:]), mode="bilinear",
                        align_corners=False)[0, 0]
    return Explanation("gradcam", _normalised(cam.cpu().numpy()), target, probs, layer)


def _input_gradient(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    x = x.detach().to(_device(model)).unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(_score(_logits(model, x), target).sum(), x)
    return grad[0].detach().abs().amax(dim=0).double().cpu().numpy()


def _gradient_map(model: nn.Module, x: torch.Tensor, target: int | None, method: str,
                  average: Callable[[int], np.ndarray]) -> Explanation:
    with _evaluating(model), torch.enable_grad():
        probs = _probs(_logits(model, x.unsqueeze(0).to(_device(model))))
        target = _target(probs, target)
        heat = average(target)
    return Explanation(method, _normalised(heat), target, probs)


def vanilla_gradient(model: nn.Module, x: torch.Tensor, target: int | None = None
                     ) -> Explanation:
    """|∂y_c/∂x|, the largest over channels: how much each pixel sways the class score."""
    return _gradient_map(model, x, target, "gradient",
                         lambda c: _input_gradient(model, x, c))


def smooth_grad(model: nn.Module, x: torch.Tensor, target: int | None = None,
                samples: int = 25, noise: float = 0.15, seed: int = 0) -> Explanation:
    """SmoothGrad (Smilkov et al. 2017): the gradient map averaged over `samples` copies of
    x with Gaussian noise of std `noise`·(max x − min x); seeded, so it is repeatable."""
    if samples < 1:
        raise SaliencyError(f"SmoothGrad needs at least 1 sample (got {samples})")
    generator = torch.Generator().manual_seed(seed)
    sigma = noise * float(x.max() - x.min())

    def average(target: int) -> np.ndarray:
        total = np.zeros(tuple(x.shape[-2:]))
        for _ in range(samples):
            noisy = x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
            total += _input_gradient(model, noisy, target)
        return total / samples
    return _gradient_map(model, x, target, "smoothgrad", average)


def explain(model: nn.Module, x: torch.Tensor, method: str = "gradcam",
            layer: str | None = None, target: int | None = None) -> Explanation:
    if method not in METHODS:
        raise SaliencyError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    if x.dim() != 3:
        raise SaliencyError(f"saliency maps need an image input (C, H, W); this sample has "
                            f"shape {tuple(x.shape)}")
    if method == "gradcam":
        return grad_cam(model, x, layer, target)
    if method == "gradient":
        return vanilla_gradient(model, x, target)
    return smooth_grad(model, x, target)


def _normalised(heat: np.ndarray) -> np.ndarray:
    top = float(heat.max())
    return heat / top if top > 0 else np.zeros_like(heat)


# "jet"-like colours from blue (cold, 0) through green and yellow to red (hot, 1).
_ANCHORS = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0],
                     [1.0, 0.0, 0.0], [0.5, 0.0, 0.0]])


def colourise(heat: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) colours in [0, 1]."""
    pos = np.clip(heat, 0, 1) * (len(_ANCHORS) - 1)
    return np.stack([np.interp(pos, np.arange(len(_ANCHORS)), _ANCHORS[:, c])
                     for c in range(3)], axis=-1)


def overlay(image: np.ndarray, heat: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """The image (H, W, C in [0, 1], C = 1 or 3) with the coloured heat map blended over it
    at `opacity` (0 = only the image, 1 = only the map); (H, W, 3) in [0, 1]."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3]
    opacity = float(np.clip(opacity, 0.0, 1.0))
    return (1 - opacity) * rgb + opacity * colourise(heat)
