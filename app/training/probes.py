"""Looking inside the network while it trains: histograms, gradient norms, activations.

Everything here runs only at probe time (every N batches or once per epoch), never in the
hot loop, so reading values back to the host (a device sync) is paid only then.
Activation maps come from the probe's own eval-mode pass of one fixed sample: a chain of
nn.Sequential steps is run step by step, any other model is read through forward hooks
that exist only during that pass, so ordinary training batches run hook-free.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
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


class HostHistograms:
    """`batched_histc` for tensors in host memory, where no sync has to be avoided and
    numpy's per-call cost (~1 us against torch's ~5 us) is what counts: the same ranges
    and counts, bin for bin. Planned once per list of shapes (a model's parameters and
    gradients), so the flat float32 copy (which then holds the int32 bin indices) and its
    per-tensor views are made once and reused by every snapshot.

    Per-tensor min and max are one `reduceat` each; the per-tensor steps of histc's
    arithmetic (subtract lo, times bins, divide by the width) run on numpy views of the
    flat copy; one `bincount` counts every tensor's bins. Each tensor gets `bins + 1`
    slots so the maximum (bin index == bins) needs no clamp: its slot is added to the
    last bin afterwards, as histc puts the maximum in the last bin."""

    def __init__(self, tensors: list[Tensor]) -> None:
        self.shapes = [t.shape for t in tensors]
        sizes = [t.numel() for t in tensors]
        self.flat = torch.empty(sum(sizes))
        self.views = [v.view(shape) for v, shape in zip(self.flat.split(sizes), self.shapes)]
        self.starts = np.cumsum([0, *sizes[:-1]])
        # the bin indices overwrite the values they come from (same size, elementwise):
        # one buffer, half the memory a snapshot touches
        values = self.flat.numpy()
        self.index = values.view(np.int32)
        spans = [slice(a, a + n) for a, n in zip(self.starts.tolist(), sizes)]
        self.segments = [values[s] for s in spans]
        self.index_segments = [self.index[s] for s in spans]

    def fits(self, tensors: list[Tensor]) -> bool:
        return [t.shape for t in tensors] == self.shapes

    def __call__(self, tensors: list[Tensor], bins: int) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) float32 ranges and (K, bins) int64 counts, as batched_histc's. A tensor
        with nan or inf values gives a non-finite range and no counts: the caller
        reports it."""
        with torch.no_grad():  # parameters go in as they are; the copy is not tracked
            torch._foreach_copy_(self.views, tensors)  # casts float64 / half to float32
        values = self.flat.numpy()
        lo = np.minimum.reduceat(values, self.starts)
        hi = np.maximum.reduceat(values, self.starts)
        k = len(self.segments)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return np.stack([lo, hi], 1), np.zeros((k, bins), np.int64)
        same = lo == hi
        if same.any():
            lo[same] -= np.float32(0.5)
            hi[same] += np.float32(0.5)
        scale, slots = np.float32(bins), bins + 1
        for seg, low, width in zip(self.segments, lo, hi - lo):
            np.subtract(seg, low, out=seg)
            np.multiply(seg, scale, out=seg)
            np.divide(seg, width, out=seg)
        np.copyto(self.index, values, casting="unsafe")  # x >= lo: truncation is histc's
        for i, seg in enumerate(self.index_segments):
            seg += i * slots
        counts = torch.bincount(torch.from_numpy(self.index), minlength=k * slots)
        counts = counts.numpy().reshape(k, slots)
        counts[:, bins - 1] += counts[:, bins]
        return np.stack([lo, hi], 1), counts[:, :bins]


def auto_layers(model: nn.Module, layers: dict[str, str]) -> list[str]:
    """The layers probed when the run config names none, in `layers`' (topological) order:
    the one policy of the GUI and the CLI, so a network gets the same health verdict."""
    return [name for name, path in layers.items()
            if type(model.get_submodule(path)).__name__ in PROBED][:AUTO_LIMIT]


@dataclass
class Readout:
    """A snapshot's numbers in host memory: (K, 2) ranges and (K, bins) counts of the
    histogrammed tensors, the gradient norms, and each probed layer's map."""

    ranges: np.ndarray
    counts: np.ndarray
    norms: np.ndarray
    maps: dict[str, np.ndarray]
    answer: float | None = None  # the model's answer for the probe sample (_answer)


