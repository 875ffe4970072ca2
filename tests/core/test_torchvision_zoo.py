"""The torchvision classification zoo: every model of `list_models(module=torchvision.models)`
either imports, exports (and the exported file imports and exports to the same bytes), takes
torchvision's own state_dict strictly in the exported `build_model()` and gives torchvision's
outputs (eval mode, within 1e-5).

One model of each family runs by default; the rest are marked slow and run with
TORCHCANVAS_ZOO=all (each needs building twice, some hundreds of MB of weights).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
import torchvision

from app.core.codegen import generate_code
from app.core.importer import import_file, import_torchvision, load_file_model

ALL = sorted(torchvision.models.list_models(module=torchvision.models))

# One per family, the cheapest, for the default run.
DEFAULT = {"alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s",
           "googlenet", "inception_v3", "maxvit_t", "mnasnet0_5", "mobilenet_v2",
           "mobilenet_v3_small", "regnet_x_400mf", "regnet_y_400mf", "resnet18",
           "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_0", "swin_t", "swin_v2_t",
           "vgg11", "vit_b_16", "wide_resnet50_2"}

# Fixed-size transformers need 224; every CNN takes 96 × 96 (Inception v3 needs 75+).
INPUT = {"vit": (3, 224, 224), "maxvit": (3, 224, 224)}
SMALL = (3, 96, 96)
AUXILIARY = ("aux1.", "aux2.", "AuxLogits.")
FULL_RUN = os.environ.get("TORCHCANVAS_ZOO") == "all"


def family(name: str) -> str:
    """resnet18 -> resnet, efficientnet_v2_s -> efficientnet_v2, regnet_y_8gf -> regnet_y."""
    return re.match(r"(wide_)?[a-z]+(_v\d|_[xy])?", name).group()


def _case(name: str) -> pytest.param:
    if name in DEFAULT:
        return pytest.param(name)
    return pytest.param(name, marks=[pytest.mark.slow, pytest.mark.skipif(
        not FULL_RUN, reason="one model per family by default; TORCHCANVAS_ZOO=all runs all")])


def test_every_family_has_a_default_model() -> None:
    families = {family(name) for name in ALL}
    assert {family(name) for name in DEFAULT} == families
    assert DEFAULT <= set(ALL)


@pytest.mark.parametrize("name", [_case(name) for name in ALL])
def test_torchvision_model_imports_and_exports(name: str, tmp_path: Path) -> None:
    shape = INPUT.get(family(name), SMALL)
    result = import_torchvision(name, input_shape=shape)
    # GoogLeNet's and Inception's auxiliary classifiers only run in training mode, so an
    # eval-mode trace never reaches them; nothing else may be left out.
    assert all(key.startswith(AUXILIARY) for key in result.unmapped)
    assert bool(result.unmapped) == (family(name) in ("googlenet", "inception_v3"))
    # RegNet's `block1-0` is no attribute name and becomes `block1_0`; all else is kept.
    assert all(key.replace("-", "_") == value for key, value in result.key_map.items())
    path = tmp_path / "model.py"
    first = generate_code(result.doc, name)
    path.write_text(first)
    again = import_file(path, "Net")
    assert generate_code(again.doc, again.title) == first  # export -> import -> export
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    with torch.device("meta"):  # no random initialisation: every value comes from torchvision
        exported, _ = load_file_model(path)
    exported.load_state_dict(result.convert_state_dict(original.state_dict()), strict=True,
                             assign=True)
    exported.eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), original(x), atol=1e-5, rtol=0)
