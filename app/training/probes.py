"""Looking inside the network while it trains: histograms, gradient norms, activations.

Everything here runs only at probe time (every N batches or once per epoch), never in the
hot loop, so reading values back to the host (a device sync) is paid only then.
Activation maps come from forward hooks that exist only during the probe's own forward
pass of one fixed sample, so ordinary training batches run hook-free.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from app.training.config import ProbeConfig
from app.training.errors import ConfigError, TrainingError
from app.training.events import ProbeSample, Snapshot, node_key

AUTO_LIMIT = 12
ACTIVATIONS = ("ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "GELU", "Sigmoid",
               "Tanh", "Softplus")
# Convolutions and linear layers for the activation view, the activations for the health
# coach's dead-ReLU and saturation checks.
PROBED = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", *ACTIVATIONS)


def batched_histc(tensors: list[Tensor], bins: int) -> tuple[Tensor, Tensor]:
    """`torch.histc(t, bins, min=t.min(), max=t.max())` of every float tensor at once
    (any shape, read flat), without a sync on an accelerator: per-tensor (K, 2) ranges
    and the K * bins counts (tensor i's at [i * bins, (i + 1) * bins)). Binning is
    histc's own, in the same float arithmetic: bin = trunc((x - lo) * bins / (hi - lo)),
    the maximum in the last bin. A constant tensor is given [v - 0.5, v + 0.5] so it
    still shows a bin.

    One flat copy carries all tensors; the steps that are the same for every element
    (scale, floor, clamp) run once over it, only the per-tensor ones (subtract lo, divide
    by the width, shift into the tensor's bins) go tensor by tensor, given as 0-dim
    tensors: on CPU foreach ops take those twice as fast as Python floats."""
    k = len(tensors)
    flat = torch.cat([t.reshape(-1) for t in tensors]).float()
    pos = list(flat.split([t.numel() for t in tensors]))
    lo = torch.stack([t.min() for t in pos])
    hi = torch.stack(torch._foreach_max(pos))
    same = lo == hi
    lo, hi = torch.where(same, lo - 0.5, lo), torch.where(same, hi + 0.5, hi)
    torch._foreach_sub_(pos, list(lo.unbind()))
    flat.mul_(float(bins))
    torch._foreach_div_(pos, list((hi - lo).unbind()))
    flat.floor_().clamp_max_(float(bins - 1))  # x >= lo: floor is histc's truncation
    torch._foreach_add_(pos, list(torch.arange(0, k * bins, bins, dtype=flat.dtype,
                                               device=flat.device).unbind()))
    index = flat.nan_to_num_(0.0, 0.0, 0.0).int()  # a diverged tensor: reported by the caller
    size = k * bins
    if flat.device.type == "cpu":
        counts = torch.bincount(index, minlength=size).float()
    else:  # bincount reads its input's max back to the host: a sync on an accelerator
        counts = torch.zeros(size, device=flat.device)
        counts.index_add_(0, index, counts.new_ones(1).expand(len(index)))
    return torch.stack([lo, hi], 1), counts


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
                 layers: dict[str, str], sample_info: ProbeSample | None = None) -> None:
        self.model = model
        self.cfg = cfg
        self.sample = sample  # one input with a batch dimension of 1, on the device
        self.sample_info = sample_info  # which sample that is; the answer is added per probe
        self._answer: Tensor | None = None  # the model's answer at the last probe forward
        self.paths = layers
        self.names = {path: name for name, path in layers.items()}
        self.params = [(node_key(n, self.names), p) for n, p in model.named_parameters()
                       if p.numel()]
        self.layers = self._layers(cfg.activation_layers)
        self.modules = {name: model.get_submodule(layers[name]) for name in self.layers}
        self.all_modules = list(model.modules())

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
        """Histograms, gradient norms and activations with one read from the device, not a
        sync per tensor: every tensor's [min, max], the gradient norms, all histogram
        counts (batched_histc) and the activation maps travel back in one buffer."""
        with torch.no_grad():  # the probe's own tensor work is never part of a graph
            return self._capture(epoch, step)

    def _capture(self, epoch: int, step: int) -> Snapshot:
        params = self.params
        grads = [(n, p.grad) for n, p in params if p.grad is not None]
        counted = [*params, *grads] if self.cfg.histograms else []
        normed = grads if self.cfg.grad_norms else []
        bins = self.cfg.bins
        parts: list[Tensor] = []
        if counted:
            ranges, counts = batched_histc([t for _, t in counted], bins)
            parts += [ranges.flatten(), counts]
        if normed:
            parts.append(torch.stack(torch._foreach_norm([g for _, g in normed])).float())
        activations = self._activation_tensors()
        parts += [a.reshape(-1).float() for a in activations.values()]
        if self._answer is not None:  # read back with the rest: no sync of its own
            parts.append(self._answer)
        host = torch.cat(parts).cpu().numpy() if parts else np.zeros(0, np.float32)
        k = len(counted)
        spans = host[:2 * k].astype(np.float64).reshape(k, 2)
        if not np.isfinite(spans).all():
            name = counted[int(np.flatnonzero(~np.isfinite(spans).all(1))[0])][0]
            raise TrainingError(f"{name} holds {'nan' if np.isnan(spans).any() else 'inf'} "
                                f"values at epoch {epoch}, step {step}: training diverged; "
                                f"lower the learning rate, normalise the inputs or clip "
                                f"gradients")
        edges = np.linspace(spans[:, 0], spans[:, 1], bins + 1, axis=1)
        counts = host[2 * k:2 * k + k * bins].astype(np.int64).reshape(k, bins)
        hist = [(name, (counts[i], edges[i])) for i, (name, _) in enumerate(counted)]
        offset = 2 * k + k * bins
        norms = dict(zip((n for n, _ in normed), host[offset:offset + len(normed)].tolist()))
        maps, offset = {}, offset + len(normed)
        for name, act in activations.items():
            maps[name] = host[offset:offset + act.numel()].reshape(act.shape)
            offset += act.numel()
        weights = len(params) if counted else 0
        info = self.sample_info
        if info is not None and self._answer is not None:
            info = replace(info, predicted=float(host[-1]))
        return Snapshot(epoch=epoch, step=step, weight_hist=dict(hist[:weights]),
                        grad_hist=dict(hist[weights:]), grad_norms=norms, activations=maps,
                        sample=info)

    def _activation_tensors(self) -> dict[str, Tensor]:
        """Each probed layer's output for the fixed sample (batch index 0), on the device.

        Every module is put in evaluation mode for this one pass (dropout off, batch-norm
        running statistics: a stable picture) and given back its own flag afterwards,
        which also keeps frozen layers in the evaluation mode they stay in; setting the
        flags directly costs a fraction of model.eval() / model.train()'s recursion."""
        if self.sample is None or not self.layers:
            return {}
        captured: dict[str, Any] = {}
        handles = [module.register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, out))
            for name, module in self.modules.items()]
        modes = [m.training for m in self.all_modules]
        try:
            for m in self.all_modules:
                m.training = False
            with torch.inference_mode():
                self._answer = _answer(self.model(self.sample))
        finally:
            for m, mode in zip(self.all_modules, modes):
                m.training = mode
            for h in handles:
                h.remove()
        return {name: _first(out)[0] for name, out in captured.items()}


def _answer(out: Any) -> Tensor | None:
    """The model's answer for the one probe sample, as a 1-element float tensor: the
    predicted class of a classifier's scores, the value of a one-number regression."""
    scores = _first(out)
    if not isinstance(scores, Tensor) or not scores.is_floating_point():
        return None
    row = scores[0].reshape(-1)
    if row.numel() == 1:
        return row.float()
    return row.argmax().reshape(1).float() if scores.dim() == 2 else None


def _first(out: Any) -> Tensor:
    return out[0] if isinstance(out, tuple | list) else out
