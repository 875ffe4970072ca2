"""Export: every template round-trips through a generated .py with bit-identical outputs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from app.core.codegen import CodegenError, constructor_call, generate_code, reading_order
from app.core.compiler import compile_document, example_inputs
from app.core.graph import NetworkDocument
from app.core.shapes import infer_shapes
from app.core.templates import TEMPLATES, build_template

ROOT = Path(__file__).resolve().parents[2]
RUFF = ROOT / ".venv" / "bin" / "ruff"

# Options that keep the big ImageNet networks small enough for CPU tests; the full-size
# parameter counts are checked on the meta device in test_templates.py.
SMALL: dict[str, dict[str, Any]] = {
    "alexnet": {"num_classes": 10, "input_size": 64, "hidden": 256},
    "vgg11": {"num_classes": 10, "input_size": 32, "hidden": 256},
    "vgg16": {"num_classes": 10, "input_size": 32, "hidden": 256},
    "resnet18": {"num_classes": 10, "input_size": 32},
}


def small_template(template_id: str) -> NetworkDocument:
    return build_template(template_id, **SMALL.get(template_id, {}))


def load_module(path: Path) -> ModuleType:
    """Import a generated file under a fresh module name (no cached state from the app)."""
    spec = importlib.util.spec_from_file_location(f"exported_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomise_buffers(model: nn.Module) -> None:
    """BatchNorm's fresh running stats (0 and 1) would hide a wrongly wired buffer."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if buffer.is_floating_point():
                buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exported")
    paths = {}
    for template_id in TEMPLATES:
        path = folder / f"{template_id}.py"
        path.write_text(generate_code(small_template(template_id), TEMPLATES[template_id].title))
        paths[template_id] = path
    return paths


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_export_round_trip_is_bit_identical(template_id: str, exported: dict[str, Path]) -> None:
    torch.manual_seed(0)
    doc = small_template(template_id)
    app_model = compile_document(doc).eval()
    randomise_buffers(app_model)
    module = load_module(exported[template_id])
    net = module.build_model().eval()
    assert isinstance(net, module.Net)
    assert sorted(net.state_dict()) == sorted(app_model.state_dict())
    net.load_state_dict(app_model.state_dict(), strict=True)
    inputs = example_inputs(doc, batch=2)
    with torch.no_grad():
        expected, actual = app_model(*inputs), net(*inputs)
    assert torch.equal(expected, actual)


