"""Gradient checking: a correct custom backward passes, a wrong one fails."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from app.core.templates import build_template
from app.learn.gradient_check import (
    GradCheckError,
    check_module,
    check_network,
    torch_gradcheck,
)


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x ** 2 * grad  # the derivative of x³ is 3x², not 2x²


class Scaled(nn.Module):
    def __init__(self, fn: type[torch.autograd.Function]) -> None:
        super().__init__()
        self.fn = fn
        self.weight = nn.Parameter(torch.tensor([0.5, -1.5, 2.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn.apply(self.weight * x)


X = torch.tensor([[0.3, 1.2, -0.7], [1.1, -0.4, 0.9]])


def test_a_correct_custom_backward_passes() -> None:
    report = check_module(Scaled(Cube), [X], check_inputs=True)
    assert report.passed
    assert [r.name for r in report.rows] == ["weight", "input 0"]
    assert [r.checked for r in report.rows] == [3, 6]
    assert report.max_abs < 1e-7 and report.max_rel < 1e-7
    assert torch_gradcheck(Cube.apply, [X])


def test_a_wrong_backward_fails_with_a_large_error() -> None:
    report = check_module(Scaled(WrongCube), [X], check_inputs=True)
    assert not report.passed
    assert not any(r.passed for r in report.rows)
    # analytic = 2/3 of the true gradient: the relative error is 1/3 wherever it is nonzero
    assert report.max_rel == pytest.approx(1 / 3, rel=1e-5)
    assert not torch_gradcheck(WrongCube.apply, [X])


def test_the_checked_module_is_left_unchanged() -> None:
    module = Scaled(Cube)
    before = module.weight.detach().clone()
    check_module(module, [X])
    assert module.weight.dtype == torch.float32
    assert torch.equal(module.weight.detach(), before)


def test_big_tensors_are_sampled() -> None:
    report = check_module(nn.Linear(50, 4), [torch.randn(2, 50)], max_per_tensor=20)
    weight = report.rows[0]
    assert (weight.name, weight.shape, weight.checked, weight.numel) == (
        "weight", (4, 50), 20, 200)
    assert report.rows[1].checked == 4  # the bias: all of it
    assert report.passed


def test_whole_template_network_passes() -> None:
    report = check_network(build_template("lenet5"))
    assert report.passed, [(r.name, r.max_abs, r.max_rel) for r in report.rows]
    names = [r.name for r in report.rows]
    assert names[-1] == "input 0" and len(names) == 11  # 5 layers × (weight, bias) + input
    assert 0 < report.max_abs < 1e-6


def test_one_node_is_checked_on_the_input_that_reaches_it() -> None:
    doc = build_template("lenet5")
    conv = next(n.name for n in doc.nodes if n.type == "Conv2d")
    report = check_network(doc, conv)
    assert report.passed
    assert [r.name for r in report.rows] == ["weight", "bias", "input 0"]
    assert report.rows[2].shape[0] == 2  # the batch of the tiny input


def test_bad_nodes_are_one_line_errors() -> None:
    doc = build_template("lenet5")
    with pytest.raises(GradCheckError, match="no node named 'nope'"):
        check_network(doc, "nope")
    relu = next(n.name for n in doc.nodes if n.type == "Input")
    with pytest.raises(GradCheckError, match="has no module"):
        check_network(doc, relu)
