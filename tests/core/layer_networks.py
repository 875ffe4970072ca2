"""One-layer networks around any catalogue entry, built from what its spec declares."""

from __future__ import annotations

from typing import Any

from app.core.catalogue import CATALOGUE, IDS, INDICES
from app.core.graph import NetworkDocument

SAMPLE_SHAPES = {1: (6,), 2: (4, 9), 3: (4, 8, 8), 4: (4, 5, 6, 6), 5: (2, 3, 2, 2, 3)}
# Inputs with a structure the samples above lack: MaxViT's attention sees windows of a
# square number of tokens (2 windows of 7×7 tokens with 32 features); the same data on both
# inputs of a matrix product needs square matrices, and attention tokens × features.
OWN_SAMPLES = {"RelativePositionalMultiHeadAttention": (2, 49, 32), "MatMul": (2, 5, 5),
               "ScaledDotProductAttention": (2, 5, 4)}


def first_rank(layer_type: str) -> int:
    ranks = CATALOGUE[layer_type].ranks
    return ranks[0] if ranks else 1


def one_layer_network(layer_type: str, params: dict[str, Any] | None = None,
                      rank: int | None = None) -> NetworkDocument:
    """data -> layer -> result; token-id layers get int64 ids, an indices port a pooling.
    A layer without inputs (a Parameter of the sample's shape) is multiplied with the data:
    data, layer -> mix -> result."""
    spec = CATALOGUE[layer_type]
    params = params or {}
    rank = rank or first_rank(layer_type)
    doc = NetworkDocument()
    shape, dtype = list(OWN_SAMPLES.get(layer_type, SAMPLE_SHAPES[rank])), "float32"
    if not spec.inputs:
        doc.add_node("Input", {"shape": shape}, name="data")
        doc.add_node(layer_type, {"shape": shape} | params, name="layer")
        doc.add_node("Multiply", name="mix")
        doc.connect("data", "out", "mix", "in1")
        doc.connect("layer", "out", "mix", "in2")
        doc.add_node("Output", name="result")
        doc.chain("mix", "result")
        return doc
    if spec.inputs[0].dtypes == IDS:
        shape, dtype = [7], "int64"
    doc.add_node("Input", {"shape": shape, "dtype": dtype}, name="data")
    source = "data"
    if any(p.kind == INDICES for p in spec.inputs):
        window = {k: params[k] for k in ("kernel_size", "stride", "padding") if k in params}
        doc.add_node("MaxPool2d", window | {"return_indices": True}, name="pool")
        doc.chain("data", "pool")
        source = "pool"
    node = doc.add_node(layer_type, params, name="layer")
    for port in node.input_ports():
        doc.connect(source, port if spec.input_port(port, node.params).kind == INDICES else "out",
                    "layer", port)
    doc.add_node("Output", name="result")
    doc.chain("layer", "result")
    return doc
