"""Tensor ops of several inputs (Add, Multiply, Concat, Stack, MatMul, attention): shape
inference agrees with torch on the whole tensors, batch dimension included, and a
hand-written attention module imports, exports and runs as the original."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.core.catalogue import CATALOGUE, TENSOR, Role
from app.core.codegen import generate_code
from app.core.cost import layer_table, node_macs
from app.core.execution import run_node
from app.core.graph import NetworkDocument
from app.core.importer import ModelImportError, import_file, import_module, load_file_model
from app.core.project import Project, save_project
from app.core.shapes import ShapeInference, infer_shapes

# Entries whose inputs are all values. Expand is left out: its second input only lends
# its batch size, and its `sizes` depend on the first input's rank.
MULTI_INPUT = sorted(
    t for t, spec in CATALOGUE.items()
    if spec.has_module and t != "Expand" and all(p.kind == TENSOR for p in spec.inputs)
    and len(spec.input_port_specs(spec.defaults())) > 1)

SIZES = st.sampled_from([1, 2, 3])
# How a port is fed: data (batch in front), or a Parameter node stored with a batch
# dimension of 1 ("stored") or without one ("bare").
SOURCES = st.sampled_from(["data", "data", "data", "stored", "bare"])


@st.composite
def related_shapes(draw: st.DrawFn, count: int) -> list[list[int]]:
    """Shapes that often fit each other: one base shape, each input a suffix of it with a
    few sizes redrawn and sometimes its last two swapped (a matrix product's kᵀ)."""
    base = draw(st.lists(SIZES, min_size=1, max_size=4))
    shapes = []
    for _ in range(count):
        shape = base[draw(st.integers(0, len(base) - 1)):]
        shape = [draw(SIZES) if draw(st.integers(0, 4)) == 0 else d for d in shape]
        if len(shape) > 1 and draw(st.booleans()):
            shape[-2], shape[-1] = shape[-1], shape[-2]
        shapes.append(shape)
    return shapes


def _params(draw: st.DrawFn, layer_type: str, rank: int) -> dict[str, Any]:
    spec, params = CATALOGUE[layer_type], {}
    names = {p.name for p in spec.params}
    if "num_inputs" in names:
        params["num_inputs"] = draw(st.integers(2, 3))
    if "dim" in names:  # Stack's result has one dimension more
        params["dim"] = draw(st.integers(-(rank + 2), rank + 1))
    if "is_causal" in names:
        params |= {"is_causal": draw(st.booleans()), "scale": draw(st.sampled_from([None, .5]))}
    return params


def _network(layer_type: str, params: dict[str, Any], shapes: list[list[int]],
             sources: list[str]) -> NetworkDocument:
    doc = NetworkDocument()
    node = doc.add_node(layer_type, params, name="layer")
    for i, (port, shape, source) in enumerate(zip(node.input_ports(), shapes, sources)):
        if source == "data":
            doc.add_node("Input", {"shape": shape}, name=f"data{i}")
        else:
            doc.add_node("Parameter", {"shape": shape, "batch_dim": source == "stored"},
                         name=f"tensor{i}")
        doc.connect(f"data{i}" if source == "data" else f"tensor{i}", "out", "layer", port)
    doc.add_node("Output", name="result")
    doc.chain("layer", "result")
    return doc


def _torch_result(layer_type: str, params: dict[str, Any], shapes: list[list[int]],
                  sources: list[str], batch: int) -> tuple[int, ...] | None:
    """The shape of the op's result on real tensors; None where torch refuses, or where
    a sample's result depends on the other samples (attention over the batch)."""
    spec = CATALOGUE[layer_type]
    resolved = spec.validate(params)
    module = spec.build(resolved).eval()
    lead = {"data": (batch,), "stored": (1,), "bare": ()}
    tensors = [torch.randn(*lead[s], *shape) for shape, s in zip(shapes, sources)]
    try:
        whole = run_node(spec, module, resolved, tensors)[0]
        alone = [run_node(spec, module, resolved, [t[i:i + 1] if s == "data" else t for t, s in
                                                     zip(tensors, sources)])[0]
                 for i in range(batch)]
    except (RuntimeError, IndexError, ValueError):
        return None
    if any(a.shape != whole[i:i + 1].shape or not torch.allclose(a, whole[i:i + 1], atol=1e-5)
           for i, a in enumerate(alone)):
        return None
    return tuple(whole.shape)


@pytest.mark.parametrize("layer_type", MULTI_INPUT)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_inference_agrees_with_torch_on_whole_tensors(layer_type: str,
                                                      data: st.DataObject) -> None:
    """Accepted: torch gives batch × the inferred shape for batch sizes 2 and 3. Refused:
    torch fails, or its result does not have the batch in front (it depends on the batch
    size). Refusals that are stricter than torch, by design: a bare tensor with more
    dimensions than a sample (see on_whole_tensors), and a vector stored with batch_dim,
    which torch's matmul takes as a 1 × n matrix where the sample's rule sees a vector,
    and keys and values of different lengths, which torch documents as an error but some
    of its CPU kernels run (with one query, or sizes of 1)."""
    spec = CATALOGUE[layer_type]
    count = 3 if spec.type == "ScaledDotProductAttention" else 2
    shapes = data.draw(related_shapes(count if spec.role is not Role.MERGE else 3))
    params = _params(data.draw, layer_type, len(shapes[0]))
    count = params.get("num_inputs", count)
    shapes = shapes[:count]
    sources = ["data"] + [data.draw(SOURCES) for _ in range(count - 1)]
    sources = data.draw(st.permutations(sources))
    layer = infer_shapes(_network(layer_type, params, shapes, sources))["layer"]
    real = [_torch_result(layer_type, params, shapes, sources, batch) for batch in (2, 3)]
    if layer.ok:
        assert real == [(2, *layer.shape), (3, *layer.shape)], layer.shape
        return
    batched = max(len(s) for s, kind in zip(shapes, sources) if kind == "data")
    if any((kind == "bare" and len(s) > batched) or (kind == "stored" and len(s) == 1)
           for s, kind in zip(shapes, sources)):
        return
    if "need the same number of tokens" in layer.error:
        return
    works = None not in real and [r[0] for r in real] == [2, 3] and real[0][1:] == real[1][1:]
    assert not works, f"refused, but torch gives {real}: {layer.error}"


def _two_inputs(layer_type: str, a: list[int], b: list[int], b_source: str = "data",
                **params: Any) -> NetworkDocument:
    return _network(layer_type, params, [a, b], ["data", b_source])


def test_add_lines_dimensions_up_from_the_right_with_the_batch_in_front() -> None:
    """(N, 3, 4) + (N, 4): torch aligns 4 with 4, then 3 with N, which fails."""
    with pytest.raises(RuntimeError):
        torch.randn(2, 3, 4) + torch.randn(2, 4)
    refused = infer_shapes(_two_inputs("Add", [3, 4], [4]))["layer"]
    assert refused.error == (
        "layer cannot add the tensors in1 batch×3×4 and in2 batch×4: sizes batch and 3 "
        "differ and neither is 1 at dimension -2 (dimensions line up from the right) (torch "
        "sees the batch dimension in front of each sample); give the inputs the same "
        "number of dimensions (a Reshape can add a dimension of size 1)")
    per_sample = infer_shapes(_two_inputs("Add", [2, 3, 4], [2, 4]))["layer"]
    assert per_sample.error == (
        "layer cannot add in1 (from data0, 2×3×4) and in2 (from data1, 2×4): sizes 2 and 3 "
        "differ and neither is 1 at dimension -2 (dimensions line up from the right)")
    # a learned tensor of 4 values (no batch dimension) broadcasts over batch × 2 × 3 × 4
    assert torch.broadcast_shapes((5, 2, 3, 4), (4,)) == (5, 2, 3, 4)
    accepted = infer_shapes(_two_inputs("Add", [2, 3, 4], [4], "bare"))["layer"]
    assert accepted.ok and accepted.shape == (2, 3, 4)
    assert infer_shapes(_two_inputs("Multiply", [2, 3, 4], [3, 1], "stored"))["layer"].ok
    assert "multiply" in infer_shapes(_two_inputs("Multiply", [3, 4], [4]))["layer"].error


def test_a_bare_tensor_with_more_dimensions_than_a_sample_is_refused_with_a_fix() -> None:
    layer = infer_shapes(_two_inputs("Add", [3, 4], [1, 3, 4], "bare"))["layer"]
    assert layer.error.endswith("tensor1 has more dimensions than a sample: turn on its "
                                "batch_dim and drop its first dimension")


def test_editing_batch_dim_rechecks_the_readers() -> None:
    """A vector times matrices: stored with batch_dim it is a 1 × 4 matrix to torch."""
    doc = _two_inputs("MatMul", [5, 4], [4], "bare")
    engine = ShapeInference(doc)
    assert engine.infer()["layer"].shape == (5,)
    doc.set_params("tensor1", {"batch_dim": True})
    engine.infer()
    assert "layer" in engine.recomputed
    assert engine.results["layer"].error.startswith(
        "layer cannot multiply the tensors a batch×5×4 and b 1×4: the last size of the first "
        "(4) must equal the second-last size of the second (1)")
    engine.close()


@pytest.mark.parametrize(("a", "b", "source", "out"), [
    ([5, 4], [4, 6], "data", (5, 6)),
    ([2, 5, 4], [2, 4, 6], "data", (2, 5, 6)),
    ([2, 5, 4], [1, 4, 6], "data", (2, 5, 6)),
    ([5, 4], [4], "bare", (5,)),  # matrix times vector
    ([4], [4, 6], "bare", (6,)),  # a vector per sample times a weight matrix
    ([3, 5, 4], [4, 6], "bare", (3, 5, 6)),
    ([3, 5, 4], [4, 6], "stored", (3, 5, 6)),
])
def test_matmul_follows_torch_matmul(a: list[int], b: list[int], source: str,
                                     out: tuple[int, ...]) -> None:
    layer = infer_shapes(_two_inputs("MatMul", a, b, source))["layer"]
    assert layer.shape == out
    lead = {"data": (2,), "stored": (1,), "bare": ()}[source]
    assert torch.matmul(torch.randn(2, *a), torch.randn(*lead, *b)).shape == (2, *out)


@pytest.mark.parametrize(("a", "b", "message"), [
    ([5, 4], [5, 4], ("layer cannot multiply a (from data0, 5×4) and b (from data1, 5×4): the "
                      "last size of the first (4) must equal the second-last size of the "
                      "second (5)")),
    ([4], [4], ("layer cannot multiply the tensors a batch×4 and b batch×4: the last size of "
                "the first (4) must equal the second-last size of the second (batch)")),
    ([3, 5, 4], [4, 6], ("layer cannot multiply the tensors a batch×3×5×4 and b batch×4×6: "
                         "the dimensions before the last two (batch×3 vs batch) must "
                         "broadcast: sizes batch and 3 differ and neither is 1")),
])
def test_matmul_refusals_name_the_node_and_both_shapes(a: list[int], b: list[int],
                                                       message: str) -> None:
    assert infer_shapes(_two_inputs("MatMul", a, b))["layer"].error.startswith(message)


def _attention(q: list[int], k: list[int], v: list[int], **params: Any) -> NetworkDocument:
    return _network("ScaledDotProductAttention", params, [q, k, v], ["data"] * 3)


def test_attention_shapes_and_refusals() -> None:
    assert infer_shapes(_attention([2, 5, 4], [2, 6, 4], [2, 6, 3]))["layer"].shape == (2, 5, 3)
    assert infer_shapes(_attention([2, 5, 4], [1, 6, 4], [1, 6, 3]))["layer"].shape == (2, 5, 3)
    features = infer_shapes(_attention([5, 4], [6, 3], [6, 3]))["layer"].error
    assert features.startswith("layer cannot attend with query (from data0, 5×4) and key (from "
                               "data1, 6×3) and value (from data2, 6×3): query and key need "
                               "the same number of features (last dimension): 4 vs 3")
    tokens = infer_shapes(_attention([5, 4], [6, 4], [7, 3]))["layer"].error
    assert "key and value need the same number of tokens (second-last dimension): 6 vs 7" in (
        tokens)
    vectors = infer_shapes(_attention([4], [4], [4]))["layer"].error
    assert "need at least two dimensions" in vectors


def test_stack_inserts_a_dimension_as_torch_stack() -> None:
    for dim, out in ((1, (2, 3, 4)), (2, (3, 2, 4)), (-1, (3, 4, 2)), (-3, (2, 3, 4))):
        layer = infer_shapes(_two_inputs("Stack", [3, 4], [3, 4], dim=dim))["layer"]
        assert layer.shape == out
        assert torch.stack([torch.randn(5, 3, 4)] * 2, dim=dim).shape == (5, *out)
    assert infer_shapes(_two_inputs("Stack", [3, 4], [3, 5]))["layer"].error == (
        "layer cannot stack in1 (from data0, 3×4) and in2 (from data1, 3×5): torch.stack "
        "needs inputs of equal shape")
    assert infer_shapes(_two_inputs("Stack", [3, 4], [3, 4], dim=-4))["layer"].error == (
        "layer: dim=-4 would stack along the batch dimension; use dim=1 or later")
    assert "out of range" in infer_shapes(_two_inputs("Stack", [3, 4], [3, 4], dim=4))[
        "layer"].error


def test_macs_by_hand() -> None:
    doc = _two_inputs("MatMul", [3, 5, 4], [3, 4, 6])
    results = infer_shapes(doc)
    assert node_macs(doc, results, "layer") == 3 * 5 * 6 * 4  # each output sums 4 products
    doc = _attention([2, 5, 4], [2, 6, 4], [2, 6, 3])
    results = infer_shapes(doc)
    # per head: 5 × 6 scores of 4 products each, then 5 × 3 outputs summing 6 products
    assert node_macs(doc, results, "layer") == 2 * (5 * 6 * 4 + 5 * 3 * 6)
    vector = _two_inputs("MatMul", [5, 4], [4], "bare")
    assert node_macs(vector, infer_shapes(vector), "layer") == 5 * 4


@pytest.mark.parametrize("doc", [
    _two_inputs("MatMul", [3, 5, 4], [1, 4, 6]),
    _attention([2, 5, 4], [2, 6, 4], [2, 6, 3]),
    _attention([2, 5, 4], [1, 5, 4], [1, 5, 7], is_causal=True),  # still computes every pair
], ids=["matmul", "attention", "causal"])
def test_macs_are_half_of_torchs_flop_count(doc: NetworkDocument) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from app.core.compiler import compile_document, example_inputs

    model = compile_document(doc).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*[x[:1] for x in example_inputs(doc)])
    assert node_macs(doc, infer_shapes(doc), "layer") * 2 == counter.get_total_flops()


