"""Attention MACs (app.core.cost) against torchinfo's mult-adds and torch's own count.

torchinfo computes a layer's mult-adds from its parameters only (torchinfo/layer_info.py,
`calculate_macs`): a parameter named exactly `weight` or `bias` counts once per output
sample (once per output position for a convolution); any other parameter whose name holds
"weight" or "bias" (`in_proj_weight`, `qkv.weight` of a parent, Swin's
`relative_position_bias_table`) counts prod(output_size[:2]) times; the rest (`pos_embedding`,
`class_token`, `logit_scale`) count 0. It never sees the functional products of attention
(q·kᵀ and the weighted sum of v, inside F.scaled_dot_product_attention, torch.matmul).

The app counts the work the layer does for one sample: each weight once per token it is
applied to, one MAC per bias element added, and the two attention products. So per layer
the app equals torchinfo's figure transformed by the exact formula each test states, and
it equals torch's FlopCounterMode (matrix products, halved to MACs; the math attention
kernel so that attention shows as bmm) plus the bias and normalisation elements.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torchinfo
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.vision_transformer import VisionTransformer

from app.core.catalogue import spec_for
from app.core.compiler import compile_document
from app.core.cost import layer_macs, layer_table
from app.core.graph import module_path
from app.core.importer import import_module
from app.core.param_count import SWIN_V2_HIDDEN
from app.core.shapes import infer_shapes

BATCH = 2  # torchinfo counts the whole batch; a batch of 2 shows which terms scale with it


class _SelfAttention(nn.Module):
    """As the canvas calls a MultiheadAttention node."""

    def __init__(self, attention: nn.MultiheadAttention) -> None:
        super().__init__()
        self.attention = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, x, x, need_weights=False)[0]


def _layer(layer_type: str, **given: Any) -> tuple[nn.Module, dict[str, Any]]:
    spec = spec_for(layer_type)
    resolved = {**spec.defaults(), **given}
    torch.manual_seed(0)
    return spec.build(resolved), resolved


def _torchinfo(module: nn.Module, sample: tuple[int, ...]) -> dict[str, int]:
    """torchinfo's mult-adds for a batch of BATCH, by class name (the first row of each)."""
    summary = torchinfo.summary(module, input_size=(BATCH, *sample), verbose=0, depth=100)
    rows: dict[str, int] = {}
    for layer in summary.summary_list:
        rows.setdefault(layer.class_name, layer.macs)
    return rows


def _torch_products(module: nn.Module, sample: tuple[int, ...]) -> dict[str, int]:
    """torch's MACs per aten product (addmm, mm, bmm, convolution) for one sample."""
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        module(torch.randn(1, *sample))
    return {str(op).removeprefix("aten."): flops // 2
            for op, flops in counter.get_flop_counts()["Global"].items()}


def test_multihead_attention() -> None:
    """MultiheadAttention(64, 4) on 10 tokens: torchinfo counts every parameter (the
    names are in_proj_weight, out_proj.weight, ...) B·L times; the app adds q·kᵀ and the
    weighted sum of v, L²·E each."""
    module, p = _layer("MultiheadAttention", embed_dim=64, num_heads=4)
    tokens, width, weights = 10, 64, spec_for("MultiheadAttention").count(p)
    app = layer_macs("MultiheadAttention", [(tokens, width)], (tokens, width), p)
    theirs = _torchinfo(_SelfAttention(module), (tokens, width))["MultiheadAttention"]
    assert theirs == BATCH * tokens * weights == 332_800
    products = 2 * tokens * tokens * width
    assert app == theirs // BATCH + products == 179_200
    torch_count = _torch_products(_SelfAttention(module), (tokens, width))
    assert torch_count == {"addmm": tokens * 4 * width * width, "bmm": products}
    assert app == sum(torch_count.values()) + tokens * 4 * width  # + the 4 bias vectors


def test_transformer_encoder_layer() -> None:
    """torchinfo counts all of the layer's parameters B·L times, its LayerNorms' too; the
    app counts each LayerNorm element once and adds the attention products."""
    module, p = _layer("TransformerEncoderLayer", d_model=32, nhead=4, dim_feedforward=64)
    tokens, width, hidden = 10, 32, 64
    app = layer_macs("TransformerEncoderLayer", [(tokens, width)], (tokens, width), p)
    theirs = _torchinfo(module, (tokens, width))["TransformerEncoderLayer"]
    assert theirs == BATCH * tokens * spec_for("TransformerEncoderLayer").count(p)
    norm_parameters, norm_elements = 2 * 2 * width, 2 * tokens * width
    products = 2 * tokens * tokens * width
    assert app == theirs // BATCH - tokens * norm_parameters + norm_elements + products
    torch_count = _torch_products(module.eval(), (tokens, width))
    assert torch_count == {"addmm": tokens * (4 * width * width + 2 * width * hidden),
                           "bmm": products}
    biases = tokens * (4 * width + hidden + width)
    assert app == sum(torch_count.values()) + biases + norm_elements == 91_200


