"""Published weights for every torchvision family that imports: a state_dict written the way
torchvision publishes it (DenseNet's legacy key names and no batch counters, ViT's pre-0.13
MLP names, GoogLeNet's and Inception's training-only heads, RegNet's `block1-0` paths, Swin's
relative position buffers) loads through the app's one
loading path (`pretrained.load_weights`: a run, `finetune` and the Fine-tune dialog) into
the imported network, which then gives torchvision's outputs. Nothing downloads.

One model per family runs by default; the biggest files (hundreds of MB) are marked slow
and run with TORCHCANVAS_ZOO=all, as in tests/core/test_torchvision_zoo.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
import torchvision

from app.core.compiler import compile_document
from app.core.importer import import_torchvision
from app.training import pretrained as pt

FAST = ["convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet",
        "inception_v3", "maxvit_t", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small",
        "regnet_x_400mf", "regnet_y_400mf", "resnet18", "resnext50_32x4d",
        "shufflenet_v2_x0_5", "squeezenet1_0", "swin_t", "swin_v2_t"]
# 61M-133M parameters: 0.25-0.5 GB files
BIG = ["alexnet", "vgg11", "vit_b_16", "wide_resnet50_2"]
SHAPE = (3, 96, 96)
FIXED_SIZE = {"maxvit_t": (3, 224, 224), "vit_b_16": (3, 224, 224)}  # built for 224 only
# torchvision's densenet._load_state_dict pattern, run backwards: norm1 -> norm.1
CURRENT_DENSENET = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$")
# ViT's MLPBlock._load_from_state_dict, backwards: mlp.0 -> mlp.linear_1, mlp.3 -> linear_2
CURRENT_VIT_MLP = re.compile(r"^(.*\.mlp)\.([03])\.(weight|bias)$")
VIT_MLP = {"0": "linear_1", "3": "linear_2"}


def published_format(name: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` as torchvision's file for `name` holds it: DenseNet's were saved by PyTorch
    0.3 (keys `denselayer1.norm.1.weight`, no `num_batches_tracked`), ViT's before
    torchvision 0.13 named its MLP layers (`mlp.linear_1`, `mlp.linear_2`)."""
    if name.startswith("densenet"):
        return {CURRENT_DENSENET.sub(r"\1.\2.\3", k): v for k, v in state.items()
                if not k.endswith("num_batches_tracked")}
    if name.startswith("vit"):
        return {CURRENT_VIT_MLP.sub(lambda m: f"{m[1]}.{VIT_MLP[m[2]]}.{m[3]}", k): v
                for k, v in state.items()}
    return state


def torchvision_model(name: str) -> torch.nn.Module:
    """Random weights and batch-norm statistics, so a buffer that failed to load shows.
    Tensors that torchvision starts constant (ViT's zero head and class token, ConvNeXt's
    1e-6 layer scales, norm weights and biases) get noise too, so each one matters."""
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None)
    with torch.no_grad():
        for p in model.parameters():
            if torch.all(p == p.flatten()[0]):
                p.add_(torch.randn_like(p) * 0.02)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.8, 1.2)
    return model.eval()


def _case(name: str) -> pytest.param:
    if name in FAST:
        return pytest.param(name)
    return pytest.param(name, marks=[pytest.mark.slow, pytest.mark.skipif(
        os.environ.get("TORCHCANVAS_ZOO") != "all",
        reason="large weights files; TORCHCANVAS_ZOO=all runs them")])


@pytest.mark.parametrize("name", [_case(n) for n in FAST + BIG])
def test_published_file_loads_into_the_imported_network(name: str, tmp_path: Path) -> None:
    shape = FIXED_SIZE.get(name, SHAPE)
    original = torchvision_model(name)
    path = tmp_path / f"{name}.pth"
    torch.save(published_format(name, original.state_dict()), path)
    doc = import_torchvision(name, shape).doc
    model = compile_document(doc)
    count = pt.load_weights(doc, model, {"file": str(path), "keep": []})
    assert count == len(torch.load(path, weights_only=True))
    model.eval()
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=1e-5)


def test_the_published_formats_are_what_the_test_writes() -> None:
    """The renaming is needed: torchvision's current DenseNet names differ from the file's,
    and GoogLeNet's file has heads the imported network lacks."""
    state = published_format("densenet121", torchvision_model("densenet121").state_dict())
    assert "features.denseblock1.denselayer1.norm.1.weight" in state
    assert "features.denseblock1.denselayer1.norm1.weight" not in state
    assert not any(k.endswith("num_batches_tracked") for k in state)
    doc = import_torchvision("googlenet", SHAPE).doc
    keys = set(compile_document(doc).state_dict())
    assert not any(k.startswith("aux1.") for k in keys)
    assert any(k.startswith("aux1.") for k in torchvision_model("googlenet").state_dict())


def test_torchvision_reads_the_vit_mlp_names_the_test_writes() -> None:
    """torchvision's own MLPBlock loads a file with the pre-0.13 names (`linear_1`), which
    the app's network has as `mlp.0`."""
    from torchvision.models.vision_transformer import MLPBlock

    torch.manual_seed(0)
    block = torch.nn.ModuleDict({"layer": torch.nn.ModuleDict({"mlp": MLPBlock(4, 8, 0.0)})})
    legacy = published_format("vit_b_16", dict(block.state_dict()))
    assert sorted(legacy) == ["layer.mlp.linear_1.bias", "layer.mlp.linear_1.weight",
                              "layer.mlp.linear_2.bias", "layer.mlp.linear_2.weight"]
    fresh = torch.nn.ModuleDict({"layer": torch.nn.ModuleDict({"mlp": MLPBlock(4, 8, 0.0)})})
    fresh.load_state_dict(legacy, strict=True)
    for key, tensor in block.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], tensor), key
