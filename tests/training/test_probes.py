"""Probe snapshots, computed in one batched pass, equal torch's per-tensor answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from app.training.config import ProbeConfig
from app.training.errors import TrainingError
from app.training.probes import (
    HostHistograms,
    Probes,
    _edges,
    _onednn_off,
    batched_histc,
    sequential_chain,
)


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


def _histc_cases() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    grid = torch.linspace(-1.0, 1.0, 61)  # values on the bin edges of 30 and 60 bins
    return [torch.randn(5000, generator=g), torch.rand(777, generator=g) * 1e-6,
            torch.full((40,), 0.1), torch.tensor([3.0]), grid, grid.repeat(3),
            torch.randn(300, generator=g) * 1e4,
            torch.randint(-3, 4, (500,), generator=g).float(),
            torch.randn(6, 1, 5, 5, generator=g), torch.randn(120, 40, generator=g),
            torch.linspace(0, 1.1, 10001)]  # a width where x / w and x * (1 / w) part


def test_host_histograms_bin_exactly_as_torch_histc_and_as_the_device_path() -> None:
    """The numpy path for tensors in host memory: each tensor's counts are torch.histc's
    over its own [min, max] (widened by 0.5 when constant), bin for bin, and its ranges
    are batched_histc's, for any bin count."""
    tensors = _histc_cases()
    before = [t.clone() for t in tensors]
    plan = HostHistograms(tensors)
    for bins in (1, 2, 7, 30, 60, 1000):
        ranges, counts = plan(tensors, bins)
        want_ranges, want_counts = batched_histc(tensors, bins)
        assert np.array_equal(ranges, want_ranges.numpy()), bins
        assert np.array_equal(counts.reshape(-1), want_counts.numpy()), bins
        assert counts.shape == (len(tensors), bins) and counts.dtype == np.int64
        for i, t in enumerate(tensors):
            lo, hi = ranges[i].tolist()
            want = torch.histc(t, bins=bins, min=lo, max=hi)
            assert counts[i].tolist() == want.long().tolist(), (i, bins)
            assert counts[i].sum() == t.numel()
    assert all(torch.equal(t, b) for t, b in zip(tensors, before))


def test_host_histograms_take_other_float_types_and_report_non_finite_ranges() -> None:
    g = torch.Generator().manual_seed(3)
    wide = torch.randn(200, generator=g, dtype=torch.float64)
    plan = HostHistograms([wide])
    ranges, counts = plan([wide], 10)
    assert counts[0].tolist() == torch.histc(wide.float(), 10, *ranges[0].tolist()).long().tolist()
    broken = wide.clone()
    broken[7] = float("inf")
    ranges, counts = plan([broken], 10)
    assert not np.isfinite(ranges).all() and counts.sum() == 0


def test_capture_in_host_memory_equals_the_one_read_device_path() -> None:
    """On CPU a capture takes the numpy path; the accelerator's one-buffer path (run here
    on CPU) gives the same snapshot, number for number."""
    _, probes = _probed_net()
    host = probes.capture(epoch=1, step=2)
    probes._on_host = lambda: False
    device = probes.capture(epoch=1, step=2)
    for got, want in ((host.weight_hist, device.weight_hist), (host.grad_hist, device.grad_hist)):
        assert list(got) == list(want)
        for name in got:
            assert got[name][0].tolist() == want[name][0].tolist(), name
            assert np.array_equal(got[name][1], want[name][1]), name
    assert host.grad_norms == device.grad_norms
    for name, values in host.activations.items():
        np.testing.assert_array_equal(values, device.activations[name])


def test_bin_edges_are_np_linspace_of_each_range() -> None:
    # the last two: start + bins * step misses hi by a rounding; linspace sets it
    ranges = np.array([[-1.5, 2.25], [0.1, 0.1 + 1e-7], [-3e4, 1e4], [0.0, 1.0],
                       [-0.5356693863868713, 0.3615950644016266],
                       [-0.4368683397769928, 0.519841730594635]])
    for bins in (1, 7, 30):
        assert np.array_equal(_edges(ranges, bins),
                              np.linspace(ranges[:, 0], ranges[:, 1], bins + 1, axis=1))