def _window_case(version: int, side: int) -> tuple[nn.Module, dict[str, Any], int]:
    module, p = _layer(f"ShiftedWindowAttention{'V2' if version == 2 else ''}", dim=16,
                       window_size=[4, 4], shift_size=[2, 2], num_heads=2)
    sample = (side, side, 16)
    return module, p, layer_macs(module.__class__.__name__, [sample], sample, p)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("side", [8, 6])  # 6 × 6 is padded to 8 × 8, two windows a side
def test_shifted_window_attention(version: int, side: int) -> None:
    """Every token of the input padded to whole 4 × 4 windows is projected (4·d² weights,
    4·d biases) and meets the 16 tokens of its window twice (2·16·d). torchinfo multiplies
    every parameter, relative_position_bias_table included, by B·H (its output_size[:2])."""
    module, _, app = _window_case(version, side)
    dim, padded, window, heads = 16, 8 * 8, 4 * 4, 2
    summary = torchinfo.summary(module, input_size=(BATCH, side, side, dim), verbose=0)
    counted = sum(x.numel() for name, x in module.named_parameters()
                  if "weight" in name or "bias" in name)  # V2's logit_scale is not
    assert summary.summary_list[0].macs == BATCH * side * counted
    products = 2 * padded * window * dim
    attention = padded * (4 * dim * dim + 4 * dim) + products
    torch_count = _torch_products(module, (side, side, dim))
    assert torch_count["bmm"] == products
    if version == 1:
        assert app == attention == 102_400
        assert torch_count == {"addmm": padded * 4 * dim * dim, "bmm": products}
        return
    # V2's bias MLP 2 -> 512 -> heads over the 1 × 7 × 7 table of relative positions of a
    # 4 × 4 window: torchinfo counts each of its Linears' weights once (output_size[0] is 1).
    positions, mlp_weights = 7 * 7, 2 * SWIN_V2_HIDDEN + SWIN_V2_HIDDEN + SWIN_V2_HIDDEN * heads
    mlp_rows = [layer.macs for layer in summary.summary_list if layer.class_name == "Linear"]
    assert mlp_rows == [3 * SWIN_V2_HIDDEN, SWIN_V2_HIDDEN * heads]
    assert sum(mlp_rows) == mlp_weights
    assert app == attention + positions * sum(mlp_rows) == 227_840
    assert torch_count == {"addmm": padded * 4 * dim * dim + positions * 2 * SWIN_V2_HIDDEN,
                           "mm": positions * SWIN_V2_HIDDEN * heads, "bmm": products}
    assert app == sum(torch_count.values()) + padded * 4 * dim + positions * SWIN_V2_HIDDEN


def test_swin_v2_counts_its_bias_mlp_once_per_forward() -> None:
    """The MLP's cost does not depend on the image: the same on 8 × 8 and 6 × 6 (both
    padded to 8 × 8), and the only difference between V2 and V1 of equal settings."""
    v1, v2 = _window_case(1, 8)[2], _window_case(2, 8)[2]
    assert v2 - v1 == 7 * 7 * SWIN_V2_HIDDEN * (3 + 2) == _window_case(2, 6)[2] - _window_case(1, 6)[2]


@pytest.mark.parametrize("version", [1, 2])
def test_patch_merging(version: int) -> None:
    """torchinfo counts the Linear's 4d × 2d weights and the LayerNorm's parameters once
    per sample; the app applies the Linear to each of the 4 × 4 output tokens and counts
    the LayerNorm's elements (4d per token before the Linear in V1, 2d after it in V2)."""
    layer_type = "PatchMerging" + ("V2" if version == 2 else "")
    module, p = _layer(layer_type, dim=16)
    dim, tokens = 16, 4 * 4
    app = layer_macs(layer_type, [(8, 8, dim)], (4, 4, 2 * dim), p)
    rows = _torchinfo(module, (8, 8, dim))
    norm_width = 4 * dim if version == 1 else 2 * dim
    assert rows["Linear"] == BATCH * 8 * dim * dim
    assert rows["LayerNorm"] == BATCH * 2 * norm_width
    assert app == tokens * rows["Linear"] // BATCH + tokens * norm_width
    assert _torch_products(module, (8, 8, dim)) == {"mm": tokens * 8 * dim * dim}


