"""Import: torchvision models and .py files become documents that compute the same thing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from app.core.codegen import generate_code
from app.core.compiler import compile_document, example_inputs
from app.core.importer import ModelImportError, import_file, import_module, import_torchvision
from app.core.templates import TEMPLATES, build_template

# Smallest inputs the networks accept (AlexNet's stride-4 stem and three pools need 63+).
TORCHVISION = {"resnet18": (3, 32, 32), "alexnet": (3, 64, 64), "vgg16": (3, 32, 32)}


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_import_matches_the_original(name: str) -> None:
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    result = import_torchvision(name, input_shape=TORCHVISION[name])
    assert result.unmapped == []
    with torch.device("meta"):  # no second random initialisation: weights come from original
        model = compile_document(result.doc)
    model.load_state_dict(result.convert_state_dict(original.state_dict()), strict=True,
                          assign=True)
    model.eval()
    assert count(model) == count(original)
    x = torch.randn(2, *TORCHVISION[name])
    with torch.no_grad():
        assert torch.equal(model(x), original(x))


def test_torchvision_paths_become_module_paths() -> None:
    result = import_torchvision("resnet18", input_shape=(3, 32, 32))
    names = {n.name for n in result.doc.nodes}
    assert {"conv1", "layer1_0_conv1", "layer2_0_downsample_0", "layer1_0_add", "fc"} <= names
    assert result.doc.node("layer1_0_add").path == "layer1.0.add"
    assert all(k == v for k, v in result.key_map.items())  # torchvision's keys as they are
    model = compile_document(result.doc)
    assert sorted(model.state_dict()) == sorted(result.key_map.values())
    assert isinstance(model.layer2[0].downsample, nn.Sequential)


def test_sequential_root_keeps_a_key_map() -> None:
    original = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    result = import_module(original, [(4,)])
    assert result.key_map == {"0.weight": "n_0.weight", "0.bias": "n_0.bias",
                              "2.weight": "n_2.weight", "2.bias": "n_2.bias"}
    model = compile_document(result.doc)
    model.load_state_dict(result.convert_state_dict(original.state_dict()), strict=True)


LECTURE_INCEPTION = '''
import torch
import torch.nn.functional as F
from torch import nn


class InceptionA(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.branch1x1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch5x5_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch5x5_2 = nn.Conv2d(16, 24, kernel_size=5, padding=2)
        self.branch3x3_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch3x3_2 = nn.Conv2d(16, 24, kernel_size=3, padding=1)
        self.branch3x3_3 = nn.Conv2d(24, 24, kernel_size=3, padding=1)
        self.branch_pool = nn.Conv2d(in_channels, 24, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3 = self.branch3x3_3(self.branch3x3_2(self.branch3x3_1(x)))
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        branch_pool = self.branch_pool(branch_pool)
        outputs = [branch1x1, branch5x5, branch3x3, branch_pool]
        return torch.cat(outputs, dim=1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(88, 20, kernel_size=5)
        self.incep1 = InceptionA(in_channels=10)
        self.incep2 = InceptionA(in_channels=20)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(1408, 10)

    def forward(self, x):
        in_size = x.size(0)
        x = F.relu(self.mp(self.conv1(x)))
        x = self.incep1(x)
        x = F.relu(self.mp(self.conv2(x)))
        x = self.incep2(x)
        x = x.view(in_size, -1)
        x = self.fc(x)
        return x
'''


def test_lecture_inception_file_imports_and_matches(tmp_path: Path) -> None:
    path = tmp_path / "lecture.py"
    path.write_text(LECTURE_INCEPTION)
    result = import_file(path, "Net", input_shapes=[(1, 28, 28)])
    namespace: dict[str, object] = {}
    exec(compile(LECTURE_INCEPTION, str(path), "exec"), namespace)  # noqa: S102 - our own text
    original = namespace["Net"]().eval()
    model = compile_document(result.doc).eval()
    model.load_state_dict(result.convert_state_dict(original.state_dict()), strict=True)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))
    # The mp module is called twice: it has no weights, so that is fine.
    assert {"mp", "mp_1", "incep1_cat", "view"} <= {n.name for n in result.doc.nodes}
    assert count(model) == count(compile_document(build_template("inception_mnist")))


@pytest.mark.parametrize("template_id", ["lenet5", "residual_cnn", "inception_mnist",
                                         "densenet_small", "lstm_classifier", "gru_classifier",
                                         "googlenet_small", "house_price_mlp"])
def test_exported_file_imports_back(template_id: str, tmp_path: Path) -> None:
    doc = build_template(template_id)
    path = tmp_path / f"{template_id}.py"
    path.write_text(generate_code(doc, TEMPLATES[template_id].title))
    result = import_file(path)  # build_model() and INPUT_SHAPE from the exported file
    app_model = compile_document(doc).eval()
    model = compile_document(result.doc).eval()
    assert result.unmapped == []
    state = result.convert_state_dict(app_model.state_dict())
    assert sorted(state) == sorted(app_model.state_dict())  # names survive the round trip
    model.load_state_dict(state, strict=True)
    inputs = example_inputs(doc)
    with torch.no_grad():
        assert torch.equal(model(*inputs), app_model(*inputs))
    assert [n.type for n in result.doc.nodes if n.type != "Input"].count("Output") == 1


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.attn = nn.MultiheadAttention(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x).transpose(0, 1)
        z = torch.exp(y)
        return self.attn(self.fc(x), x, x)[0] * 2.0 + z


def test_unsupported_operations_are_listed_by_name() -> None:
    with pytest.raises(ModelImportError) as info:
        import_module(Unsupported(), [(3, 4)])
    message = str(info.value)
    assert "\n" not in message
    assert "x.transpose" in message
    assert "attn (MultiheadAttention with different query, key and value" in message
    assert "torch.exp" in message


def test_unsupported_layer_setting_is_reported() -> None:
    model = nn.Sequential(nn.Embedding(10, 4, scale_grad_by_freq=True), nn.Flatten())
    with pytest.raises(ModelImportError, match=r"0 \(Embedding with scale_grad_by_freq"):
        import_module(model, [(5,)])


def test_rnn_last_step_and_int_input() -> None:
    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(20, 8)
            self.gru = nn.GRU(8, 16, batch_first=True)
            self.fc = nn.Linear(16, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.gru(self.embed(x))
            return self.fc(out[:, -1])

    original = Classifier().eval()
    result = import_module(original, [(7,)])
    assert result.doc.node("gru").params["output"] == "last"
    assert result.doc.node("input").params["dtype"] == "int64"
    model = compile_document(result.doc).eval()
    model.load_state_dict(result.convert_state_dict(original.state_dict()), strict=True)
    x = torch.randint(0, 20, (4, 7))
    with torch.no_grad():
        assert torch.equal(model(x), original(x))


def test_bad_sources_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelImportError, match="unknown torchvision model 'resnet99'"):
        import_torchvision("resnet99")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ModelImportError, match="running it failed: RuntimeError: boom"):
        import_file(broken)
    plain = tmp_path / "plain.py"
    plain.write_text(textwrap.dedent("""
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 2)
            def forward(self, x):
                return self.fc(x)
    """))
    with pytest.raises(ModelImportError, match="give the input shape"):
        import_file(plain)
    assert len(import_file(plain, input_shapes=[(3,)]).doc.nodes) == 3
