"""`python -m app finetune`: a project that trains from pretrained weights (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from app.cli import main

R18 = "ResNet18_Weights.IMAGENET1K_V1"


@pytest.fixture(scope="module")
def r18_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    return path


def image_folder(root: Path) -> Path:
    g = torch.Generator().manual_seed(0)
    for c, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = torch.randint(0, 256, (40, 60, 3), dtype=torch.uint8, generator=g)
            Image.fromarray(pixels.numpy()).save(root / name / f"{i}.png")
    return root


def test_finetune_then_train_changes_only_the_head(r18_file: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    images = image_folder(tmp_path / "pets")
    out = tmp_path / "pets.json"
    assert main(["finetune", "--template", "resnet18", "--weights-file", str(r18_file),
                 "--data", str(images), "--freeze", "all", "--head-lr", "0.01",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "head: fc -> 2 classes, freshly initialised" in printed
    assert "frozen: conv1, bn1, layer1, layer2, layer3, layer4" in printed
    assert "Normalize mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]" in printed
    project = json.loads(out.read_text())
    assert project["training"]["pretrained"] == {"file": str(r18_file), "keep": ["fc"]}
    assert project["data"]["source"] == "image_folder"
    runs = tmp_path / "runs"
    assert main(["train", str(out), "--epochs", "1", "--out", str(runs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 1
    trained = torch.load(runs / "last.pt", weights_only=True)["model"]
    loaded = torch.load(r18_file, weights_only=True)
    changed = sorted(k for k in trained if k in loaded and not torch.equal(trained[k],
                                                                           loaded[k]))
    assert changed == ["fc.bias", "fc.weight"]  # fc has 2 rows now, 1000 in the file
    assert trained["fc.weight"].shape == (2, 512)


@pytest.mark.parametrize(("argv", "message"), [
    (["--template", "resnet18"],
     "give --weights NAME (torchvision's published weights) or --weights-file PATH"),
    (["--template", "lenet5", "--weights", "DEFAULT"],
     "--weights DEFAULT: this project is no torchvision model by name"),
    (["--template", "resnet18", "--weights", "IMAGENET9K"], "--weights IMAGENET9K: resnet18 "
                                                            "has " + R18),
    (["--template", "resnet18", "--weights-file", "nowhere.pth"],
     "--weights-file: no such file: nowhere.pth"),
    (["--template", "resnet18", "--weights", "DEFAULT", "--freeze", "layer9"],
     "freeze: no layer or block named 'layer9'"),
])
def test_bad_input_is_one_line(argv: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture) -> None:
    assert main(["finetune", *argv, "-o", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "x.json").exists()


def test_a_file_for_another_network_is_refused_by_key_and_node(r18_file: Path, tmp_path: Path,
                                                               capsys) -> None:
    assert main(["finetune", "--template", "vgg11", "--weights-file", str(r18_file),
                 "--classes", "3", "-o", str(tmp_path / "x.json")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {r18_file} does not fit this network: missing key 'features.0.weight' "
        f"(node conv1_1)")


def test_published_weights_are_named_and_fetched_only_on_request(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    out = tmp_path / "r.json"
    assert main(["finetune", "--template", "resnet18", "--weights", "DEFAULT",
                 "--classes", "4", "-o", str(out)]) == 0
    assert f"{R18} is not downloaded yet: run again with --download" in \
        capsys.readouterr().out
    assert json.loads(out.read_text())["training"]["pretrained"] == {"published": R18,
                                                                      "keep": ["fc"]}
    assert not (tmp_path / "hub").exists()  # nothing was fetched
    assert main(["train", str(out), "--epochs", "1"]) == 1
    assert "are not downloaded yet" in capsys.readouterr().err


def test_info_counts_frozen_layers_as_not_trainable(r18_file: Path, tmp_path: Path,
                                                    capsys) -> None:
    out = tmp_path / "ft.json"
    assert main(["finetune", "--template", "resnet18", "--weights-file", str(r18_file),
                 "--classes", "3", "--freeze", "all", "--no-preprocess", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    head = 512 * 3 + 3
    assert (report["params"], report["trainable_params"]) == (11_176_512 + head, head)
    assert report["input_shape"] == [3, 32, 32]  # --no-preprocess keeps the Input


def test_squeezenets_convolution_head_is_replaced_and_trained_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """SqueezeNet's classifier is a 1×1 convolution (classifier.1), not a Linear."""
    torch.manual_seed(0)
    weights = tmp_path / "squeezenet1_1.pth"
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), weights)
    imported = tmp_path / "squeeze.json"
    assert main(["import", "--torchvision", "squeezenet1_1", "--input-shape", "3,64,64",
                 "-o", str(imported)]) == 0
    out = tmp_path / "ft.json"
    assert main(["finetune", str(imported), "--weights-file", str(weights), "--data",
                 str(image_folder(tmp_path / "pets")), "--freeze", "all", "--no-preprocess",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "head: classifier_1 -> 2 classes, freshly initialised" in printed
    assert "frozen: features" in printed
    project = json.loads(out.read_text())
    head = next(n for n in project["network"]["nodes"] if n["name"] == "classifier_1")
    assert head["params"]["out_channels"] == 2
    project["data"]["train_transforms"] = [{"type": "Resize", "size": [64, 64]}]
    project["data"]["eval_transforms"] = [{"type": "Resize", "size": [64, 64]}]
    out.write_text(json.dumps(project))
    runs = tmp_path / "runs"
    assert main(["train", str(out), "--epochs", "1", "--out", str(runs), "--json"]) == 0
    trained = torch.load(runs / "last.pt", weights_only=True)["model"]
    loaded = torch.load(weights, weights_only=True)
    changed = sorted(k for k in trained if not torch.equal(trained[k], loaded[k]))
    assert changed == ["classifier.1.bias", "classifier.1.weight"]  # 2 classes, 1000 in the file
    assert trained["classifier.1.weight"].shape == (2, 512, 1, 1)