def test_relative_positional_attention() -> None:
    """MaxViT's attention over 4 windows of 16 tokens: torchinfo counts to_qkv's and
    merge's weights and biases once per sample; the app once per token, plus the two
    products among the 16 tokens of each window."""
    module, p = _layer("RelativePositionalMultiHeadAttention", feat_dim=32, head_dim=16,
                       max_seq_len=16)
    windows, tokens, width = 4, 16, 32
    sample = (windows, tokens, width)
    app = layer_macs("RelativePositionalMultiHeadAttention", [sample], sample, p)
    rows = _torchinfo(module, sample)
    linear_rows = [layer.macs for layer in torchinfo.summary(
        module, input_size=(BATCH, *sample), verbose=0).summary_list if layer.class_name == "Linear"]
    assert linear_rows == [BATCH * (3 * width * width + 3 * width), BATCH * (width * width + width)]
    assert rows["RelativePositionalMultiHeadAttention"] == BATCH * windows * sum(
        x.numel() for x in module.parameters())
    products = 2 * windows * tokens * tokens * width
    assert app == windows * tokens * sum(linear_rows) // BATCH + products == 335_872
    torch_count = _torch_products(module, sample)
    assert torch_count == {"addmm": windows * tokens * 4 * width * width, "bmm": products}
    assert app == sum(torch_count.values()) + windows * tokens * 4 * width


def test_squeeze_excitation_equals_torchinfo() -> None:
    """Its two 1×1 convolutions on the pooled 1 × 1 map: torchinfo's count exactly."""
    module, p = _layer("SqueezeExcitation", input_channels=16, squeeze_channels=4)
    app = layer_macs("SqueezeExcitation", [(16, 5, 5)], (16, 5, 5), p)
    summary = torchinfo.summary(module, input_size=(BATCH, 16, 5, 5), verbose=0)
    assert app == summary.total_mult_adds // BATCH == 2 * 16 * 4 + 4 + 16
    assert _torch_products(module, (16, 5, 5)) == {"convolution": 2 * 16 * 4}


def test_layer_norm_2d_counts_elements() -> None:
    """As every normalisation: one MAC per element, where torchinfo counts the 2·C
    parameters once per sample."""
    module, p = _layer("LayerNorm2d", normalized_shape=[16])
    assert _torchinfo(module, (16, 5, 5))["LayerNorm2d"] == BATCH * 2 * 16
    assert layer_macs("LayerNorm2d", [(16, 5, 5)], (16, 5, 5), p) == 16 * 5 * 5


def _per_layer_expected(layer_type: str, out: list[int], theirs: int) -> int:
    """The app's MACs of a small ViT's layer from torchinfo's for a batch of one."""
    if layer_type == "Linear":  # weights once per token, not once per sample
        return theirs * (out[0] if len(out) == 2 else 1)
    if layer_type == "MultiheadAttention":  # + q·kᵀ and the weighted sum of v
        return theirs + 2 * out[0] * out[0] * out[1]
    if layer_type == "LayerNorm":  # elements, not parameters
        return out[0] * out[1]
    return theirs


def test_small_vit_every_layer() -> None:
    """An imported ViT (2 layers, 17 tokens of 32 features): each layer against torchinfo
    by the relations above; the class token and position embedding cost 0, as torchinfo
    (no module calls them) says too."""
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                              hidden_dim=32, mlp_dim=64, num_classes=10).eval()
    doc = import_module(model, [(3, 32, 32)], label="vit", title="vit").doc
    results = infer_shapes(doc)
    compiled = compile_document(doc, results)
    summary = torchinfo.summary(compiled, input_size=(1, 3, 32, 32), verbose=0, depth=100)
    paths = {id(module): path for path, module in compiled.named_modules()}
    by_path = {paths[id(layer.module)]: layer.macs for layer in summary.summary_list}
    rows = layer_table(doc, results)
    types = {row.type for row in rows}
    assert {"Parameter", "MultiheadAttention", "Linear", "LayerNorm", "Conv2d"} <= types
    for row in rows:
        theirs = by_path.get(module_path(doc.node(row.name)), 0)
        if row.type == "Parameter":
            assert row.macs == 0 and row.params > 0
        assert row.macs == _per_layer_expected(row.type, row.output_shape, theirs), row.name
    assert sum(row.macs for row in rows) == 425_002
