"""Small modules for canvas operations that torch.nn has no layer for.

They hold no parameters, so they never change a model's state_dict keys (a Parameter
node's tensor, `learnable`, sits at the node's own module path).
"""

from __future__ import annotations

import functools
import operator

import torch
from torch import nn
from torch.nn import functional as F


class Identity(nn.Identity):
    """Input and Output nodes: pass the tensor through."""


class Add(nn.Module):
    """Element-wise sum of all inputs (a residual connection)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.add, inputs)


class Multiply(nn.Module):
    """Element-wise product of all inputs."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.mul, inputs)


class Concat(nn.Module):
    """Concatenate all inputs along `dim`, in port order."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Stack(Concat):
    """Stack all inputs (of equal shape) along a new dimension `dim`, in port order."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack(inputs, dim=self.dim)


class Scale(nn.Module):
    """Multiply by a constant `factor`, or divide by it (attention's 1/√d)."""

    def __init__(self, factor: float = 1.0, divide: bool = False) -> None:
        super().__init__()
        self.factor = factor
        self.divide = divide

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.factor if self.divide else x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}, divide={self.divide}"


class MatMul(nn.Module):
    """Matrix product of the two inputs, as `torch.matmul(a, b)` (`a @ b`)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class ScaledDotProductAttention(nn.Module):
    """softmax(q·kᵀ·scale)·v, as `F.scaled_dot_product_attention`; dropout on the
    attention weights in training only, as nn.MultiheadAttention applies it."""

    def __init__(self, is_causal: bool = False, dropout_p: float = 0.0,
                 scale: float | None = None) -> None:
        super().__init__()
        self.is_causal = is_causal
        self.dropout_p = dropout_p
        self.scale = scale

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                value: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(
            query, key, value, dropout_p=self.dropout_p if self.training else 0.0,
            is_causal=self.is_causal, scale=self.scale)

    def extra_repr(self) -> str:
        return f"is_causal={self.is_causal}, dropout_p={self.dropout_p}, scale={self.scale}"


class Reshape(nn.Module):
    """Reshape each sample to `shape`, keeping the batch dimension."""

    def __init__(self, shape: tuple[int, ...] = (-1,)) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class LastStep(nn.Module):
    """Take the last time step of a batch-first sequence (batch × seq × features)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


class Mean(nn.Module):
    """Average over `dim` (torch dims: 1 is the first after the batch), as `x.mean(dim)`."""

    def __init__(self, dim: int | tuple[int, ...] = -1, keepdim: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(self.dim, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, keepdim={self.keepdim}"


class Permute(nn.Module):
    """Reorder the dimensions after the batch, as `x.permute(0, *dims)`."""

    def __init__(self, dims: tuple[int, ...] = (2, 3, 1)) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Transpose(nn.Module):
    """Swap two dimensions, as `x.transpose(dim0, dim1)`."""

    def __init__(self, dim0: int = 1, dim1: int = 2) -> None:
        super().__init__()
        self.dim0 = dim0
        self.dim1 = dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class Chunk(nn.Module):
    """Split into `chunks` pieces along `dim`, as `x.chunk(chunks, dim)`: one output each."""

    def __init__(self, chunks: int = 2, dim: int = 1) -> None:
        super().__init__()
        self.chunks = chunks
        self.dim = dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return x.chunk(self.chunks, self.dim)

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, dim={self.dim}"


class Split(nn.Module):
    """Cut into pieces along `dim`, as `x.split(split_size_or_sections, dim)`: one output
    each (`pieces` only decides the node's outputs; torch derives the count itself)."""

    def __init__(self, split_size_or_sections: int | tuple[int, ...] = 3, dim: int = 1) -> None:
        super().__init__()
        self.split_size_or_sections = split_size_or_sections
        self.dim = dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return x.split(self.split_size_or_sections, self.dim)

    def extra_repr(self) -> str:
        return f"split_size_or_sections={self.split_size_or_sections}, dim={self.dim}"
def learnable(shape: tuple[int, ...] = (1,), batch_dim: bool = False, init: str = "constant",
              value: float = 1.0) -> nn.Parameter:
    """A Parameter node's tensor: `shape`, behind a batch dimension of 1 with `batch_dim`,
    all `value` or drawn from N(0, value²); exported code writes the same call."""
    size = (1, *shape) if batch_dim else tuple(shape)
    if init == "normal":
        return nn.Parameter(torch.empty(size).normal_(std=value))
    return nn.Parameter(torch.full(size, float(value)))


class Expand(nn.Module):
    """Repeat the input along its batch dimension of 1 to the batch size of `like`."""

    def __init__(self, sizes: tuple[int, ...] = (-1, -1)) -> None:
        super().__init__()
        self.sizes = tuple(sizes)

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return x.expand(like.size(0), *self.sizes)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"


class Select(nn.Module):
    """Take position `index` along `dim` (which goes), as `x[:, index]` for dim 1."""

    def __init__(self, dim: int = 1, index: int = 0) -> None:
        super().__init__()
        self.dim = dim
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"