class Probes:
    """Snapshots name layers as the run config does (`layers`: name -> module path, from
    setup.layer_paths), so a document's histograms read `conv1_1.weight`, not
    `features.0.weight`."""

    def __init__(self, model: nn.Module, cfg: ProbeConfig, sample: Tensor | None,
                 layers: dict[str, str], sample_info: ProbeSample | None = None) -> None:
        self.model = model
        self.cfg = cfg
        self.sample = sample  # one input with a batch dimension of 1, on the device
        self.paths = layers
        self.sample_info = sample_info  # which sample that is; the answer is added per probe
        self._answer: Tensor | None = None  # the model's answer at the last probe forward
        self.names = {path: name for name, path in layers.items()}
        self.params = [(node_key(n, self.names), p) for n, p in model.named_parameters()
                       if p.numel()]
        self.layers = self._layers(cfg.activation_layers)
        self.modules = {name: model.get_submodule(layers[name]) for name in self.layers}
        self.all_modules = list(model.modules())
        self._host_hist: HostHistograms | None = None
        self._native_conv: bool | None = None  # decided at the first capture
        self._chain = sequential_chain(model, self.modules)

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
        """Histograms, gradient norms and activations. On an accelerator they come back
        in one read, not a sync per tensor: every tensor's [min, max], the gradient norms,
        all histogram counts (batched_histc) and the activation maps travel in one buffer.
        In host memory there is no sync to save and numpy bins the tensors
        (HostHistograms), at a fraction of the per-call cost of torch's small ops."""
        with torch.no_grad():  # the probe's own tensor work is never part of a graph
            return self._capture(epoch, step)

    def _capture(self, epoch: int, step: int) -> Snapshot:
        params = self.params
        grads = [(n, p.grad) for n, p in params if p.grad is not None]
        counted = [*params, *grads] if self.cfg.histograms else []
        normed = grads if self.cfg.grad_norms else []
        tensors = [t for _, t in counted]
        read = self._read_host if self._on_host() else self._read_device
        out = read(tensors, [g for _, g in normed])
        if not np.isfinite(out.ranges).all():
            name = counted[int(np.flatnonzero(~np.isfinite(out.ranges).all(1))[0])][0]
            raise TrainingError(f"{name} holds {'nan' if np.isnan(out.ranges).any() else 'inf'}"
                                f" values at epoch {epoch}, step {step}: training diverged; "
                                f"lower the learning rate, normalise the inputs or clip "
                                f"gradients")
        edges = _edges(out.ranges.astype(np.float64), self.cfg.bins)
        hist = [(name, (out.counts[i], edges[i])) for i, (name, _) in enumerate(counted)]
        norms = dict(zip((n for n, _ in normed), out.norms.tolist()))
        weights = len(params) if counted else 0
        info = self.sample_info
        if info is not None and out.answer is not None:
            info = replace(info, predicted=out.answer)
        return Snapshot(epoch=epoch, step=step, weight_hist=dict(hist[:weights]),
                        grad_hist=dict(hist[weights:]), grad_norms=norms,
                        activations=out.maps, sample=info)

    def _on_host(self) -> bool:
        first = self.params[0][1] if self.params else self.sample
        return first is None or first.device.type == "cpu"

    def _read_host(self, tensors: list[Tensor], grads: list[Tensor]) -> Readout:
        bins = self.cfg.bins
        if tensors:
            if self._host_hist is None or not self._host_hist.fits(tensors):
                self._host_hist = HostHistograms(tensors)
            ranges, counts = self._host_hist(tensors, bins)
        else:
            ranges, counts = np.zeros((0, 2), np.float32), np.zeros((0, bins), np.int64)
        norms = torch.stack(torch._foreach_norm(grads)).float().numpy() if grads \
            else np.zeros(0, np.float32)
        maps = {name: a.float().numpy() for name, a in self._activation_tensors().items()}
        answer = None if self._answer is None else float(self._answer)
        return Readout(ranges, counts, norms, maps, answer)

    def _read_device(self, tensors: list[Tensor], grads: list[Tensor]) -> Readout:
        k, bins = len(tensors), self.cfg.bins
        parts: list[Tensor] = []
        if tensors:
            ranges, counts = batched_histc(tensors, bins)
            parts += [ranges.flatten(), counts]
        if grads:
            parts.append(torch.stack(torch._foreach_norm(grads)).float())
        activations = self._activation_tensors()
        parts += [a.reshape(-1).float() for a in activations.values()]
        if self._answer is not None:  # read back with the rest: no sync of its own
            parts.append(self._answer)
        host = torch.cat(parts).cpu().numpy() if parts else np.zeros(0, np.float32)
        maps, offset = {}, 2 * k + k * bins + len(grads)
        for name, act in activations.items():
            maps[name] = host[offset:offset + act.numel()].reshape(act.shape)
            offset += act.numel()
        return Readout(host[:2 * k].reshape(k, 2),
                       host[2 * k:2 * k + k * bins].astype(np.int64).reshape(k, bins),
                       host[2 * k + k * bins:2 * k + k * bins + len(grads)], maps,
                       None if self._answer is None else float(host[-1]))

    def _activation_tensors(self) -> dict[str, Tensor]:
        """Each probed layer's output for the fixed sample (batch index 0), on the device."""
        if self.sample is None or not self.layers:
            return {}
        if self._native_conv is None:
            self._native_conv = self._native_conv_pays()
        with _onednn_off() if self._native_conv else contextlib.nullcontext():
            return self._sample_pass()

    def _native_conv_pays(self) -> bool:
        """Whether the sample's pass runs faster with oneDNN off, timed on its first run
        (cudnn.benchmark's idea). oneDNN's set-up per call (~35 us a convolution) costs
        more than a small network's whole convolution of one sample (LeNet-5: 50 against
        19 us), while it runs a ResNet's 1.6-2.4x faster. Both give the same maps, up to
        float rounding."""
        if self.sample.device.type != "cpu" or not torch.backends.mkldnn.enabled:
            return False
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for native in (False, True, False, True):  # the first of each pays its set-up
            start = time.perf_counter()
            with _onednn_off() if native else contextlib.nullcontext():
                self._sample_pass()
            seconds[native].append(time.perf_counter() - start)
        return min(seconds[True]) < min(seconds[False])

    def _sample_pass(self) -> dict[str, Tensor]:
        """Every module is put in evaluation mode for this one pass (dropout off,
        batch-norm running statistics: a stable picture) and given back its own flag
        afterwards, which also keeps frozen layers in the evaluation mode they stay in;
        setting the flags directly costs a fraction of model.eval() / model.train()'s
        recursion."""
        captured: dict[str, Tensor] = {}
        handles = [] if self._chain is not None else [module.register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, _kept(out)))
            for name, module in self.modules.items()]
        modes = [m.training for m in self.all_modules]
        try:
            for m in self.all_modules:
                _set_training(m, False)
            with torch.inference_mode():
                out = self.model(self.sample) if self._chain is None \
                    else self._run_chain(self._chain, captured)
                self._answer = _answer(out)
        finally:
            for m, mode in zip(self.all_modules, modes):
                _set_training(m, mode)
            for h in handles:
                h.remove()
        return captured

    def _run_chain(self, chain: list[tuple[nn.Module, str | None]],
                   captured: dict[str, Tensor]) -> Tensor:
        x = self.sample
        for module, name in chain:
            x = module(x)
            if name is not None:
                captured[name] = _kept(x)
        return x


