"""Probe snapshots, computed in one batched pass, equal torch's per-tensor answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from app.training.config import ProbeConfig
from app.training.errors import TrainingError
from app.training.probes import Probes, batched_histc


def _probed_net() -> tuple[nn.Module, Probes]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    nn.init.constant_(net[0].bias, 0.25)  # a constant tensor: histc's widened range
    with torch.no_grad():
        net[3].weight[0, :5] = torch.tensor([0.0, 1.0, 1.0, -2.0, 0.5])  # ties on edges
    x = torch.randn(5, 1, 8, 8)
    nn.functional.cross_entropy(net(x), torch.tensor([0, 1, 2, 0, 1])).backward()
    layers = {"conv": "0", "act": "1", "flat": "2", "fc": "3"}
    probes = Probes(net, ProbeConfig(bins=7), x[:1], layers)
    return net, probes


def _reference(t: torch.Tensor, bins: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (float(v) for v in torch.aminmax(t.detach().float()))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(t.detach().float(), bins=bins, min=lo, max=hi)
    return counts.numpy().astype(np.int64), np.linspace(lo, hi, bins + 1)


def test_snapshot_histograms_norms_and_maps_equal_torch() -> None:
    net, probes = _probed_net()
    snap = probes.capture(epoch=1, step=3)
    names = {"conv.weight": net[0].weight, "conv.bias": net[0].bias, "fc.weight": net[3].weight,
             "fc.bias": net[3].bias}
    assert set(snap.weight_hist) == set(snap.grad_hist) == set(snap.grad_norms) == set(names)
    for name, param in names.items():
        for got, tensor in ((snap.weight_hist[name], param), (snap.grad_hist[name], param.grad)):
            counts, edges = _reference(tensor, 7)
            assert got[0].tolist() == counts.tolist(), name
            np.testing.assert_allclose(got[1], edges, rtol=1e-6)
        assert snap.grad_norms[name] == float(param.grad.norm())  # the same float32 norm
    with torch.no_grad():
        conv = net[0](probes.sample)[0]
    np.testing.assert_allclose(snap.activations["conv"], conv.numpy(), rtol=1e-6)
    np.testing.assert_allclose(snap.activations["act"], conv.relu().numpy(), rtol=1e-6)
    assert snap.activations["fc"].shape == (3,)


def test_switches_leave_out_what_is_off() -> None:
    _, probes = _probed_net()
    probes.cfg = ProbeConfig(bins=7, histograms=False, grad_norms=False)
    snap = probes.capture(epoch=0, step=0)
    assert snap.weight_hist == snap.grad_hist == snap.grad_norms == {}
    assert snap.activations["conv"].shape == (4, 6, 6)


def test_batched_histc_bins_exactly_as_torch_histc() -> None:
    """Every element lands in the bin torch.histc puts it in: edges, ties, constants,
    a single element, wide and tiny ranges, many bin counts."""
    g = torch.Generator().manual_seed(1)
    grid = torch.linspace(-1.0, 1.0, 61)  # values on the bin edges of 30 and 60 bins
    tensors = [torch.randn(5000, generator=g), torch.rand(777, generator=g) * 1e-6,
               torch.full((40,), 0.1), torch.tensor([3.0]), grid, grid.repeat(3),
               torch.randn(300, generator=g) * 1e4, torch.randint(-3, 4, (500,), generator=g
                                                                  ).float()]
    for bins in (2, 7, 30, 60, 1000):
        ranges, counts = batched_histc(tensors, bins)
        for i, t in enumerate(tensors):
            lo, hi = ranges[i].tolist()
            want = torch.histc(t, bins=bins, min=lo, max=hi)
            assert torch.equal(counts[i * bins:(i + 1) * bins], want), (i, bins)
            assert counts[i * bins:(i + 1) * bins].sum() == t.numel()
    lo, hi = batched_histc([torch.full((4,), 0.1)], 3)[0][0].tolist()
    assert (lo, hi) == (np.float32(0.1) - np.float32(0.5), np.float32(0.1) + np.float32(0.5))


def test_a_diverged_tensor_stops_the_capture_with_one_line() -> None:
    net, probes = _probed_net()
    with torch.no_grad():
        net[3].weight[1, 2] = float("nan")
    with pytest.raises(TrainingError, match=r"^fc\.weight holds nan values at epoch 2, step 9"):
        probes.capture(epoch=2, step=9)


def test_batched_histc_reads_any_shape_and_leaves_the_tensors_alone() -> None:
    """Weights go in as they are (4-D convolution kernels, matrices); the binning works on
    its own flat copy, so the model's tensors are untouched, even for a single tensor."""
    g = torch.Generator().manual_seed(2)
    tensors = [torch.randn(6, 1, 5, 5, generator=g), torch.randn(120, 400, generator=g),
               torch.randn(7, generator=g)]
    before = [t.clone() for t in tensors]
    ranges, counts = batched_histc(tensors, 30)
    for i, t in enumerate(tensors):
        assert torch.equal(t, before[i])
        lo, hi = ranges[i].tolist()
        assert (lo, hi) == tuple(v.item() for v in torch.aminmax(t))
        assert torch.equal(counts[i * 30:(i + 1) * 30], torch.histc(t, 30, min=lo, max=hi))
    alone = torch.randn(50, generator=g)
    kept = alone.clone()
    batched_histc([alone], 4)
    assert torch.equal(alone, kept)


def test_capture_runs_the_sample_in_eval_mode_and_gives_every_module_its_mode_back() -> None:
    """Dropout is off for the probe's pass (the maps equal an eval-mode forward), and each
    module gets its own flag back: the training net stays in training, a frozen layer
    pinned in evaluation mode stays there. Weights and gradients are left as they were."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.9), nn.Linear(8, 3), nn.BatchNorm1d(3))
    x = torch.randn(4, 6)
    net(x).sum().backward()
    net[3].eval()  # as freeze_layers leaves a frozen batch norm
    probes = Probes(net, ProbeConfig(bins=5, activation_layers=["drop", "fc2", "bn"]), x[:1],
                    {"fc1": "0", "drop": "1", "fc2": "2", "bn": "3"})
    weights = {n: p.detach().clone() for n, p in net.named_parameters()}
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    stats = net[3].running_mean.clone()
    snap = probes.capture(epoch=1, step=1)
    assert [m.training for m in net] == [True, True, True, False] and net.training
    assert all(torch.equal(p, weights[n]) for n, p in net.named_parameters())
    assert all(torch.equal(p.grad, grads[n]) for n, p in net.named_parameters())
    assert torch.equal(net[3].running_mean, stats)  # no batch-norm update from the probe
    net.eval()
    with torch.no_grad():
        hidden = net[0](x[:1])
        want_fc2 = net[2](hidden)
        want_bn = net[3](want_fc2)
    np.testing.assert_array_equal(snap.activations["drop"], hidden[0].numpy())
    np.testing.assert_allclose(snap.activations["fc2"], want_fc2[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(snap.activations["bn"], want_bn[0].numpy(), rtol=1e-6)
