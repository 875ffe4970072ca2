"""Learnable tensors (Parameter nodes), LayerNorm2d, self-attention, Expand and Select: the
pieces of ConvNeXt and ViT, checked against torch on small models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models.convnext import LayerNorm2d

from app.core.codegen import generate_code
from app.core.compiler import compile_document
from app.core.cost import layer_macs
from app.core.graph import NetworkDocument
from app.core.importer import import_file, import_module, load_file_model
from app.core.shapes import infer_shapes
from tests.core.layer_networks import one_layer_network


class TinyViT(nn.Module):
    """A tiny ViT: patches, a class token, a position embedding, one attention layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 8, kernel_size=4, stride=4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.pos_embedding = nn.Parameter(torch.empty(1, 5, 8).normal_(std=0.02))
        self.ln = nn.LayerNorm(8)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.conv_proj(x).reshape(n, 8, 4).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        y = self.ln(x)
        y, _ = self.attention(y, y, y, need_weights=False)
        return self.head((x + y)[:, 0])


class TinyConvNeXtBlock(nn.Module):
    """ConvNeXt's block: a channel LayerNorm and a per-channel learned layer scale."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = LayerNorm2d(6, eps=1e-6)
        self.conv = nn.Conv2d(6, 6, kernel_size=3, padding=1, groups=6)
        self.layer_scale = nn.Parameter(torch.ones(6, 1, 1) * 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * self.conv(self.norm(x))


@pytest.mark.parametrize(("model", "shape"), [(TinyViT, (3, 8, 8)),
                                              (TinyConvNeXtBlock, (6, 5, 5))])
def test_imports_keep_the_keys_and_the_outputs_and_round_trip(model: type, shape: tuple,
                                                               tmp_path: Path) -> None:
    torch.manual_seed(0)
    original = model().eval()
    result = import_module(original, [shape])
    assert result.unmapped == []
    assert all(key == value for key, value in result.key_map.items())
    path = tmp_path / "model.py"
    code = generate_code(result.doc, "Tiny")
    path.write_text(code)
    exported, _ = load_file_model(path)
    exported.load_state_dict(original.state_dict(), strict=True)
    compiled = compile_document(result.doc).eval()
    compiled.load_state_dict(original.state_dict(), strict=True)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        expected = original(x)
        torch.testing.assert_close(exported.eval()(x), expected, atol=1e-6, rtol=0)
        torch.testing.assert_close(compiled(x), expected, atol=1e-6, rtol=0)
    again = import_file(path)
    assert generate_code(again.doc, again.title) == code


def test_parameter_nodes_read_the_tensor_as_torchvision_stores_it() -> None:
    doc = import_module(TinyViT().eval(), [(3, 8, 8)]).doc
    tensors = {n.name: n.params for n in doc.nodes if n.type == "Parameter"}
    assert tensors == {
        "class_token": {"shape": [1, 8], "batch_dim": True, "init": "constant", "value": 0.0},
        "pos_embedding": {"shape": [5, 8], "batch_dim": True, "init": "normal",
                          "value": pytest.approx(0.02, abs=0.01)},
    }
    block = import_module(TinyConvNeXtBlock().eval(), [(6, 5, 5)]).doc.node("layer_scale")
    assert block.params == {"shape": [6, 1, 1], "batch_dim": False, "init": "constant",
                            "value": 1e-06}
    code = generate_code(import_module(TinyConvNeXtBlock().eval(), [(6, 5, 5)]).doc)
    assert "self.layer_scale = nn.Parameter(torch.full((6, 1, 1), 1e-06))" in code
    assert "torchvision.models.convnext.LayerNorm2d(6, eps=1e-06)" in code


def test_a_parameter_is_a_trained_tensor_at_its_path() -> None:
    doc = one_layer_network("Parameter", {"init": "normal", "value": 0.5, "batch_dim": True},
                            rank=3)
    model = compile_document(doc)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == [
        ("layer", (1, 4, 8, 8))]
    out = model(torch.randn(2, 4, 8, 8))
    out.sum().backward()
    assert model.layer.grad is not None and model.layer.grad.shape == (1, 4, 8, 8)


def _error(layer_type: str, params: dict, rank: int) -> str | None:
    return infer_shapes(one_layer_network(layer_type, params, rank))["layer"].error


def test_checks_name_the_mistake() -> None:
    assert _error("Expand", {"sizes": [-1]}, 2) == (
        "layer gives 1 sizes for its 2-D input 4×9 from data: give one per dimension "
        "(-1 keeps a size)")
    assert "only a dimension of size 1 can grow" in _error("Expand", {"sizes": [5, -1]}, 2)
    assert _error("Select", {"dim": 1, "index": 4}, 2) == (
        "layer: index 4 is outside dimension 1 of size 4 (valid: -4 to 3)")
    assert "embed_dim=9 cannot be split into num_heads=2 attention heads" in _error("MultiheadAttention", {"num_heads": 2}, 2)
    assert _error("Select", {"dim": 2, "index": -9}, 2) is None


def test_attention_counts_parameters_and_macs_like_torch() -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [5, 8]}, name="tokens")
    doc.add_node("MultiheadAttention", {"num_heads": 2, "add_bias_kv": True}, name="attn")
    doc.add_node("Output", name="mixed")
    doc.chain("tokens", "attn", "mixed")
    result = infer_shapes(doc)["attn"]
    module = nn.MultiheadAttention(8, 2, add_bias_kv=True, batch_first=True)
    assert doc.node("attn").spec.count(result.resolved) == sum(
        p.numel() for p in module.parameters())
    # projections once per token (4·8·8 weights + 4·8 biases + 2·8 bias_k/v) + 2·5²·8
    assert layer_macs("MultiheadAttention", [(5, 8)], (5, 8), result.resolved) == (
        5 * (4 * 64 + 32 + 16) + 2 * 25 * 8)


def test_training_probes_skip_parameter_nodes() -> None:
    """Probes and freezing look layers up as modules; a Parameter node's tensor is none."""
    from app.training.probes import auto_layers
    from app.training.setup import layer_paths

    doc = import_module(TinyConvNeXtBlock().eval(), [(6, 5, 5)]).doc
    model = compile_document(doc)
    paths = layer_paths(doc, model)
    assert "layer_scale" not in paths and paths["conv"] == "conv"
    assert auto_layers(model, paths) == ["conv"]