# -- hand-written attention: import, export, same outputs ------------------------------------

ATTENTION_SOURCE = '''
import math

import torch
from torch import nn
from torch.nn import functional as F

INPUT_SHAPE = (6, 8)


class ByHand(nn.Module):
    """Single-head attention by hand"""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.dim = dim
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.query(x)
        k = self.key(x)
        v = self.value(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dim)
        weights = scores.softmax(dim=-1)
        out = weights @ v
        return self.proj(out)


class Fused(nn.Module):
    """Two-head causal attention with F.scaled_dot_product_attention"""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        heads = torch.stack([q, k, v], dim=1).reshape(x.size(0), 3, 6, 2, 4)
        q, k, v = heads.transpose(2, 3).chunk(3, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out = out.reshape(x.size(0), 2, 6, 4).transpose(1, 2).reshape(x.size(0), 6, 8)
        return self.proj(out) * 0.5


class MultiHead(nn.Module):
    """Multi-head self-attention by hand"""

    def __init__(self, dim: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.mix = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(B, L, self.heads, D // self.heads).transpose(1, 2)
        k = k.view(B, L, self.heads, D // self.heads).transpose(1, 2)
        v = v.view(B, L, self.heads, D // self.heads).transpose(1, 2)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = F.softmax(attn, dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(B, L, D)
        return self.mix(y)
'''


