"""Whole-block entries (SqueezeExcitation, TransformerEncoderLayer, Swin's window attention
and patch merging) and the Split op: import from a user's module or torchvision, checks in
the student's words, exported code, MACs.

(The hypothesis shape-vs-forward test, parameter counts and the one-layer round trip walk
the whole catalogue in test_catalogue.py, test_layer_spec.py and test_roundtrip.py; the
torchvision models that use these layers are in test_torchvision_zoo.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torchvision.models import swin_transformer

from app.core.codegen import generate_code
from app.core.compiler import compile_document
from app.core.cost import layer_macs
from app.core.importer import ModelImportError, import_file, import_module, import_torchvision
from app.core.shapes import infer_shapes
from tests.core.layer_networks import one_layer_network


def _flat(code: str) -> str:
    """The code with wrapped calls joined back onto one line."""
    return re.sub(r",?\s*\)", ")", re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", code)))


def _error(layer_type: str, params: dict, rank: int) -> str:
    return infer_shapes(one_layer_network(layer_type, params, rank))["layer"].error


class Splits(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b, c = x.split(2, dim=1)  # 6 -> 2, 2, 2
        d, e = torch.split(x, [1, 5], 1)
        return torch.cat([c, a, e, d, b], 1)


def test_split_imports_in_both_forms_and_computes_the_same(tmp_path: Path) -> None:
    model = Splits()
    doc = import_module(model, [(6, 3)]).doc
    splits = sorted((n.params for n in doc.nodes if n.type == "Split"), key=str)
    assert splits == [{"split_size_or_sections": 2, "dim": 1, "pieces": 3},
                      {"split_size_or_sections": [1, 5], "dim": 1, "pieces": 2}]
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        assert torch.equal(compile_document(doc)(x), model(x))
    code = generate_code(doc, "Splits")
    assert ".split(2, dim=1)" in code and ".split((1, 5), dim=1)" in code
    path = tmp_path / "splits.py"
    path.write_text(code)
    again = import_file(path, "Net")
    assert generate_code(again.doc, again.title) == code


def test_split_names_pieces_that_do_not_fit() -> None:
    doc = one_layer_network("Split", {"split_size_or_sections": 2, "pieces": 2}, 1)
    result = infer_shapes(doc)["layer"]
    assert result.error == ("layer: splitting a size of 6 along dim 1 makes 3 pieces (2, 2, "
                            "2), but the node has pieces=2 outputs")
    assert [(f.param, f.value) for f in result.fixes] == [("pieces", 3)]
    assert _error("Split", {"split_size_or_sections": [1, 2]}, 1) == (
        "layer: the sections 1, 2 add up to 3, but the input has size 6 along dim 1; make "
        "them add up to it")
    shapes = infer_shapes(one_layer_network("Split", {"split_size_or_sections": 4}, 1))
    assert shapes["layer"].outputs == {"out": (4,), "out2": (2,)}


class Encoder(nn.Module):
    """A small transformer encoder over token features."""

    def __init__(self, activation: object = "gelu") -> None:
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.encoder = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0,
                                                  activation=activation, batch_first=True,
                                                  norm_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x)))


def test_transformer_encoder_layer_imports_exports_and_loads_strictly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Encoder().eval()
    result = import_module(model, [(5, 8)])
    layer = next(n for n in result.doc.nodes if n.type == "TransformerEncoderLayer")
    assert layer.params == {"d_model": None, "nhead": 4, "dim_feedforward": 32, "dropout": 0.0,
                            "activation": "gelu", "layer_norm_eps": 1e-5, "batch_first": True,
                            "norm_first": True, "bias": True}
    code = generate_code(result.doc, "Encoder")
    assert ("nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, "
            "activation='gelu', batch_first=True, norm_first=True)") in _flat(code)
    path = tmp_path / "encoder.py"
    path.write_text(code)
    exported = import_file(path, "Net")
    built = compile_document(exported.doc).eval()
    built.load_state_dict(result.convert_state_dict(model.state_dict()), strict=True)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x), atol=1e-6, rtol=0)
    assert generate_code(exported.doc, exported.title) == code
    # weights once per token, attention 2·S²·d, two LayerNorms once per element
    weights = 4 * 16 * 16 + 4 * 16 + 2 * 16 * 32 + 32 + 16
    assert layer_macs("TransformerEncoderLayer", [(5, 16)], (5, 16), infer_shapes(
        result.doc)[layer.name].resolved) == 5 * weights + 2 * 25 * 16 + 2 * 5 * 16


def test_transformer_encoder_layer_refusals_say_what_to_change() -> None:
    with pytest.raises(ModelImportError, match=r"encoder \(TransformerEncoderLayer with "
                                               r"activation silu \(the node offers relu"):
        import_module(Encoder(activation=F.silu), [(5, 8)])
    assert "with batch_first off" in _error("TransformerEncoderLayer", {"batch_first": False}, 2)
    assert _error("TransformerEncoderLayer", {"nhead": 2}, 2) == (
        "layer: d_model=9 cannot be split into nhead=2 attention heads; pick a nhead that "
        "divides 9")


def test_squeeze_excitation_writes_its_activations_as_classes() -> None:
    doc = one_layer_network("SqueezeExcitation", {"squeeze_channels": 2, "activation": "SiLU",
                                                  "scale_activation": "Hardsigmoid"}, 3)
    code = generate_code(doc)
    assert ("torchvision.ops.SqueezeExcitation(4, 2, activation=nn.SiLU, "
            "scale_activation=nn.Hardsigmoid)") in _flat(code)
    model = compile_document(doc)
    se = next(m for m in model.modules() if isinstance(m, torchvision.ops.SqueezeExcitation))
    assert (type(se.activation), type(se.scale_activation)) == (nn.SiLU, nn.Hardsigmoid)
    assert "activation=" not in generate_code(one_layer_network("SqueezeExcitation", {}, 3))


def test_torchvision_squeeze_excitation_is_one_node() -> None:
    doc = import_module(torchvision.models.efficientnet_b0().eval(), [(3, 32, 32)]).doc
    se = [n for n in doc.nodes if n.type == "SqueezeExcitation"]
    assert len(se) == 16
    assert se[0].params == {"input_channels": None, "squeeze_channels": 8,
                            "activation": "SiLU", "scale_activation": "Sigmoid"}


def test_swin_layers_keep_lists_and_refuse_another_norm() -> None:
    doc = one_layer_network("ShiftedWindowAttention", {"window_size": [2, 4],
                                                       "shift_size": [1, 2], "num_heads": 4}, 3)
    assert "ShiftedWindowAttention(8, [2, 4], [1, 2], 4)" in _flat(generate_code(doc))
    assert "must be smaller than window_size=(2, 4)" in _error(
        "ShiftedWindowAttention", {"window_size": [2, 4], "shift_size": [2, 2]}, 3)
    merging = infer_shapes(one_layer_network("PatchMerging", {}, 3))["layer"]
    assert merging.shape == (2, 4, 16)  # 4 × 8 tokens of 8 channels

    class Merge(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.merge = swin_transformer.PatchMerging(8, norm_layer=nn.Identity)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.merge(x)

    with pytest.raises(ModelImportError, match=r"merge \(PatchMerging with a norm_layer other "
                                               r"than nn.LayerNorm"):
        import_module(Merge(), [(4, 4, 8)])


def test_maxvit_attention_checks_its_window_and_swapaxes_imports_as_transpose() -> None:
    assert _error("RelativePositionalMultiHeadAttention", {"head_dim": 5}, 3) == (
        "layer: feat_dim=32 cannot be cut into heads of head_dim=5 features; pick a head_dim "
        "that divides it")
    doc = one_layer_network("RelativePositionalMultiHeadAttention", {"max_seq_len": 16}, 3)
    result = infer_shapes(doc)["layer"]
    assert result.error.startswith("layer: max_seq_len=16 must equal the 49 tokens per window")
    assert [(f.param, f.value) for f in result.fixes] == [("max_seq_len", 49)]
    macs = layer_macs("RelativePositionalMultiHeadAttention", [(2, 49, 32)], (2, 49, 32),
                      infer_shapes(one_layer_network("RelativePositionalMultiHeadAttention"))[
                          "layer"].resolved)
    assert macs == 2 * 49 * (4 * 32 * 32 + 4 * 32 + 2 * 49 * 32)

    class Swap(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.swapaxes(x, -2, -3)

    swapped = import_module(Swap(), [(2, 3, 4)]).doc
    assert [n.params for n in swapped.nodes if n.type == "Transpose"] == [
        {"dim0": -2, "dim1": -3}]


def test_swin_mlp_linears_on_channels_last_tokens_give_no_flatten_advice() -> None:
    doc = import_torchvision("swin_t", input_shape=(3, 96, 96)).doc
    results = infer_shapes(doc)
    linears = [name for name in results if doc.node(name).spec.type == "Linear"]
    assert len(linears) == 25  # two per MLP in 12 blocks, and the head
    assert [w for r in results.values() for w in r.warnings
            if "acts on the last dimension" in w] == []
