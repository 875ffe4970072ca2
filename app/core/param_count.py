"""Learnable parameter counts by formula: the `count` a catalogue entry names.

The one parameter count of the app (`info`, the summary, the exported file's header, the
trainer's RunStarted), computed from a node's resolved parameters without torch, so
`info` never imports it. A spec without `count` has no learnable parameters
(activations, pooling, merges). tests/core/test_layer_spec.py checks every entry against
torch's module and tests/perf every template against its compiled module.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.graph import NetworkDocument
    from app.core.shapes import NodeResult

Counter = Callable[[dict[str, Any]], int]


def _taps(value: Any, n: int) -> int:
    """Number of taps of a kernel given as one int or one int per spatial dimension."""
    return prod(value) if isinstance(value, (list, tuple)) else value ** n


def _bias(p: dict[str, Any], size: int) -> int:
    return size if p.get("bias", True) else 0


def conv(n: int, transposed: bool = False) -> Counter:
    """torch's weight is out × in/groups × kernel, in × out/groups × kernel transposed."""
    outer, inner = ("in_channels", "out_channels") if transposed else ("out_channels",
                                                                        "in_channels")

    def count(p: dict[str, Any]) -> int:
        weight = p[outer] * (p[inner] // p["groups"])
        return weight * _taps(p["kernel_size"], n) + _bias(p, p["out_channels"])
    return count


def norm(features: str) -> Counter:
    """A per-channel scale and shift when `affine`."""
    return lambda p: 2 * p[features] if p["affine"] else 0


def layer_norm(p: dict[str, Any]) -> int:
    if not p["elementwise_affine"]:
        return 0
    shape = p["normalized_shape"]
    size = prod(shape) if isinstance(shape, (list, tuple)) else shape
    return size + _bias(p, size)


def recurrent(gates: int) -> Counter:
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


def linear(p: dict[str, Any]) -> int:
    return p["in_features"] * p["out_features"] + _bias(p, p["out_features"])


def table(p: dict[str, Any]) -> int:
    """An Embedding's lookup table."""
    return p["num_embeddings"] * p["embedding_dim"]


def per_channel(param: str) -> Counter:
    """One learned value per `param` (PReLU's slopes)."""
    return lambda p: p[param]


def tensor(p: dict[str, Any]) -> int:
    """A learnable tensor node's own values."""
    return prod(p["shape"])


def attention(p: dict[str, Any]) -> int:
    """nn.MultiheadAttention: query, key and value projections in one embed × 3·embed
    matrix, the output projection, their biases, and bias_k/bias_v with add_bias_kv."""
    width = p["embed_dim"]
    return (4 * width * width + _bias(p, 4 * width)
            + (2 * width if p["add_bias_kv"] else 0))


def layer_parameters(doc: NetworkDocument, results: dict[str, NodeResult]) -> dict[str, int]:
    """Learnable parameters of each node with any, by node name.

    `results` are infer_shapes(doc)'s, free of errors, so automatic sizes are resolved."""
    return {node.name: node.spec.count(results[node.name].resolved)
            for node in doc.nodes if node.spec.count is not None}


def formula_parameters(doc: NetworkDocument, results: dict[str, NodeResult]) -> int:
    """Learnable parameters of the network (see layer_parameters)."""
    return sum(layer_parameters(doc, results).values())
