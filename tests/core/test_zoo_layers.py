"""The layers and tensor ops of torchvision's classification models: their functional forms
import as nodes, their checks speak the student's language, their cost matches torchinfo.

(The hypothesis shape-vs-forward test, the parameter count and the export/import round trip
of every entry, these included, live in test_catalogue.py, test_layer_spec.py and
test_registry.py, which walk the whole catalogue.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from app.core.codegen import generate_code
from app.core.compiler import compile_document
from app.core.graph import NetworkDocument
from app.core.importer import ModelImportError, import_file, import_module
from app.core.shapes import infer_shapes
from app.learn.activations import activation_types
from tests.core.layer_networks import one_layer_network
from tests.core.test_cost import _torchinfo_macs


class Functional(nn.Module):
    """Every new functional form in one forward(), as torchvision's models write them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.hardswish(F.silu(F.relu6(self.conv(x))))
        x = F.mish(F.hardsigmoid(x))
        left, right = x.chunk(2, dim=1)
        x = torch.cat([left, torch.cat([right], 1)], 1)
        x = torch.channel_shuffle(x, 2)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear")
        x = torch.transpose(x, 2, 3).permute(0, 2, 3, 1)
        return x.mean([1, 2])


def test_functional_forms_import_as_nodes_that_compute_the_same() -> None:
    torch.manual_seed(0)
    model = Functional().eval()
    doc = import_module(model, [(3, 6, 6)]).doc
    types = sorted(n.type for n in doc.nodes)
    assert types == sorted(["Input", "Conv2d", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid",
                            "Mish", "Chunk", "Concat", "ChannelShuffle", "Upsample",
                            "Transpose", "Permute", "Mean", "Output"])  # cat([right]) is right
    by_type = {n.type: n for n in doc.nodes}
    assert by_type["Permute"].params == {"dims": [2, 3, 1]}
    assert by_type["Mean"].params == {"dim": [1, 2], "keepdim": False}
    assert by_type["Upsample"].params["mode"] == "bilinear"
    assert infer_shapes(doc)[by_type["Mean"].name].shape == (8,)
    compiled = compile_document(doc).eval()
    compiled.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-6, rtol=0)


