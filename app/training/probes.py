"""Looking inside the network while it trains: histograms, gradient norms, activations.

Everything here runs only at probe time (every N batches or once per epoch), never in the
hot loop, so reading values back to the host (a device sync) is paid only then.
Activation maps come from forward hooks that exist only during the probe's own forward
pass of one fixed sample, so ordinary training batches run hook-free.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from app.training.config import ProbeConfig
from app.training.errors import ConfigError
from app.training.events import Snapshot, node_key

AUTO_LIMIT = 12
ACTIVATIONS = ("ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "GELU", "Sigmoid",
               "Tanh", "Softplus")
# Convolutions and linear layers for the activation view, the activations for the health
# coach's dead-ReLU and saturation checks.
PROBED = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", *ACTIVATIONS)


def histogram(t: Tensor, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, bin edges) as numpy arrays; the counting happens on t's device."""
    t = t.detach().float().flatten()
    lo, hi = (float(v) for v in torch.aminmax(t))
    if lo == hi:  # a constant tensor (zeros-initialised bias) still gets a visible bin
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(t, bins=bins, min=lo, max=hi)
    return counts.cpu().numpy().astype(np.int64), np.linspace(lo, hi, bins + 1)


def auto_layers(model: nn.Module, layers: dict[str, str]) -> list[str]:
    """The layers probed when the run config names none, in `layers`' (topological) order:
    the one policy of the GUI and the CLI, so a network gets the same health verdict."""
    return [name for name, path in layers.items()
            if type(model.get_submodule(path)).__name__ in PROBED][:AUTO_LIMIT]


class Probes:
    """Snapshots name layers as the run config does (`layers`: name -> module path, from
    setup.layer_paths), so a document's histograms read `conv1_1.weight`, not
    `features.0.weight`."""

    def __init__(self, model: nn.Module, cfg: ProbeConfig, sample: Tensor | None,
                 layers: dict[str, str]) -> None:
        self.model = model
        self.cfg = cfg
        self.sample = sample  # one input with a batch dimension of 1, on the device
        self.paths = layers
        self.names = {path: name for name, path in layers.items()}
        self.layers = self._layers(cfg.activation_layers)

    def _layers(self, chosen: list[str] | None) -> list[str]:
        if chosen is None:
            return auto_layers(self.model, self.paths)
        for name in chosen:
            if name not in self.paths:
                raise ConfigError(f"probes.activation_layers: no layer named {name!r} "
                                  f"(layers: {', '.join(self.paths)})")
        return list(chosen)

    def due(self, batch: int) -> bool:
        n = self.cfg.every_n_batches
        return self.cfg.enabled and n > 0 and batch % n == 0

    def capture(self, epoch: int, step: int) -> Snapshot:
        params = [(node_key(n, self.names), p) for n, p in self.model.named_parameters()]
        bins = self.cfg.bins
        hist = self.cfg.histograms
        return Snapshot(
            epoch=epoch, step=step,
            weight_hist={n: histogram(p, bins) for n, p in params} if hist else {},
            grad_hist={n: histogram(p.grad, bins) for n, p in params
                       if p.grad is not None and hist},
            grad_norms=self._grad_norms(params) if self.cfg.grad_norms else {},
            activations=self.activations())

    @staticmethod
    def _grad_norms(params: list[tuple[str, nn.Parameter]]) -> dict[str, float]:
        named = [(n, p.grad) for n, p in params if p.grad is not None]
        if not named:
            return {}
        norms = torch.stack([g.detach().float().norm() for _, g in named]).cpu().tolist()
        return {n: v for (n, _), v in zip(named, norms)}

    def activations(self) -> dict[str, np.ndarray]:
        if self.sample is None or not self.layers:
            return {}
        captured: dict[str, Any] = {}
        handles = [self.model.get_submodule(self.paths[name]).register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, out))
            for name in self.layers]
        was_training = self.model.training
        try:
            self.model.eval()  # dropout off, batch-norm running stats: a stable picture
            with torch.no_grad():
                self.model(self.sample)
        finally:
            self.model.train(was_training)
            for h in handles:
                h.remove()
        return {name: _first(out)[0].float().cpu().numpy() for name, out in
                captured.items()}


def _first(out: Any) -> Tensor:
    return out[0] if isinstance(out, tuple | list) else out
