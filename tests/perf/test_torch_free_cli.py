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
                          timeout=120, check=False)


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


def _saved_with_sections(tmp_path, template_id: str = "mnist_cnn") -> tuple:
    path = tmp_path / "net.json"
    assert _run("new", "--template", template_id, "-o", str(path)).returncode == 0
    project = json.loads(path.read_text())
    assert project["data"]["source"] and project["training"]["optimizer"]
    project["data"]["train_transforms"] = [
        {"type": "RandomRotation", "degrees": 15},
        {"type": "Normalize", "preset": "custom", "mean": [0.5], "std": [0.25]}]
    return path, project


def test_check_with_data_and_training_sections_does_not_import_torch(tmp_path) -> None:
    path, project = _saved_with_sections(tmp_path)
    project["training"]["loss"] = {"name": "CrossEntropy", "params": {"label_smoothing": 0.1}}
    project["training"]["init"] = [{"layer_types": ["Conv2d"], "scheme": "kaiming_normal"}]
    path.write_text(json.dumps(project))
    result = _run("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-2:] == ["valid", "TORCH-FREE"]


@pytest.mark.parametrize(("section", "field", "value", "message"), [
    ("data", "train_transforms", [{"type": "RandomRotation", "degrees": "x"}],
     "data.train_transforms step 1 'RandomRotation'"),
    ("data", "source", "no_such_source", "data.source: unknown data source"),
    ("training", "optimizer", {"name": "SGD", "params": {"nesterov": True}},
     "training.optimizer.params.nesterov"),
    ("training", "scheduler", {"name": "NoSuchLR"}, "training.scheduler.name"),
])
def test_check_reports_section_errors_without_torch(tmp_path, section, field, value,
                                                    message) -> None:
    path, project = _saved_with_sections(tmp_path)
    project[section][field] = value
    path.write_text(json.dumps(project))
    result = _run("check", str(path))
    assert result.returncode == 1
    assert message in result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1] == "TORCH-FREE"


def test_training_registries_import_no_heavy_library() -> None:
    """The GUI's background import: torch yes, torchvision and scikit-learn only when a run
    or a dataset needs them."""
    code = ("import sys, app.training.trainer, app.data.sources, app.data.augment; "
            "print(sorted(m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.stdout.strip() == "['torch']", result.stderr


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