@pytest.fixture(scope="module")
def attention_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("attention") / "attention.py"
    path.write_text(ATTENTION_SOURCE)
    return path


@pytest.mark.parametrize("class_name", ["ByHand", "Fused", "MultiHead"])
def test_hand_written_attention_imports_exports_and_computes_the_same(
        class_name: str, attention_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    original, _ = load_file_model(attention_file, class_name)
    result = import_file(attention_file, class_name)
    first = generate_code(result.doc, result.title)
    exported = tmp_path / "exported.py"
    exported.write_text(first)
    again = import_file(exported, "Net")
    assert generate_code(again.doc, again.title) == first  # export -> import -> export
    model, _ = load_file_model(exported, "Net")
    model.load_state_dict(result.convert_state_dict(original.state_dict()))
    x = torch.randn(3, 6, 8)
    with torch.no_grad():
        diff = (model.eval()(x) - original.eval()(x)).abs().max().item()
    assert diff < 1e-6


def test_hand_written_attention_reads_as_code(attention_file: Path) -> None:
    by_hand = generate_code(import_file(attention_file, "ByHand").doc)
    assert "x.transpose(-2, -1)" in by_hand
    assert "x = torch.matmul(x, transpose)" in by_hand
    assert "scores = x / 2.8284271247461903" in by_hand
    assert "matmul_1 = torch.matmul(weights, x)" in by_hand
    fused = generate_code(import_file(attention_file, "Fused").doc)
    assert "q, k, v = x.chunk(3, dim=-1)" in fused  # the pieces keep the source's names
    assert "torch.stack([q, k, v], dim=1)" in fused
    assert "q_1, k_1, v_1 = x.chunk(3, dim=1)" in fused  # the second q, k, v
    assert "x = nn.functional.scaled_dot_product_attention(q_1, k_1, v_1, is_causal=True)" in fused
    assert "x = x * 0.5\n        return x" in fused
    multi_head = generate_code(import_file(attention_file, "MultiHead").doc)
    assert "q, k, v = x.chunk(3, dim=-1)" in multi_head
    assert "view_1 = k.reshape(k.size(0), 6, 2, 4)" in multi_head
    assert "k_1 = view_1.transpose(1, 2)" in multi_head


def test_attention_dropout_acts_in_training_only() -> None:
    doc = _attention([2, 5, 4], [2, 6, 4], [2, 6, 3], dropout_p=0.5)
    code = generate_code(doc)
    assert "dropout_p=0.5 if self.training else 0.0" in code
    spec = CATALOGUE["ScaledDotProductAttention"]
    module = spec.build(spec.validate({"dropout_p": 0.5}))
    q, k, v = torch.randn(1, 5, 4), torch.randn(1, 6, 4), torch.randn(1, 6, 3)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert torch.equal(module.eval()(q, k, v), expected)
    torch.manual_seed(0)
    assert not torch.allclose(module.train()(q, k, v), expected)


def test_scale_imports_from_products_and_quotients_with_a_constant() -> None:
    class Scaled(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([0.5 * x, x / 4, torch.mul(x, 3.0)], dim=-1)

    doc = import_module(Scaled(), [[3]]).doc
    scales = sorted((n.params["factor"], n.params["divide"]) for n in doc.nodes
                    if n.type == "Scale")
    assert scales == [(0.5, False), (3.0, False), (4.0, True)]
    stack = next(n for n in doc.nodes if n.type == "Stack")
    assert stack.params["dim"] == -1 and infer_shapes(doc)[stack.name].shape == (3, 3)


def test_info_json_and_the_layer_table_count_the_new_nodes(attention_file: Path,
                                                           tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    doc = import_file(attention_file, "ByHand").doc
    rows = {row.name: row for row in layer_table(doc, infer_shapes(doc))}
    matmuls = sorted(row.macs for row in rows.values() if row.type == "MatMul")
    assert matmuls == [6 * 6 * 8, 6 * 8 * 6]  # scores 6×6 of 8 terms; 6×8 outputs of 6
    path = tmp_path / "attention.json"
    save_project(Project(network=doc), path)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    layers = {row["name"]: row for row in info["layers"]}
    assert sorted(r["macs"] for r in layers.values() if r["type"] == "MatMul") == matmuls
    linears = 3 * 6 * (8 * 8 + 8) + 6 * (8 * 4 + 4)  # each token through each Linear
    assert info["macs"] == linears + sum(matmuls)


def test_every_form_of_a_matrix_product_imports_as_matmul() -> None:
    class Products(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.bmm(a, b) + a.matmul(b) + torch.matmul(a, b) + a @ b

    doc = import_module(Products(), [[5, 4], [4, 6]]).doc
    assert sorted(n.type for n in doc.nodes if n.spec.has_module) == ["Add"] + ["MatMul"] * 4
    assert infer_shapes(doc)[next(n.name for n in doc.nodes if n.type == "Add")].shape == (5, 6)


def test_attention_settings_import_and_a_mask_is_named() -> None:
    class Settings(torch.nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(q, q, q, None, 0.0,
                                                                    scale=0.25)

    doc = import_module(Settings(), [[5, 4]]).doc
    node = next(n for n in doc.nodes if n.type == "ScaledDotProductAttention")
    assert (node.params["scale"], node.params["dropout_p"]) == (0.25, 0.0)
    assert "scale=0.25" in generate_code(doc)

    class Masked(torch.nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=q)

    with pytest.raises(ModelImportError, match="scaled_dot_product_attention with attn_mask"):
        import_module(Masked(), [[5, 5]])