def test_shufflenet_channel_shuffle_reads_the_sizes_it_reshapes_with() -> None:
    """view(b, groups, c // groups, h, w) -> transpose -> view(b, c, h, w), with the sizes
    taken from x.size() during the import."""
    from torchvision.models.shufflenetv2 import channel_shuffle

    class Shuffle(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return channel_shuffle(x, 3)

    doc = import_module(Shuffle(), [(6, 2, 5)]).doc
    reshapes = sorted(n.params["shape"] for n in doc.nodes if n.type == "Reshape")
    assert reshapes == [[3, 2, 2, 5], [6, 2, 5]]
    x = torch.randn(2, 6, 2, 5)
    with torch.no_grad():
        assert torch.equal(compile_document(doc)(x), nn.ChannelShuffle(3)(x))


@pytest.mark.parametrize(("forward", "named"), [
    (lambda x: x.mean(), "x.mean over every dimension (the batch included)"),
    (lambda x: x.transpose(0, 1), "x.transpose(0, 1) that moves the batch dimension"),
    (lambda x: x.permute(1, 0, 2), "x.permute(1, 0, 2) that moves the batch dimension"),
])
def test_ops_on_the_batch_dimension_are_refused_by_name(forward, named: str) -> None:
    class Model(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(x)

    with pytest.raises(ModelImportError) as refused:
        import_module(Model(), [(4, 5)])
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_a_bare_buffer_is_refused_naming_it() -> None:
    """A parameter used in forward() becomes a Parameter node (test_learnable_tensors);
    a buffer read directly has no node."""
    class Shifted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("offset", torch.ones(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.offset

    with pytest.raises(ModelImportError, match="the buffer or constant offset used directly"):
        import_module(Shifted(), [(4,)])


def _error(layer_type: str, params: dict, rank: int) -> str:
    return infer_shapes(one_layer_network(layer_type, params, rank))["layer"].error


def test_checks_name_the_mistake() -> None:
    assert _error("Chunk", {"chunks": 3, "dim": 1}, 3) == (
        "layer: a size of 4 along dim 1 splits into 2 chunks (2, 2), not 3; pick a chunks "
        "value that fits the size")
    assert "dim=3 is out of range for a 2-D tensor" in _error("Mean", {"dim": [-1, 3]}, 1)
    assert "dim=[2, -1] names a dimension twice" in _error("Mean", {"dim": [2, -1]}, 2)
    assert "must list each of the 3 dimensions after the batch once" in _error(
        "Permute", {"dims": [1, 1, 2]}, 3)
    assert "cannot be split into groups=3" in _error("ChannelShuffle", {"groups": 3}, 3)
    assert "set exactly one of size and scale_factor" in _error(
        "Upsample", {"size": 5}, 3)
    assert "mode 'bilinear' needs a 3-D" in _error("Upsample", {"mode": "bilinear"}, 2)
    assert "align_corners only applies" in _error("Upsample", {"align_corners": True}, 3)
    assert "at least one pixel" in _error("Upsample", {"scale_factor": 0.1}, 3)


def test_chunk_has_one_output_port_per_piece() -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [6, 4]}, name="data")
    doc.add_node("Chunk", {"chunks": 3, "dim": 1}, name="pieces")
    doc.add_node("Concat", {"num_inputs": 2, "dim": 1}, name="join")
    doc.add_node("Output", name="result")
    doc.chain("data", "pieces")
    doc.connect("pieces", "out3", "join", "in1")
    doc.connect("pieces", "out", "join", "in2")
    doc.chain("join", "result")
    result = infer_shapes(doc)["pieces"]
    assert result.outputs == {"out": (2, 4), "out2": (2, 4), "out3": (2, 4)}
    x = torch.randn(2, 6, 4)
    with torch.no_grad():
        assert torch.equal(compile_document(doc)(x), torch.cat([x[:, 4:], x[:, :2]], 1))
    assert "pieces, _, pieces_out3 = x.chunk(3, dim=1)" in generate_code(doc)


def test_stochastic_depth_exports_as_torchvision_ops_and_drops_rows_in_training(
        tmp_path: Path) -> None:
    doc = one_layer_network("StochasticDepth", {"p": 1.0, "mode": "row"}, rank=3)
    code = generate_code(doc)
    assert "import torchvision\n" in code and "Needs torch and torchvision" in code
    assert "torchvision.ops.StochasticDepth(1.0, 'row')" in code
    path = tmp_path / "net.py"
    path.write_text(code)
    imported = import_file(path, "Net").doc
    assert [n.params for n in imported.nodes if n.type == "StochasticDepth"] == [
        {"p": 1.0, "mode": "row"}]
    model = compile_document(doc)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(model.train()(x), torch.zeros_like(x))  # every row dropped
    assert torch.equal(model.eval()(x), x)
    assert "import torchvision" not in generate_code(one_layer_network("ReLU6"))


def test_new_activations_are_in_the_activation_explorer() -> None:
    assert {"ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish"} <= set(activation_types())


def test_imported_mobilenet_v3_macs_match_torchinfo_per_layer() -> None:
    """Squeeze-excitation (one node: torchvision's pool, 1×1 convs, Hardsigmoid and scaling),
    Hardswish, Dropout: each layer's MACs by formula equal torchinfo's mult-adds (batch norms
    by its convention; a SqueezeExcitation node's are its sublayers')."""
    from app.core.cost import layer_table
    from app.core.graph import module_path

    doc = import_module(torchvision.models.mobilenet_v3_small().eval(), [(3, 64, 64)]).doc
    results = infer_shapes(doc)
    total, by_path = _torchinfo_macs(doc)
    rows = layer_table(doc, results)
    for row in rows:
        path = module_path(doc.node(row.name))
        theirs = by_path.get(path, 0)
        if row.type == "SqueezeExcitation":
            theirs = sum(macs for inner, macs in by_path.items() if inner.startswith(path + "."))
        if row.type == "BatchNorm2d":
            assert (theirs, row.macs) == (row.params, torch.Size(row.output_shape).numel())
        else:
            assert row.macs == theirs, row.name
    assert "SqueezeExcitation" in {r.type for r in rows}
    assert sum(r.macs for r in rows if r.type != "BatchNorm2d") == total - sum(
        r.params for r in rows if r.type == "BatchNorm2d")
