"""A generated train script of a fine-tuning project loads the pretrained weights as the app
does (torchvision's file formats, strict except the new head), freezes what the project
freezes and gives the head its own learning rate. Weights files are written by the tests."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
import torchvision
from PIL import Image

from app.core.codegen import generate_code
from app.core.compiler import compile_document
from app.core.importer import import_torchvision
from app.core.project import Project
from app.core.templates import get_template
from app.training import pretrained as pt
from app.training.data import load_data
from app.training.script import ScriptError, generate_train_script

RUFF = Path(sys.executable).with_name("ruff")
R18 = "ResNet18_Weights.IMAGENET1K_V1"


def images(root: Path) -> Path:
    g = torch.Generator().manual_seed(0)
    for name in ("cat", "dog", "owl"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = torch.randint(0, 256, (36, 36, 3), dtype=torch.uint8, generator=g)
            Image.fromarray(pixels.numpy()).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def r18_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
    torch.save(model.state_dict(), path)
    return path


def finetune_project(tmp_path: Path, choice: pt.FineTune, project: Project | None = None,
                     **training: object) -> Project:
    project = project or get_template("resnet18").project()  # 3×32×32 input
    project.data = {"source": "image_folder", "params": {"root": str(images(
        tmp_path / "images"))}, "split": {"val_fraction": 0.25}}
    pt.apply_plan(project, pt.plan_finetune(project, choice))
    project.training |= training
    return project


def export(tmp_path: Path, project: Project) -> ModuleType:
    """Write model.py and train.py; the script imported as a module (main() not run)."""
    (tmp_path / "model.py").write_text(generate_code(project.network, project.name))
    (tmp_path / "train.py").write_text(generate_train_script(project, "model"))
    script, model = (_load(tmp_path / f"{name}.py", f"{name}_{tmp_path.name}")
                     for name in ("train", "model"))
    script.build_model = model.build_model
    return script


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_script_loads_freezes_and_groups_as_the_app_does(r18_file: Path, tmp_path: Path) -> None:
    project = finetune_project(tmp_path, pt.FineTune(
        file=str(r18_file), num_classes=3, head_lr=0.01,
        freeze=pt.all_but_head(get_template("resnet18").project().network)))
    script = export(tmp_path, project)
    assert (script.PRETRAINED, script.KEEP, script.LAYER_LR) == (str(r18_file), ("fc",),
                                                                  {"fc": 0.01})
    assert script.FREEZE == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"]
    torch.manual_seed(0)
    model = script.fine_tune(script.build_model())
    app_model = compile_document(project.network)
    pt.load_weights(project.network, app_model, project.training["pretrained"])
    saved = torch.load(r18_file, weights_only=True)
    for key, tensor in model.state_dict().items():
        if key.startswith("fc."):
            assert tensor.shape[0] == 3  # the new head, freshly initialised
            continue
        assert torch.equal(tensor, saved[key]), key
        assert torch.equal(tensor, app_model.state_dict()[key]), key
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    model.train()
    assert not model.bn1.training and not model.layer4[1].bn2.training and model.fc.training
    groups = script.param_groups(model, script.layers_of(model), script.LAYER_LR)
    assert [(g.get("lr"), len(g["params"])) for g in groups] == [(0.01, 2)]
    if RUFF.exists():
        result = subprocess.run([str(RUFF), "check", "--isolated", "train.py"], cwd=tmp_path,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def test_script_reads_densenets_published_format(tmp_path: Path) -> None:
    """Old key names (`norm.1`) and no batch counters, as torchvision's DenseNet files."""
    torch.manual_seed(0)
    original = torchvision.models.densenet121(weights=None).eval()
    legacy = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|"
                        r"running_mean|running_var)$")
    path = tmp_path / "densenet121.pth"
    torch.save({legacy.sub(r"\1.\2.\3", k): v for k, v in original.state_dict().items()
                if not k.endswith("num_batches_tracked")}, path)
    result = import_torchvision("densenet121", (3, 64, 64))
    project = finetune_project(tmp_path, pt.FineTune(file=str(path), preprocess=None),
                               Project(result.doc, name=result.title))
    script = export(tmp_path, project)
    model = script.fine_tune(script.build_model()).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=1e-5)


