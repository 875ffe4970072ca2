"""Gradient checking: autograd's gradients against central finite differences, per
parameter tensor, in float64 on a tiny input (as the course does when it derives
back-propagation by hand).

Qt-free. The scalar checked is L = Σ out·R with a fixed random R, so every output
element matters and errors in different elements cannot cancel. For each checked element
θ_i the numeric gradient is (L(θ_i + ε) − L(θ_i − ε)) / 2ε; it passes when
|analytic − numeric| <= atol + rtol·|numeric|, torch.autograd.gradcheck's rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-3
MAX_PER_TENSOR = 64  # elements checked per tensor; a sample of big ones, picked by a seed


class GradCheckError(ValueError):
    """The network or node cannot be checked (it does not compile, it has no input...)."""


@dataclass
class TensorCheck:
    """One parameter (or input) tensor: how far autograd and finite differences differ."""

    name: str
    shape: tuple[int, ...]
    checked: int  # elements compared (all of them, or a seeded sample)
    max_abs: float
    max_rel: float
    passed: bool

    @property
    def numel(self) -> int:
        return int(torch.Size(self.shape).numel())


@dataclass
class GradCheckReport:
    rows: list[TensorCheck] = field(default_factory=list)
    eps: float = EPS
    atol: float = ATOL
    rtol: float = RTOL

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def max_abs(self) -> float:
        return max((r.max_abs for r in self.rows), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.rows), default=0.0)


def _compare(name: str, tensor: torch.Tensor, analytic: torch.Tensor,
             loss: Callable[[], torch.Tensor], eps: float, atol: float, rtol: float,
             max_elements: int, generator: torch.Generator) -> TensorCheck:
    flat = tensor.data.view(-1)
    count = flat.numel()
    if count > max_elements:
        picked = torch.randperm(count, generator=generator)[:max_elements].sort().values
    else:
        picked = torch.arange(count)
    max_abs = max_rel = 0.0
    passed = True
    with torch.no_grad():
        for i in picked.tolist():
            saved = flat[i].item()
            flat[i] = saved + eps
            plus = loss().item()
            flat[i] = saved - eps
            minus = loss().item()
            flat[i] = saved
            numeric = (plus - minus) / (2 * eps)
            exact = analytic.view(-1)[i].item()
            diff = abs(exact - numeric)
            max_abs = max(max_abs, diff)
            max_rel = max(max_rel, diff / max(abs(exact), abs(numeric), 1e-12))
            passed = passed and diff <= atol + rtol * abs(numeric)
    return TensorCheck(name, tuple(tensor.shape), len(picked), max_abs, max_rel, passed)


def check_module(module: nn.Module, inputs: Sequence[torch.Tensor], *,
                 check_inputs: bool = False, eps: float = EPS, atol: float = ATOL,
                 rtol: float = RTOL, max_per_tensor: int = MAX_PER_TENSOR, seed: int = 0
                 ) -> GradCheckReport:
    """Compare autograd with central differences for every parameter of `module` (and its
    floating-point inputs if `check_inputs`). Works on a float64 copy in eval mode, so
    dropout draws the same (no) mask for every evaluation; `module` is left unchanged."""
    import copy

    model = copy.deepcopy(module).double().eval()
    xs = [x.detach().double().clone() if x.is_floating_point() else x for x in inputs]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        first = _output(model, xs)
    weights = torch.randn(first.shape, generator=generator, dtype=torch.float64)

    def loss() -> torch.Tensor:
        return (_output(model, xs) * weights).sum()

    tensors = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if check_inputs:
        tensors += [(f"input {i}", x.requires_grad_(True)) for i, x in enumerate(xs)
                    if x.is_floating_point()]
    if not tensors:
        raise GradCheckError("nothing to check: no trainable parameters (and no inputs "
                             "asked for)")
    grads = torch.autograd.grad(loss(), [t for _, t in tensors], allow_unused=True)
    report = GradCheckReport(eps=eps, atol=atol, rtol=rtol)
    for (name, tensor), grad in zip(tensors, grads, strict=True):
        analytic = torch.zeros_like(tensor) if grad is None else grad
        report.rows.append(_compare(name, tensor, analytic, loss, eps, atol, rtol,
                                    max_per_tensor, generator))
    return report


def _output(model: nn.Module, xs: list[torch.Tensor]) -> torch.Tensor:
    out = model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    return torch.cat([o.reshape(-1) for o in outs if o.is_floating_point()])


def torch_gradcheck(fn: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor],
                    eps: float = EPS, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """torch.autograd.gradcheck on float64 copies of the inputs; True when it agrees."""
    xs = tuple(x.detach().double().requires_grad_(True) for x in inputs)
    return torch.autograd.gradcheck(fn, xs, eps=eps, atol=atol, rtol=rtol,
                                    raise_exception=False)


def check_network(network: object, node: str | None = None, batch: int = 2, seed: int = 0
                  ) -> GradCheckReport:
    """The whole compiled network (inputs included), or one node's module on the input
    that reaches it, on a tiny random float64 batch."""
    from app.core.compiler import CompileError, compile_document, example_inputs, node_module

    try:
        torch.manual_seed(seed)
        model = compile_document(network)
        inputs = example_inputs(network, batch)
    except CompileError as exc:
        raise GradCheckError(f"the network has errors: {exc}") from None
    if node is None:
        return check_module(model, inputs, check_inputs=True, seed=seed)
    if node not in {n.name for n in network.nodes}:
        raise GradCheckError(f"no node named {node!r}")
    if not network.node(node).spec.has_module:
        raise GradCheckError(f"{node}: an {network.node(node).type} node has no module to "
                             f"check; pick a layer")
    sub = node_module(model, network, node)
    seen: list[tuple[torch.Tensor, ...]] = []
    hook = sub.register_forward_hook(lambda _m, args, _out: seen.append(args))
    try:
        with torch.no_grad():
            model.eval()(*inputs)
    finally:
        hook.remove()
    return check_module(sub, list(seen[0]), check_inputs=True, seed=seed)
