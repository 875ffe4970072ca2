"""Learnable parameter counts by formula, from a node's resolved parameters.

`info` reports the count of a network without importing torch (seconds on a small
machine); tests/perf compares every template's count with the compiled torch module's.
Types missing from COUNTERS have no learnable parameters (activations, pooling, merges).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from app.core.graph import NetworkDocument
from app.core.shapes import NodeResult

Counter = Callable[[dict[str, Any]], int]


def _window(value: Any, n: int) -> int:
    """Number of taps of a kernel given as one int or one int per spatial dimension."""
    return prod(value) if isinstance(value, (list, tuple)) else value ** n


def _bias(p: dict[str, Any], size: int) -> int:
    return size if p.get("bias", True) else 0


def _conv(n: int) -> Counter:
    def count(p: dict[str, Any]) -> int:
        weight = p["out_channels"] * (p["in_channels"] // p["groups"])
        return weight * _window(p["kernel_size"], n) + _bias(p, p["out_channels"])
    return count


def _conv_transposed(n: int) -> Counter:
    def count(p: dict[str, Any]) -> int:
        weight = p["in_channels"] * (p["out_channels"] // p["groups"])
        return weight * _window(p["kernel_size"], n) + _bias(p, p["out_channels"])
    return count


def _norm(features: str) -> Counter:
    return lambda p: 2 * p[features] if p["affine"] else 0


def _layer_norm(p: dict[str, Any]) -> int:
    if not p["elementwise_affine"]:
        return 0
    shape = p["normalized_shape"]
    size = prod(shape) if isinstance(shape, (list, tuple)) else shape
    return size + _bias(p, size)


def _recurrent(gates: int) -> Counter:
    """torch's RNN/LSTM/GRU: per layer and direction, W_ih, W_hh and (if bias) b_ih, b_hh."""
    def count(p: dict[str, Any]) -> int:
        hidden, directions = p["hidden_size"], 2 if p["bidirectional"] else 1
        total = 0
        for layer in range(p["num_layers"]):
            inputs = p["input_size"] if layer == 0 else hidden * directions
            per_direction = gates * hidden * (inputs + hidden) + _bias(p, 2 * gates * hidden)
            total += directions * per_direction
        return total
    return count


COUNTERS: dict[str, Counter] = {
    "Linear": lambda p: p["in_features"] * p["out_features"] + _bias(p, p["out_features"]),
    "Conv1d": _conv(1),
    "Conv2d": _conv(2),
    "Conv3d": _conv(3),
    "ConvTranspose2d": _conv_transposed(2),
    "BatchNorm1d": _norm("num_features"),
    "BatchNorm2d": _norm("num_features"),
    "InstanceNorm2d": _norm("num_features"),
    "GroupNorm": _norm("num_channels"),
    "LayerNorm": _layer_norm,
    "Embedding": lambda p: p["num_embeddings"] * p["embedding_dim"],
    "RNN": _recurrent(1),
    "LSTM": _recurrent(4),
    "GRU": _recurrent(3),
    "PReLU": lambda p: p["num_parameters"],
}


def formula_parameters(doc: NetworkDocument, results: dict[str, NodeResult]) -> int:
    """Learnable parameters of the network (all trainable: no layer freezes its weights).

    `results` are infer_shapes(doc)'s, free of errors, so automatic sizes are resolved."""
    return sum(COUNTERS[node.type](results[node.name].resolved)
               for node in doc.nodes if node.type in COUNTERS)