def test_exported_files_pass_ruff(exported: dict[str, Path]) -> None:
    result = subprocess.run([str(RUFF), "check", "--isolated", "--select", "E,F,W",
                             *map(str, exported.values())], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    default = subprocess.run([str(RUFF), "check", "--isolated", *map(str, exported.values())],
                             check=False, capture_output=True, text=True)
    assert default.returncode == 0, default.stdout


def test_exported_script_prints_summary_and_runs(exported: dict[str, Path]) -> None:
    result = subprocess.run([sys.executable, str(exported["mnist_cnn"])], check=False, capture_output=True,
                            text=True, timeout=120, cwd=exported["mnist_cnn"].parent)
    assert result.returncode == 0, result.stderr
    assert "parameters: 8,490" in result.stdout
    assert "forward pass: [(2, 1, 28, 28)] -> [(2, 10)]" in result.stdout
    assert "app" not in result.stdout.split("parameters")[0].replace("Conv2d", "")


def test_lenet_export_reads_like_torchvision(exported: dict[str, Path]) -> None:
    code = exported["lenet5"].read_text()
    assert "self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)" in code
    assert "self.pool1 = nn.AvgPool2d(kernel_size=2)" in code  # stride: torch's default
    assert "self.fc1 = nn.Linear(400, 120)" in code
    assert "x = self.conv1(x)" in code
    assert "Parameters: 61,706" in code
    assert "Input: batch × 1 × 28 × 28 (float32)" in code
    assert "import torch\nfrom torch import nn\n" in code
    assert "app." not in code


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_single_output_forward_returns_x(template_id: str, exported: dict[str, Path]) -> None:
    # torchvision's forward ends `x = self.fc(x)` / `return x`, never `fc = ...; return fc`
    code = exported[template_id].read_text()
    forward = code.split("class Net(nn.Module):")[1].split("    def forward(")[1]
    body = [line.strip() for line in forward.split("\n\n\n")[0].splitlines() if line.strip()]
    assert body[-1] == "return x"
    assert body[-2].startswith("x = ")


def test_merge_ops_and_skip_connections_are_inline(exported: dict[str, Path]) -> None:
    # An inline op named otherwise than fx names its call keeps its name as a variable,
    # so an import of the file gives it back (test_roundtrip.py).
    residual = exported["residual_cnn"].read_text()
    assert "block1_add = x + pool1\n        x = self.block1_relu2(block1_add)" in residual
    inception = exported["inception_mnist"].read_text()
    assert ("incep1_cat = torch.cat(\n            [incep1_branch1x1, incep1_branch5x5_2, "
            "incep1_branch3x3_3, x], dim=1\n        )") in inception


def test_recurrent_output_selection(exported: dict[str, Path]) -> None:
    code = exported["lstm_classifier"].read_text()
    assert "self.lstm = nn.LSTM(16, 32, batch_first=True)" in code
    assert "out, _ = self.lstm(x)\n        x = out[:, -1]" in code
    assert "torch.randint(0, 10, (2, *INPUT_SHAPE))" in code


def test_reshape_and_multiply_and_extra_outputs(tmp_path: Path) -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [784]}, name="pixels")
    doc.add_node("Reshape", {"shape": [1, 28, 28]}, name="to_image")
    doc.add_node("MaxPool2d", {"kernel_size": 2, "return_indices": True}, name="pool")
    doc.add_node("MaxUnpool2d", {"kernel_size": 2}, name="unpool")
    doc.add_node("Sigmoid", name="gate")
    doc.add_node("Multiply", name="gated")
    doc.add_node("Output", name="restored")
    doc.chain("pixels", "to_image", "pool")
    doc.connect("pool", "out", "unpool", "in")
    doc.connect("pool", "indices", "unpool", "indices")
    doc.connect("to_image", "out", "gate", "in")
    doc.connect("unpool", "out", "gated", "in1")
    doc.connect("gate", "out", "gated", "in2")
    doc.connect("gated", "out", "restored", "in")
    code = generate_code(doc)
    assert "to_image = x.reshape(x.size(0), 1, 28, 28)" in code
    assert "pool, pool_indices = self.pool(to_image)" in code
    assert "self.unpool(pool, pool_indices)" in code
    assert " * " in code
    path = tmp_path / "unpool.py"
    path.write_text(code)
    module = load_module(path)
    app_model = compile_document(doc).eval()
    net = module.Net().eval()
    net.load_state_dict(app_model.state_dict(), strict=True)
    x = torch.randn(3, 784)
    assert torch.equal(app_model(x), net(x))


def test_two_inputs_and_two_outputs(tmp_path: Path) -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4]}, name="left")
    doc.add_node("Input", {"shape": [4]}, name="right")
    doc.add_node("Linear", {"out_features": 4}, name="fc_left")
    doc.add_node("Add", name="total")
    doc.add_node("Linear", {"out_features": 2}, name="head")
    doc.add_node("Output", name="primary")
    doc.add_node("Output", name="aux")
    doc.chain("left", "fc_left")
    doc.connect("fc_left", "out", "total", "in1")
    doc.connect("right", "out", "total", "in2")
    doc.chain("total", "head", "primary")
    doc.connect("fc_left", "out", "aux", "in")
    path = tmp_path / "two.py"
    path.write_text(generate_code(doc))
    module = load_module(path)
    assert module.INPUT_SHAPES == ((4,), (4,))
    app_model = compile_document(doc).eval()
    net = module.Net().eval()
    net.load_state_dict(app_model.state_dict(), strict=True)
    a, b = torch.randn(2, 4), torch.randn(2, 4)
    for expected, actual in zip(app_model(a, b), net(a, b), strict=True):
        assert torch.equal(expected, actual)


def test_only_non_default_arguments_are_written() -> None:
    doc = build_template("resnet18", num_classes=10, input_size=32)
    results = infer_shapes(doc)

    def call(name: str) -> str:
        return constructor_call(doc.node(name).spec, results[name].resolved)

    assert call("conv1") == "nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)"
    assert call("bn1") == "nn.BatchNorm2d(64)"
    assert call("maxpool") == "nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"
    assert call("avgpool") == "nn.AdaptiveAvgPool2d(1)"
    assert call("relu") == "nn.ReLU()"
    assert call("fc") == "nn.Linear(512, 10)"
    doc.set_params("fc", {"bias": False})
    assert constructor_call(doc.node("fc").spec, infer_shapes(doc)["fc"].resolved) == (
        "nn.Linear(512, 10, bias=False)")