def sequential_chain(model: nn.Module, taps: dict[str, nn.Module]
                     ) -> list[tuple[nn.Module, str | None]] | None:
    """The steps a plain nn.Sequential (nested or not) runs one after another, each with
    the probed layer's name it is read under: running them in turn is exactly the model's
    forward, and the sample's pass then needs no hooks registered and removed at every
    snapshot (~90 us of a LeNet-5 capture). None when the model is no such chain, a
    container has hooks of its own, or a probed layer is not one of the steps: the pass
    then reads the layers through forward hooks."""
    names = {module: name for name, module in taps.items()}
    if len(names) != len(taps):
        return None
    steps: list[tuple[nn.Module, str | None]] = []

    def walk(module: nn.Module) -> None:
        if type(module) is nn.Sequential and module not in names \
                and not (module._forward_hooks or module._forward_pre_hooks):
            for child in module:
                walk(child)
        else:
            steps.append((module, names.get(module)))

    walk(model)
    return steps if sum(name is not None for _, name in steps) == len(taps) else None


@contextlib.contextmanager
def _onednn_off() -> Iterator[None]:
    """The flag is process-wide: a convolution another thread runs meanwhile takes the
    native path too, with the same result up to float rounding."""
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = True


def _edges(ranges: np.ndarray, bins: int) -> np.ndarray:
    """np.linspace(lo, hi, bins + 1) of every (lo, hi) row, in linspace's own arithmetic
    (start + i * step, the last edge exactly hi) without its ~40 us of Python."""
    lo, hi = ranges[:, :1], ranges[:, 1:]
    edges = np.arange(bins + 1) * ((hi - lo) / bins) + lo
    edges[:, -1:] = hi
    return edges


def _set_training(module: nn.Module, mode: bool) -> None:
    # `training` is a plain attribute: nn.Module.__setattr__'s checks for parameters,
    # buffers and submodules cost ~4 us a module for nothing.
    object.__setattr__(module, "training", mode)


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


def _kept(out: Any) -> Tensor:
    """Sample 0 of a layer's output, copied when the layer runs: a later in-place layer
    (torchvision's ReLU(inplace=True) after a convolution) would otherwise overwrite it."""
    return _first(out)[0].clone()


def _first(out: Any) -> Any:
    """A layer's or model's main output: the first of a tuple (LSTM's output, not its state)."""
    return out[0] if isinstance(out, tuple | list) else out
