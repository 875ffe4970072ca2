"""Small modules for canvas operations that torch.nn has no layer for.

They hold no parameters, so they never change a model's state_dict keys.
"""

from __future__ import annotations

import functools
import operator

import torch
from torch import nn


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
