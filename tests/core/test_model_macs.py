"""Whole-model MACs of imported transformers and ConvNeXt, explained to the last MAC.

torchvision's `_ops` metadata (its tables' GFLOPS) counts the matrix products and
convolutions of one 224 × 224 image (256 for Swin V2), as torch's FlopCounterMode does,
halved to MACs. The app counts those plus one MAC per bias element added and per element a
normalisation layer scales (app.core.cost). So for every model:

    app total == torch's product MACs + bias elements + normalisation elements

exactly, on small configurations and on the real models, whose torch product MACs round
to `_ops` (about 10 s for the five, built with weights=None, nothing downloaded). Measured
(app / `_ops`, GMACs): vit_b_16 17.584 / 17.564, swin_t 4.507 / 4.491, swin_v2_t 5.963 /
5.94, maxvit_t 5.594 / 5.558, convnext_tiny 4.472 / 4.456.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import convnext, maxvit, swin_transformer, vision_transformer

from app.core.cost import layer_table
from app.core.importer import import_module
from app.core.shapes import infer_shapes

NORMS = (nn.LayerNorm, nn.BatchNorm2d, convnext.LayerNorm2d)
WINDOW_ATTENTION = (swin_transformer.ShiftedWindowAttention,
                    swin_transformer.ShiftedWindowAttentionV2)


def _extra_elements(module: nn.Module, args: tuple, out: object, found: dict[str, int]) -> None:
    """Bias and normalisation elements one module adds, seen from its output (a forward
    hook; Swin's attention calls its projections functionally, so it is counted whole)."""
    out = out[0] if isinstance(out, tuple) else out
    if isinstance(module, NORMS):
        found["norm"] += out.numel()
    elif isinstance(module, (nn.Linear, nn.Conv2d)) and module.bias is not None:
        found["bias"] += out.numel()
    elif isinstance(module, nn.MultiheadAttention):  # q, k, v and output biases per token
        found["bias"] += 4 * out.numel()
    elif isinstance(module, WINDOW_ATTENTION):  # the same, per token of the padded input
        _, height, width, channels = args[0].shape
        window_h, window_w = module.window_size
        padded = -(-height // window_h) * window_h * -(-width // window_w) * window_w
        found["bias"] += 4 * padded * channels


def _torch_count(model: nn.Module, sample: tuple[int, ...]) -> tuple[int, int, int]:
    """torch's product MACs, bias elements and normalisation elements for one sample."""
    found = {"bias": 0, "norm": 0}
    hooks = [m.register_forward_hook(partial(_extra_elements, found=found))
             for m in model.modules()]
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):  # so attention shows as bmm
        model(torch.randn(1, *sample))
    for hook in hooks:
        hook.remove()
    return counter.get_total_flops() // 2, found["bias"], found["norm"]


def _app_total(model: nn.Module, sample: tuple[int, ...]) -> int:
    doc = import_module(model, [sample], label="model", title="model").doc
    return sum(row.macs for row in layer_table(doc, infer_shapes(doc)))


def _swin(version: int) -> nn.Module:
    blocks = {1: {}, 2: {"block": swin_transformer.SwinTransformerBlockV2,
                         "downsample_layer": swin_transformer.PatchMergingV2}}[version]
    return swin_transformer.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2],
                                            num_heads=[2, 4], window_size=[4, 4],
                                            num_classes=10, **blocks)


SMALL = {
    # 40 × 40 -> 10 × 10 tokens: padded to 12 × 12 for 4 × 4 windows, then 5 × 5 -> 8 × 8
    "swin": (lambda: _swin(1), (3, 40, 40)),
    "swin_v2": (lambda: _swin(2), (3, 40, 40)),
    "vit": (lambda: vision_transformer.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
        num_classes=10), (3, 32, 32)),
    "maxvit": (lambda: maxvit.MaxVit(
        input_size=(32, 32), stem_channels=8, partition_size=2, block_channels=[16, 32],
        block_layers=[1, 1], head_dim=8, stochastic_depth_prob=0.0, num_classes=10),
        (3, 32, 32)),
    "convnext": (lambda: convnext.ConvNeXt(
        [convnext.CNBlockConfig(16, 32, 1), convnext.CNBlockConfig(32, None, 1)],
        num_classes=10), (3, 32, 32)),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_app_total_is_torch_products_plus_bias_and_norm_elements(name: str) -> None:
    make, sample = SMALL[name]
    torch.manual_seed(0)
    model = make().eval()
    products, bias, norm = _torch_count(model, sample)
    assert products > 0 and bias > 0 and norm > 0
    assert _app_total(model, sample) == products + bias + norm


WEIGHTS = {"vit_b_16": ("ViT_B_16_Weights.IMAGENET1K_V1", 224),
           "swin_t": ("Swin_T_Weights.IMAGENET1K_V1", 224),
           "swin_v2_t": ("Swin_V2_T_Weights.IMAGENET1K_V1", 256),
           "maxvit_t": ("MaxVit_T_Weights.IMAGENET1K_V1", 224),
           "convnext_tiny": ("ConvNeXt_Tiny_Weights.IMAGENET1K_V1", 224)}


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_torchvision_ops_metadata(name: str) -> None:
    """torchvision's `_ops` (no download: the metadata sits in the weights enum)."""
    weights, side = WEIGHTS[name]
    model = torchvision.models.get_model(name, weights=None).eval()
    products, bias, norm = _torch_count(model, (3, side, side))
    assert round(products / 1e9, 3) == torchvision.models.get_weight(weights).meta["_ops"]
    assert _app_total(model, (3, side, side)) == products + bias + norm