@pytest.mark.parametrize("native", [True, False])
def test_sample_pass_maps_with_or_without_onednn_equal_an_eval_forward(native: bool) -> None:
    """The one-sample pass may run with oneDNN off (faster for a small network); the maps
    are the same up to float rounding and the process-wide flag is given back."""
    net, probes = _probed_net()
    probes._native_conv = native
    snap = probes.capture(epoch=1, step=1)
    assert torch.backends.mkldnn.enabled
    with torch.no_grad():
        conv = net[0](probes.sample)[0]
    np.testing.assert_allclose(snap.activations["conv"], conv.numpy(), rtol=1e-5, atol=1e-6)


def test_the_onednn_choice_is_timed_once_and_made_on_cpu_only() -> None:
    _, probes = _probed_net()
    assert probes._native_conv is None
    probes.capture(epoch=1, step=1)
    assert probes._native_conv in (True, False)
    with pytest.raises(RuntimeError), _onednn_off():
        assert not torch.backends.mkldnn.enabled
        raise RuntimeError("a failing pass")
    assert torch.backends.mkldnn.enabled


class _Branchy(nn.Module):
    """Not a chain: the sample pass reads it through forward hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.act = nn.ReLU()
        self.fc = nn.Linear(3 * 6 * 6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        return self.fc((y + y.flip(-1)).flatten(1))


def _nested() -> nn.Sequential:
    torch.manual_seed(4)
    return nn.Sequential(nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU()),
                         nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(108, 5))),
                         nn.Dropout(0.5), nn.Tanh())


def test_a_nested_sequential_runs_as_a_chain_with_the_maps_the_hooks_read() -> None:
    net = _nested()
    layers = {"conv": "0.0", "relu": "0.1", "fc": "1.1.0", "drop": "2", "tanh": "3"}
    sample = torch.randn(1, 1, 8, 8)
    probes = Probes(net, ProbeConfig(bins=5, activation_layers=list(layers)), sample, layers)
    assert probes._chain is not None
    assert [name for _, name in probes._chain] == ["conv", "relu", None, "fc", "drop", "tanh"]
    chained = probes.capture(epoch=1, step=1).activations
    probes._chain = None
    hooked = probes.capture(epoch=1, step=1).activations
    assert list(chained) == list(hooked) == list(layers)
    for name in layers:
        np.testing.assert_array_equal(chained[name], hooked[name])
    assert all(not m._forward_hooks for m in net.modules())
    net.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(chained["tanh"], net(sample)[0].numpy())


def test_other_models_are_read_through_hooks_that_are_gone_after_the_capture() -> None:
    torch.manual_seed(5)
    net = _Branchy()
    layers = {"conv": "conv", "act": "act", "fc": "fc"}
    sample = torch.randn(1, 1, 8, 8)
    probes = Probes(net, ProbeConfig(bins=5), sample, layers)
    assert probes._chain is None
    snap = probes.capture(epoch=1, step=1)
    assert all(not m._forward_hooks for m in net.modules())
    with torch.no_grad():
        conv = net.conv(sample)
        np.testing.assert_allclose(snap.activations["conv"], conv[0].numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(snap.activations["fc"], net(sample)[0].numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_no_chain_when_a_container_has_hooks_or_a_probed_layer_is_not_a_step() -> None:
    net = _nested()
    assert sequential_chain(net, {"fc": net[1][1][0]}) is not None
    handle = net[1].register_forward_hook(lambda *_: None)
    assert sequential_chain(net, {"fc": net[1][1][0]}) is None
    handle.remove()

    class Wrapped(nn.Sequential):  # a subclass may change forward: it is one opaque step
        pass

    wrapped = nn.Sequential(Wrapped(nn.Linear(2, 2), nn.ReLU()))
    assert sequential_chain(wrapped, {"relu": wrapped[0][1]}) is None
    assert sequential_chain(wrapped, {"block": wrapped[0]}) == [(wrapped[0], "block")]


def test_a_map_is_kept_before_an_in_place_layer_overwrites_it() -> None:
    """torchvision puts ReLU(inplace=True) after convolutions: the convolution's map still
    shows its negative values, in the chain and through hooks."""
    torch.manual_seed(6)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True))
    sample = torch.randn(1, 1, 6, 6)
    with torch.no_grad():
        want = net[0](sample)[0].numpy()
    assert (want < 0).any()
    probes = Probes(net, ProbeConfig(bins=4, activation_layers=["conv", "relu"]), sample,
                    {"conv": "0", "relu": "1"})
    for chain in (probes._chain, None):
        probes._chain = chain
        maps = probes.capture(epoch=1, step=1).activations
        np.testing.assert_allclose(maps["conv"], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(maps["relu"], np.maximum(maps["conv"], 0))
