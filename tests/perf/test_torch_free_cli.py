"""`info` counts parameters and MACs by formula without importing torch; the counts equal torch's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from app.core.compiler import compile_document
from app.core.param_count import formula_parameters
from app.core.shapes import infer_shapes
from app.core.templates import TEMPLATES, build_template

# Runs the CLI in a fresh interpreter and prints whether torch got imported along the way.
PROBE = ("import sys; from app.cli import main; code = main(sys.argv[1:]); "
         "print('TORCH-IMPORTED' if 'torch' in sys.modules else 'TORCH-FREE'); sys.exit(code)")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=120)


def test_info_does_not_import_torch() -> None:
    result = _run("info", "--template", "resnet18", "--json")
    assert result.returncode == 0, result.stderr
    body, _, verdict = result.stdout.rstrip().rpartition("\n")
    assert verdict == "TORCH-FREE"
    report = json.loads(body)
    assert report["params"] == 11_689_512  # torchvision's resnet18
    assert report["macs"] == 1_816_558_056  # tests/core/test_cost.py checks it with torchinfo
    assert [row["name"] for row in report["layers"]][:3] == ["image", "conv1", "bn1"]


def test_check_without_sections_does_not_import_torch(tmp_path) -> None:
    path = tmp_path / "net.json"
    assert _run("new", "--template", "lenet5", "-o", str(path)).returncode == 0
    project = json.loads(path.read_text())
    project["data"], project["training"] = {}, {}
    path.write_text(json.dumps(project))
    result = _run("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-2:] == ["valid", "TORCH-FREE"]


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_formula_count_equals_torch_count(template_id: str) -> None:
    doc = build_template(template_id)
    with torch.device("meta"):
        model = compile_document(doc)
    assert formula_parameters(doc, infer_shapes(doc)) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("layer", [
    ("Conv2d", {"in_channels": 4, "out_channels": 6, "kernel_size": [3, 5], "groups": 2}),
    ("ConvTranspose2d", {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "groups": 2,
                         "bias": False}),
    ("LSTM", {"input_size": 5, "hidden_size": 7, "num_layers": 2, "bidirectional": True}),
    ("GRU", {"input_size": 5, "hidden_size": 7, "num_layers": 3, "bias": False}),
    ("RNN", {"input_size": 3, "hidden_size": 4}),
    ("LayerNorm", {"normalized_shape": [4, 6], "bias": False}),
    ("GroupNorm", {"num_groups": 2, "num_channels": 6}),
    ("InstanceNorm2d", {"num_features": 6, "affine": True}),
    ("PReLU", {"num_parameters": 8}),
    ("Embedding", {"num_embeddings": 11, "embedding_dim": 3}),
])
def test_formula_count_of_layers_outside_the_templates(layer) -> None:
    from app.core.catalogue import spec_for

    layer_type, given = layer
    spec = spec_for(layer_type)
    resolved = {**spec.defaults(), **given}
    module = spec.build(resolved)
    assert spec.count(resolved) == sum(p.numel() for p in module.parameters())