def test_reading_order_follows_each_branch_to_its_end() -> None:
    order = reading_order(build_template("inception_mnist"))
    start = order.index("incep1_branch3x3_1")
    assert order[start:start + 3] == ["incep1_branch3x3_1", "incep1_branch3x3_2",
                                      "incep1_branch3x3_3"]
    block = reading_order(build_template("resnet18"))
    i = block.index("layer2_0_conv1")
    assert block[i:i + 8] == ["layer2_0_conv1", "layer2_0_bn1", "layer2_0_relu1",
                              "layer2_0_conv2", "layer2_0_bn2", "layer2_0_downsample_0",
                              "layer2_0_downsample_1", "layer2_0_add"]


def test_hostile_title_cannot_escape_the_docstring(tmp_path: Path) -> None:
    title = 'x"""\nimport os; os.system("echo pwned")\n"""\\'
    code = generate_code(build_template("linear_regression"), title)
    assert '"""' not in code.split("import torch")[0].replace('"""', "", 1)[:-5]
    assert "\nimport os" not in code
    path = tmp_path / "hostile.py"
    path.write_text(code)
    assert hasattr(load_module(path), "Net")


def test_invalid_node_name_is_refused() -> None:
    doc = build_template("linear_regression")
    doc.node("linear").name = "linear = __import__('os')"  # bypassing the document's checks
    with pytest.raises(CodegenError, match="not a valid node name"):
        generate_code(doc)


def test_vgg16_export_writes_sequential_containers(exported: dict[str, Path]) -> None:
    code = exported["vgg16"].read_text()
    assert ("self.features = nn.Sequential(\n            nn.Conv2d(3, 64, kernel_size=3, "
            "padding=1),\n            nn.ReLU(),") in code
    assert "self.classifier = nn.Sequential(" in code
    assert "x = self.features(x)\n        x = self.avgpool(x)" in code
    assert code.count(" = nn.") == 4  # features, avgpool, flatten, classifier


def test_resnet18_export_has_one_block_class(exported: dict[str, Path]) -> None:
    code = exported["resnet18"].read_text()
    assert code.count("class ") == 2 and "class Block(nn.Module):" in code
    assert "downsample: nn.Module | None = None" in code
    assert "x = identity if self.downsample is None else self.downsample(identity)" in code
    for stage in (1, 2, 3, 4):
        assert f"self.layer{stage} = nn.Sequential(" in code
        assert f"x = self.layer{stage}(x)" in code
    assert "self.layer1 = nn.Sequential(Block(64, 64, stride=1), Block(64, 64, stride=1))" in code


def test_exported_resnet18_loads_torchvisions_state_dict(tmp_path: Path) -> None:
    import torchvision

    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    randomise_buffers(reference)
    path = tmp_path / "resnet18.py"
    path.write_text(generate_code(build_template("resnet18", num_classes=10, input_size=32)))
    net = load_module(path).Net().eval()
    net.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))


def test_other_module_paths_stay_flat_but_keep_the_keys(tmp_path: Path) -> None:
    """Paths that form no chain or blocks: containers made attribute by attribute."""
    from tests.core.test_compiler import residual_doc

    doc = residual_doc()
    paths = {"conv1": "stem.conv", "bn1": "stem.norm.1", "relu1": "act", "conv2": "head.0",
             "bn2": "head.2", "add": "head.1"}
    for name, path in paths.items():
        doc.set_path(name, path)
    code = generate_code(doc)
    assert "self.stem = nn.Module()" in code and "self.stem.norm = nn.Sequential()" in code
    assert 'self.head.add_module("2", nn.BatchNorm2d(8))' in code
    path = tmp_path / "odd.py"
    path.write_text(code)
    net = load_module(path).Net().eval()
    app_model = compile_document(doc).eval()
    randomise_buffers(app_model)
    net.load_state_dict(app_model.state_dict(), strict=True)
    x = torch.randn(2, 8, 12, 12)
    with torch.no_grad():
        assert torch.equal(net(x), app_model(x))
