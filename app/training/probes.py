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


def _spans(low: float, high: float) -> tuple[float, float]:
    # A constant tensor (a zeros-initialised bias) still gets a visible bin.
    return (low - 0.5, high + 0.5) if low == high else (low, high)


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
        """Histograms, gradient norms and activations with two reads from the device, not
        a sync per tensor: first every tensor's [min, max] and the gradient norms, then
        all histogram counts (torch.histc, one fused pass each) and activation maps."""
        params = [(node_key(n, self.names), p) for n, p in self.model.named_parameters()
                  if p.numel()]
        grads = [(n, p.grad) for n, p in params if p.grad is not None]
        counted = [(n, t.detach().flatten().float())
                   for n, t in ([*params, *grads] if self.cfg.histograms else [])]
        normed = grads if self.cfg.grad_norms else []
        first = [torch.stack(torch.aminmax(t)) for _, t in counted]
        if normed:
            first.append(torch.stack(torch._foreach_norm([g.detach().float()
                                                          for _, g in normed])))
        numbers = torch.cat(first).tolist() if first else []
        spans = [_spans(*numbers[2 * i:2 * i + 2]) for i in range(len(counted))]
        norms = dict(zip((n for n, _ in normed), numbers[2 * len(counted):]))
        bins = self.cfg.bins
        activations = self._activation_tensors()
        second = [torch.histc(t, bins=bins, min=lo, max=hi)
                  for (_, t), (lo, hi) in zip(counted, spans)]
        second += [a.detach().float().flatten() for a in activations.values()]
        host = torch.cat(second).cpu().numpy() if second else np.zeros(0, np.float32)
        hist = {}
        for i, ((name, _), (lo, hi)) in enumerate(zip(counted, spans)):
            hist[i] = (name, (host[i * bins:(i + 1) * bins].astype(np.int64),
                              np.linspace(lo, hi, bins + 1)))
        maps, offset = {}, len(counted) * bins
        for name, act in activations.items():
            maps[name] = host[offset:offset + act.numel()].reshape(act.shape)
            offset += act.numel()
        weights = len(params) if counted else 0
        return Snapshot(epoch=epoch, step=step,
                        weight_hist=dict(hist[i] for i in range(weights)),
                        grad_hist=dict(hist[i] for i in range(weights, len(counted))),
                        grad_norms=norms, activations=maps)

    def _activation_tensors(self) -> dict[str, Tensor]:
        """Each probed layer's output for the fixed sample (batch index 0), on the device."""
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
        return {name: _first(out)[0] for name, out in captured.items()}


def _first(out: Any) -> Tensor:
    return out[0] if isinstance(out, tuple | list) else out
