"""Every catalogue entry: the inferred (meta) shape equals the real forward shape."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.core.catalogue import CATALOGUE, CATEGORIES, by_category
from app.core.compiler import compile_document, example_inputs
from app.core.graph import NetworkDocument
from app.core.params import AUTO_KINDS, BOOL, CHOICE, FLOAT, INT, INTS, SHAPE, TUPLE
from app.core.shapes import infer_shapes
from tests.core.layer_networks import SAMPLE_SHAPES, one_layer_network

LAYERS = sorted(t for t, spec in CATALOGUE.items() if spec.has_module)

# Per-name strategies keep random settings inside what a sane network uses; the schema's
# own ranges are far wider (any kernel size), and those failures are tested separately.
SMALL: dict[str, st.SearchStrategy[Any]] = {
    "out_channels": st.sampled_from([4, 8]),
    "out_features": st.integers(1, 8),
    "hidden_size": st.integers(1, 8),
    "embedding_dim": st.integers(1, 8),
    "num_embeddings": st.integers(5, 20),
    "kernel_size": st.integers(1, 3),
    "stride": st.integers(1, 3),
    "padding": st.integers(0, 1),
    "output_padding": st.just(0),
    "dilation": st.integers(1, 2),
    "groups": st.sampled_from([1, 2, 4]),
    "num_layers": st.integers(1, 2),
    "dropout": st.just(0.0),
    "output_size": st.integers(1, 3),
    "num_inputs": st.integers(2, 3),
    "num_groups": st.sampled_from([1, 2, 4]),
    "num_parameters": st.just(1),
    "padding_idx": st.sampled_from([None, 0]),
    "divisor_override": st.sampled_from([None, 2]),
    "max_norm": st.sampled_from([None, 1.0]),
    "lower": st.floats(0.0, 0.2),
    "upper": st.floats(0.3, 0.5),
    "eps": st.sampled_from([1e-5, 1e-3]),
    "momentum": st.floats(0.0, 1.0),
    "p": st.floats(0.0, 1.0),
    "size": st.sampled_from([3, 5]),  # Upsample takes one of size and scale_factor
    "scale_factor": st.sampled_from([None, 0.5, 1.5, 2.0, 2.7]),
    "chunks": st.integers(2, 4),
    "split_size_or_sections": st.sampled_from([1, 2, 3, 5, [1, 3], [2, 2], [3, 1, 2]]),
    "pieces": st.integers(2, 4),
    "attention_dropout": st.just(0.0),
    "dim_feedforward": st.sampled_from([4, 16]),
    "window_size": st.sampled_from([[2, 2], [3, 5], [7, 7]]),
    "shift_size": st.sampled_from([[0, 0], [1, 1], [1, 2]]),
    "head_dim": st.sampled_from([4, 8, 32]),
    "max_seq_len": st.sampled_from([49, 16]),
    "dropout_p": st.just(0.0),
    "scale": st.sampled_from([None, 0.5]),
}


def _value(draw: st.DrawFn, p, rank: int) -> Any:
    if p.name in SMALL:
        value = draw(SMALL[p.name])
        if p.kind == TUPLE and p.lengths[0] > 1 and draw(st.booleans()):
            value = [draw(SMALL[p.name]) for _ in range(p.lengths[0])]
        return value
    if p.auto:  # before `dim`: Swin's dim is a size read from the input
        return None
    if p.name == "dim":
        return draw(st.integers(1, rank))
    if p.name == "dims":  # a reordering of the dimensions after the batch
        return list(draw(st.permutations(range(1, rank + 1))))
    if p.name == "sizes":  # Expand: keep each size or give it again
        return [draw(st.sampled_from([-1, size])) for size in SAMPLE_SHAPES[rank]]
    if p.name == "start_dim":
        return draw(st.integers(1, rank))
    if p.name == "end_dim":
        return -1
    if p.name == "batch_first":
        return True
    if p.kind == BOOL:
        return draw(st.booleans())
    if p.kind == CHOICE:
        return draw(st.sampled_from(p.choices))
    if p.kind == FLOAT:
        return draw(st.floats(0.01, 3.0))
    if p.kind == INT:
        return draw(st.integers(int(p.minimum or 1), 4))
    return p.default


@st.composite
def layer_case(draw: st.DrawFn, layer_type: str) -> tuple[NetworkDocument, bool]:
    spec = CATALOGUE[layer_type]
    use_defaults = draw(st.booleans())
    # Defaults must work on every rank a layer takes, except where a default names
    # dimensions (Permute's dims): there on the first rank it lists.
    fixed = use_defaults and any(p.name in ("dims", "sizes") for p in spec.params)
    rank = spec.ranks[0] if fixed else draw(st.sampled_from(spec.ranks or (1, 2, 3)))
    params = {} if use_defaults else {p.name: _value(draw, p, rank) for p in spec.params}
    if not spec.inputs:  # a Parameter gets the sample's shape (layer_networks)
        params.pop("shape", None)
    return one_layer_network(layer_type, params, rank), use_defaults


@pytest.mark.parametrize("layer_type", LAYERS)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_inferred_shape_equals_real_forward(layer_type: str, data: st.DataObject) -> None:
    doc, defaults = data.draw(layer_case(layer_type))
    results = infer_shapes(doc)
    layer = results["layer"]
    if defaults:
        assert layer.ok, layer.error  # torch's defaults must always work on the sample shape
    assume(layer.ok)
    torch.manual_seed(0)
    model = compile_document(doc).eval()
    with torch.no_grad():
        out = model(*example_inputs(doc))
    assert tuple(out.shape[1:]) == layer.shape
    assert str(out.dtype).removeprefix("torch.") == layer.dtypes["out"]


def test_every_layer_of_the_design_is_in_the_catalogue() -> None:
    design = {"Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "MaxPool1d",
              "MaxPool2d", "AvgPool2d", "MaxUnpool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
              "BatchNorm2d", "LayerNorm", "InstanceNorm2d", "GroupNorm", "Dropout", "Dropout2d",
              "Flatten", "Embedding", "RNN", "LSTM", "GRU", "Sigmoid", "Tanh", "ReLU",
              "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "Softplus", "GELU", "Softmax",
              "LogSoftmax", "Add", "Concat", "Multiply", "Reshape", "Input", "Output",
              # the layers and tensor ops of torchvision's classification models
              "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "Identity", "Upsample",
              "ZeroPad2d", "Dropout1d", "AlphaDropout", "StochasticDepth", "ChannelShuffle",
              "Mean", "Permute", "Transpose", "Chunk", "Split", "SqueezeExcitation",
              "TransformerEncoderLayer", "LayerNorm2d", "Parameter", "MultiheadAttention",
              "Expand", "Select",
              # attention written by hand
              "MatMul", "ScaledDotProductAttention", "Stack", "Scale"}
    assert design <= set(CATALOGUE)
    assert set(by_category()) == set(CATEGORIES)
    assert all(by_category()[c] for c in CATEGORIES)


@pytest.mark.parametrize("layer_type", sorted(CATALOGUE))
def test_entries_have_teaching_text_and_torch_defaults(layer_type: str) -> None:
    spec = CATALOGUE[layer_type]
    assert len(spec.help) > 40 and spec.formula
    if not spec.is_torch_layer:
        return
    import inspect

    cls = spec.module_class()
    if spec.sequence:  # RNN/LSTM/GRU take *args and forward them to RNNBase
        cls = torch.nn.RNNBase
    signature = inspect.signature(cls.__init__).parameters
    for p in spec.params:
        if p.graph_only or p.auto or p.name == "nonlinearity":
            continue  # nonlinearity is nn.RNN's own keyword, documented but not in RNNBase
        assert p.name in signature, f"{layer_type}.{p.name} is not a torch argument"
        torch_default = signature[p.name].default
        if p.name in spec.classes:  # a torch.nn class, chosen by name
            torch_default = torch_default.__name__
        if p.name == "activation" and callable(torch_default):  # F.relu, chosen as "relu"
            torch_default = torch_default.__name__
        # canvas tensors are batch-first; Upsample needs one of size and scale_factor
        if torch_default is not inspect.Parameter.empty and p.name not in (
                "batch_first", "dim", "scale_factor"):
            assert p.default == torch_default or (p.default, torch_default) == (None, None), (
                f"{layer_type}.{p.name}: {p.default!r} != torch's {torch_default!r}")


def test_auto_kinds_cover_every_auto_param() -> None:
    kinds = {p.auto for spec in CATALOGUE.values() for p in spec.params if p.auto}
    assert kinds <= AUTO_KINDS
    assert {p.kind for spec in CATALOGUE.values() for p in spec.params} <= {
        INT, FLOAT, BOOL, CHOICE, TUPLE, SHAPE, INTS}
