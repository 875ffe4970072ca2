"""Learnable parameter counts by formula: the `count` a catalogue entry names.

The one parameter count of the app (`info`, the summary, the exported file's header, the
trainer's RunStarted), computed from a node's resolved parameters without torch, so
`info` never imports it. A spec without `count` has no learnable parameters
(activations, pooling, merges). tests/core/test_layer_spec.py checks every entry against
torch's module and tests/perf every template against its compiled module.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isqrt, prod
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


def squeeze_excitation(p: dict[str, Any]) -> int:
    """Two 1×1 convolutions with bias: input_channels -> squeeze_channels -> back."""
    channels, squeeze = p["input_channels"], p["squeeze_channels"]
    return 2 * channels * squeeze + squeeze + channels


def _attention_projections(width: int, bias: bool, out_bias: bool) -> int:
    """Query, key and value projections (3·width²) and the output projection (width²)."""
    return 4 * width * width + 3 * width * bias + width * out_bias


# Swin V2's relative-position bias comes from an MLP 2 -> 512 -> num_heads (torchvision's size).
SWIN_V2_HIDDEN = 512


def window_attention(version: int) -> Counter:
    """Swin's projections plus its relative-position bias: a learned table of one value per
    relative position and head (V1), or a per-head logit scale and the bias MLP (V2)."""
    def count(p: dict[str, Any]) -> int:
        heads = p["num_heads"]
        total = _attention_projections(p["dim"], p["qkv_bias"], p["proj_bias"])
        if version == 1:
            height, width = p["window_size"]
            return total + (2 * height - 1) * (2 * width - 1) * heads
        return total + heads + 3 * SWIN_V2_HIDDEN + SWIN_V2_HIDDEN * heads
    return count


def relative_attention(p: dict[str, Any]) -> int:
    """MaxViT's projections with biases and one bias per relative position and head."""
    width, heads = p["feat_dim"], p["feat_dim"] // p["head_dim"]
    side = isqrt(p["max_seq_len"])
    return _attention_projections(width, True, True) + (2 * side - 1) ** 2 * heads


def patch_merging(version: int) -> Counter:
    """A Linear 4·dim -> 2·dim without bias and a LayerNorm over 4·dim (V1, before the
    Linear) or 2·dim (V2, after it)."""
    def count(p: dict[str, Any]) -> int:
        dim = p["dim"]
        return 8 * dim * dim + 2 * (4 * dim if version == 1 else 2 * dim)
    return count


def transformer_encoder_layer(p: dict[str, Any]) -> int:
    """Self-attention, the feed-forward network d_model -> dim_feedforward -> d_model and
    two LayerNorms; `bias` switches every bias off at once."""
    width, hidden, bias = p["d_model"], p["dim_feedforward"], int(p["bias"])
    attention = _attention_projections(width, bool(bias), bool(bias))
    feed_forward = 2 * width * hidden + bias * (hidden + width)
    return attention + feed_forward + 2 * (width + bias * width)
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