def test_script_finds_published_weights_in_torchvisions_cache(
        r18_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = finetune_project(tmp_path, pt.FineTune(published=R18, num_classes=3,
                                                     preprocess=None))
    text = generate_train_script(project, "model")
    assert ('PRETRAINED = os.path.join(torch.hub.get_dir(), "checkpoints", '
            '\'resnet18-f37072fd.pth\')') in text
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(r18_file.read_bytes())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    script = export(tmp_path, project)
    model = script.fine_tune(script.build_model())
    saved = torch.load(r18_file, weights_only=True)
    assert torch.equal(model.state_dict()["layer3.1.conv2.weight"], saved["layer3.1.conv2.weight"])
    assert not any(p.requires_grad is False for p in model.parameters())  # nothing frozen


def test_script_refuses_a_file_that_does_not_fit_in_one_line(r18_file: Path,
                                                             tmp_path: Path) -> None:
    project = finetune_project(tmp_path, pt.FineTune(file=str(r18_file), num_classes=3))
    project.training["pretrained"]["keep"] = []  # the 3-class head is loaded too
    script = export(tmp_path, project)
    with pytest.raises(SystemExit, match=rf"^{re.escape(str(r18_file))} does not fit this "
                                         r"network: key 'fc\.weight' is 1000×512 in the file "
                                         r"but 3×512 in the network$"):
        script.fine_tune(script.build_model())
    script.PRETRAINED = str(tmp_path / "gone.pth")
    with pytest.raises(SystemExit, match=r"^pretrained weights .*gone\.pth: no such file$"):
        script.fine_tune(script.build_model())
    project.training["freeze"] = ["layer9"]
    with pytest.raises(ScriptError, match=r"^training\.freeze: no layer or block named "
                                          r"'layer9'$"):
        generate_train_script(project, "model")


def test_script_trains_only_the_new_head(r18_file: Path, tmp_path: Path) -> None:
    project = finetune_project(tmp_path, pt.FineTune(
        file=str(r18_file), num_classes=3, head_lr=0.05,
        freeze=pt.all_but_head(get_template("resnet18").project().network)),
        epochs=1, batch_size=3)
    export(tmp_path, project)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=False,
                            env=env | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    trained = torch.load(tmp_path / "model.pt", weights_only=True)
    saved = torch.load(r18_file, weights_only=True)
    changed = sorted(k for k in trained if not torch.equal(trained[k], saved[k])
                     or k.startswith("fc."))
    assert changed == ["fc.bias", "fc.weight"]  # batch-norm statistics included


def test_script_normalises_googlenet_inputs_as_the_app_does(tmp_path: Path) -> None:
    """GoogLeNet's published weights expect torchvision's transform_input, which the plan
    folds into Normalize (mean 0.5, std 0.5): the script's data pipeline gives the tensors
    the app's gives."""
    torch.manual_seed(0)
    path = tmp_path / "googlenet.pth"
    torch.save(torchvision.models.googlenet(weights=None, aux_logits=True,
                                            init_weights=False).state_dict(), path)
    result = import_torchvision("googlenet", (3, 96, 96))
    project = finetune_project(tmp_path, pt.FineTune(
        file=str(path), num_classes=3, preprocess="GoogLeNet_Weights.IMAGENET1K_V1"),
        Project(result.doc, name=result.title))
    script = export(tmp_path, project)
    assert "v2.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])" in \
        (tmp_path / "train.py").read_text()
    _, val = script.load_data()
    app_val = load_data(project.data).val
    assert len(val) == len(app_val) == 3
    for i in range(len(val)):
        assert val[i][0].shape == (3, 224, 224)
        torch.testing.assert_close(val[i][0], app_val[i][0], rtol=0, atol=1e-6)
        assert val[i][1] == app_val[i][1]
    model = script.fine_tune(script.build_model()).eval()
    with torch.no_grad():
        assert model(torch.stack([val[i][0] for i in range(3)])).shape == (3, 3)
