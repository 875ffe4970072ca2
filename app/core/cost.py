"""Compute cost per layer: multiply-accumulate operations (MACs) by formula, per sample.

`info`, the Summary and the Inspector show it without importing torch. One MAC is one
multiplication added to a running sum; FLOPs are about twice the MACs.

Conventions: one MAC per weight for every position the weight is applied to, plus one
per bias element added. torchinfo's "mult-adds" agree for convolutions and dense layers
(tests/core/test_cost.py); torchinfo derives its count from parameters alone, so where it
misses work the difference is an exact formula (tests/core/test_attention_cost.py).
torchvision's `_ops` metadata (GFLOPS in its tables) counts the matrix products and
convolutions alone, as torch's FlopCounterMode does, halved: our count is that plus the
bias and normalisation elements.
- Convolutions and Linear layers: one MAC per weight per output position, plus one per
  output element for the bias. A Linear on a sequence acts on every token (torchinfo
  counts its weights once per sample).
- A transposed convolution multiplies every *input* position by its filters, so it counts
  input positions (torchinfo counts output positions there; torch's FlopCounterMode agrees
  with us).
- Recurrent layers: every weight and bias is used once per time step.
- Normalisation: one MAC per element, the scale-and-shift a batch norm folds into at
  inference (torchinfo counts its 2 × channels parameters instead, once per sample).
- Attention: the projections once per token, and the two products of attention (scores
  q·kᵀ and the weighted sum of v), each one MAC per feature per pair of tokens that see
  each other: every pair of a sequence (MultiheadAttention, TransformerEncoderLayer), of a
  window (Swin, whose input is padded to whole windows; MaxViT). torchinfo never sees these
  products (functional calls). Swin V2's bias MLP runs once per forward over the
  (2·window−1)² relative positions, whatever the batch; it counts once, as for a batch of
  one (as torchvision's `_ops` count it). Scaling, softmax and bias-table adds count 0.
- MatMul: one MAC per output element per term of its sum (the shared inner size).
  ScaledDotProductAttention: the two products, L·S·E for the scores q·kᵀ and L·S·Ev for
  the weighted sum of v, per leading index (heads); a causal mask still computes them all.
- SqueezeExcitation: its two 1×1 convolutions on the pooled 1×1 map; the channel scaling
  is a product like Multiply's (0).
- Learnable tensors (Parameter nodes) cost 0: they are read, not computed.
- Activations (PReLU too), pooling, dropout, reshapes, merges (Add, Multiply, Scale, Concat,
  Stack) and Embedding lookups count 0: they multiply nothing by a weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

from app.core.catalogue import spec_for
from app.core.graph import NetworkDocument
from app.core.param_count import SWIN_V2_HIDDEN
from app.core.shapes import NodeResult

Shape = tuple[int, ...]
# (input shapes by port order, the "out" shape, resolved parameters) -> MACs per sample
MacCounter = Callable[[list[Shape], Shape, dict[str, Any]], int]

# Categories whose layers never multiply by a weight; a new layer in one of them costs 0.
FREE_CATEGORIES = frozenset({"Input/Output", "Activation", "Pooling", "Dropout", "Merge",
                             "Reshape"})


def _weights(layer_type: str, p: dict[str, Any]) -> int:
    return spec_for(layer_type).count(p)


def _per_position(layer_type: str) -> MacCounter:
    """Every weight and bias once per output position (channels excluded)."""
    return lambda inputs, out, p: prod(out[1:]) * _weights(layer_type, p)


def _conv_transposed(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    weights = _weights("ConvTranspose2d", p) - (p["out_channels"] if p["bias"] else 0)
    bias = prod(out) if p["bias"] else 0
    return prod(inputs[0][1:]) * weights + bias


def _linear(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    """Acts on the last dimension: once per vector along the leading ones."""
    return prod(out[:-1]) * _weights("Linear", p)


def _per_step(layer_type: str) -> MacCounter:
    return lambda inputs, out, p: inputs[0][0] * _weights(layer_type, p)


def _attention(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    """Projections once per token, then every query times every key (scores) and every
    score times its value: 2·tokens²·embed_dim."""
    tokens, width = inputs[0]
    return tokens * _weights("MultiheadAttention", p) + 2 * tokens * tokens * width


def _matmul(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    return prod(out) * inputs[0][-1]


def _scaled_dot_product_attention(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    (*_, queries, features), (*_, keys, _), value = inputs
    return prod(out[:-2]) * queries * keys * (features + value[-1])


def _per_element(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    return prod(out)


def _free(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    return 0


def _squeeze_excitation(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    return _weights("SqueezeExcitation", p)


def _window_attention(version: int) -> MacCounter:
    """Swin attends within windows of the input padded to whole windows; V2 also runs its
    bias MLP (2 -> hidden -> num_heads, the first Linear with bias) once per relative
    position of two tokens of a window."""
    def count(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
        height, width, dim = out
        window_h, window_w = p["window_size"]
        tokens = -(-height // window_h) * window_h * -(-width // window_w) * window_w
        projections = 4 * dim * dim + 3 * dim * p["qkv_bias"] + dim * p["proj_bias"]
        attention = tokens * (projections + 2 * window_h * window_w * dim)
        if version == 1:
            return attention
        positions = (2 * window_h - 1) * (2 * window_w - 1)
        return attention + positions * SWIN_V2_HIDDEN * (3 + p["num_heads"])
    return count


def _relative_attention(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    """MaxViT attends among the tokens of each window: every pair of them."""
    windows, tokens, width = out
    return windows * tokens * (4 * width * width + 4 * width + 2 * tokens * width)


def _patch_merging(version: int) -> MacCounter:
    def count(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
        tokens, dim = prod(out[:-1]), p["dim"]
        return tokens * (8 * dim * dim + (4 * dim if version == 1 else 2 * dim))
    return count


def _transformer_encoder_layer(inputs: list[Shape], out: Shape, p: dict[str, Any]) -> int:
    """Weights once per token, attention over every pair of tokens, two LayerNorms."""
    tokens, width = out
    norms = 2 * width * (1 + p["bias"])
    return (tokens * (_weights("TransformerEncoderLayer", p) - norms)
            + 2 * tokens * tokens * width + 2 * tokens * width)


MAC_COUNTERS: dict[str, MacCounter] = {
    "Linear": _linear,
    "Conv1d": _per_position("Conv1d"),
    "Conv2d": _per_position("Conv2d"),
    "Conv3d": _per_position("Conv3d"),
    "ConvTranspose2d": _conv_transposed,
    "BatchNorm1d": _per_element,
    "BatchNorm2d": _per_element,
    "InstanceNorm2d": _per_element,
    "GroupNorm": _per_element,
    "LayerNorm": _per_element,
    "LayerNorm2d": _per_element,
    "MultiheadAttention": _attention,
    "MatMul": _matmul,
    "ScaledDotProductAttention": _scaled_dot_product_attention,
    "RNN": _per_step("RNN"),
    "LSTM": _per_step("LSTM"),
    "GRU": _per_step("GRU"),
    "Embedding": _free,
    "SqueezeExcitation": _squeeze_excitation,
    "TransformerEncoderLayer": _transformer_encoder_layer,
    "ShiftedWindowAttention": _window_attention(1),
    "ShiftedWindowAttentionV2": _window_attention(2),
    "RelativePositionalMultiHeadAttention": _relative_attention,
    "PatchMerging": _patch_merging(1),
    "PatchMergingV2": _patch_merging(2),
}


def has_mac_rule(layer_type: str) -> bool:
    return layer_type in MAC_COUNTERS or spec_for(layer_type).category in FREE_CATEGORIES


def layer_macs(layer_type: str, inputs: list[Shape], out: Shape,
               resolved: dict[str, Any]) -> int:
    """MACs of one layer for one sample (shapes without the batch dimension)."""
    counter = MAC_COUNTERS.get(layer_type)
    if counter is None:
        if spec_for(layer_type).category in FREE_CATEGORIES:
            return 0
        raise KeyError(f"no MAC rule for layer type {layer_type!r}")
    return counter(inputs, out, resolved)


def node_macs(doc: NetworkDocument, results: dict[str, NodeResult], name: str) -> int | None:
    """MACs of one node per sample; None while its shapes are not known."""
    result = results.get(name)
    if result is None or not result.ok or result.shape is None:
        return None
    node = doc.node(name)
    incoming, inputs = doc.incoming(name), []
    for port in node.input_ports():
        edge = incoming.get(port)
        upstream = results.get(edge.src) if edge else None
        if upstream is None or edge.src_port not in upstream.outputs:
            return None  # results from before the latest edit
        inputs.append(upstream.outputs[edge.src_port])
    return layer_macs(node.type, inputs, result.shape, result.resolved)


@dataclass(frozen=True)
class LayerCost:
    """One row of `info --json`'s layer table."""

    name: str
    type: str
    output_shape: list[int]
    params: int
    macs: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "output_shape": self.output_shape,
                "params": self.params, "macs": self.macs}


def layer_table(doc: NetworkDocument, results: dict[str, NodeResult]) -> list[LayerCost]:
    """Every node in topological order with its parameters and MACs per sample.

    `results` are infer_shapes(doc)'s, free of errors."""
    rows = []
    for name in doc.topological_order():
        node, result = doc.node(name), results[name]
        count = node.spec.count
        rows.append(LayerCost(name, node.type, list(result.shape or ()),
                              count(result.resolved) if count else 0,
                              node_macs(doc, results, name) or 0))
    return rows


def format_macs(macs: int) -> str:
    """1234567 -> '1.23 M'; small counts stay exact."""
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if macs >= size:
            return f"{macs / size:.2f} {unit}"
    return str(macs)
