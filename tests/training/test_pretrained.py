"""Pretrained weights and fine-tuning, with state_dict files the tests write (no downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from app.core.compiler import compile_document
from app.core.importer import import_torchvision
from app.core.templates import build_template, get_template
from app.data.augment import build_pipeline
from app.training import pretrained as pt
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.setup import seed_everything
from app.training.trainer import Trainer
from app.training.weights import WeightsError, compile_with, read_state_dict
from tests.training.finetune_runs import finetune_one_epoch, image_folder

R18 = "ResNet18_Weights.IMAGENET1K_V1"


def tv_resnet18(seed: int = 0) -> torch.nn.Module:
    """torchvision's ResNet-18 with random weights and batch-norm statistics (so a
    buffer that failed to load would change the outputs)."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(weights=None)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def r18_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(tv_resnet18().state_dict(), path)
    return path


def test_template_with_a_local_state_dict_gives_torchvision_outputs(r18_file: Path) -> None:
    doc = build_template("resnet18", input_size=64)
    model = compile_with(doc, read_state_dict(r18_file), "resnet18.pth").eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), tv_resnet18()(x), rtol=0, atol=1e-5)


def test_an_imported_torchvision_network_loads_the_same_file(r18_file: Path) -> None:
    doc = import_torchvision("resnet18", (3, 64, 64)).doc
    model = compile_with(doc, read_state_dict(r18_file), "resnet18.pth").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), tv_resnet18()(x), rtol=0, atol=1e-5)


def test_a_mismatch_names_the_first_key_and_its_node(r18_file: Path, tmp_path: Path) -> None:
    doc = build_template("resnet18", input_size=64)
    state = read_state_dict(r18_file)
    missing = {k: v for k, v in state.items() if k != "layer1.0.conv1.weight"}
    with pytest.raises(WeightsError, match=r"^f.pth does not fit this network: missing key "
                                           r"'layer1\.0\.conv1\.weight' \(node layer1_0_conv1\)$"):
        compile_with(doc, missing, "f.pth")
    with pytest.raises(WeightsError, match=r"unexpected key 'extra\.weight' \(no layer at "
                                           r"'extra'\)"):
        compile_with(doc, state | {"extra.weight": torch.zeros(1)}, "f.pth")
    ten = build_template("resnet18", input_size=64, num_classes=10)
    with pytest.raises(WeightsError, match=r"key 'fc\.weight' \(node fc\) is 1000×512 in "
                                           r"the file but 10×512 in the network"):
        compile_with(ten, state, "f.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match=r"^weights file .*bad\.pth: cannot be loaded"):
        read_state_dict(bad)


def test_published_weights_preprocessing_becomes_the_data_pipeline() -> None:
    prep = pt.preprocessing(R18)
    assert (prep.resize, prep.crop, prep.interpolation) == (256, 224, "bilinear")
    assert prep.mean == pytest.approx([0.485, 0.456, 0.406])
    assert prep.std == pytest.approx([0.229, 0.224, 0.225])
    assert prep.input_shape() == [3, 224, 224]
    image = Image.fromarray(torch.randint(0, 256, (300, 400, 3), dtype=torch.uint8,
                                          generator=torch.Generator().manual_seed(1)).numpy())
    ours = build_pipeline(prep.steps())(image)
    theirs = pt.weights_entry(R18).transforms()(image)
    assert ours.shape == (3, 224, 224)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_published_names_cache_and_architectures() -> None:
    assert pt.published_weights("resnet18") == [R18]
    assert pt.published_weights("resnet50")[0] == "ResNet50_Weights.IMAGENET1K_V2"
    assert pt.architecture_of("resnet18") == "resnet18"
    assert pt.architecture_of(get_template("resnet18").title) == "resnet18"
    assert pt.architecture_of("LeNet-5 (LeCun et al., 1998)") is None
    assert pt.cache_path(R18) == Path(torch.hub.get_dir()) / "checkpoints" / \
        "resnet18-f37072fd.pth"
    with pytest.raises(pt.PretrainedError, match="unknown published weights 'Nope.X'"):
        pt.weights_entry("Nope.X")


def test_download_fills_torch_hub_cache_with_progress(tmp_path: Path, r18_file: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A file:// URL stands in for download.pytorch.org: nothing leaves the machine."""
    import hashlib

    digest = hashlib.sha256(r18_file.read_bytes()).hexdigest()
    source = tmp_path / f"resnet18-{digest[:8]}.pth"
    source.write_bytes(r18_file.read_bytes())
    entry = pt.weights_entry(R18)
    monkeypatch.setattr(type(entry), "url", property(lambda self: source.as_uri()))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(pt.PretrainedError, match="are not downloaded yet"):
        pt.weights_file({"published": R18})
    seen: list[tuple[int, int]] = []
    path = pt.download(R18, lambda done, total: seen.append((done, total)) is None)
    assert path == tmp_path / "hub" / "checkpoints" / source.name
    assert path.read_bytes() == r18_file.read_bytes()
    assert seen[-1] == (source.stat().st_size, source.stat().st_size)
    assert pt.weights_file({"published": R18}) == path
    path.unlink()
    with pytest.raises(pt.PretrainedError, match="cancelled"):
        pt.download(R18, lambda done, total: False)
    assert not any((tmp_path / "hub" / "checkpoints").iterdir())
    source.write_bytes(b"tampered" + r18_file.read_bytes())
    with pytest.raises(pt.PretrainedError, match="damaged"):
        pt.download(R18)


def test_freeze_units_and_plan_for_resnet18(r18_file: Path) -> None:
    project = get_template("resnet18").project()
    doc = project.network
    assert pt.freeze_units(doc) == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4",
                                    "fc"]
    choice = pt.FineTune(file=str(r18_file), num_classes=3, freeze=pt.all_but_head(doc),
                         head_lr=0.01, preprocess=R18)
    plan = pt.plan_finetune(project, choice)
    assert plan.head == "fc"
    assert plan.params == {"fc": {"out_features": 3}, "image": {"shape": [3, 224, 224]}}
    assert plan.training["pretrained"] == {"file": str(r18_file), "keep": ["fc"]}
    assert plan.training["freeze"] == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"]
    assert plan.training["layer_lr"] == {"fc": 0.01}
    assert plan.data["eval_transforms"][-1]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert TrainConfig.from_dict(plan.training).pretrained == {"file": str(r18_file),
                                                                "keep": ["fc"]}
    with pytest.raises(pt.PretrainedError, match="'fc' holds the new head 'fc'"):
        pt.plan_finetune(project, pt.FineTune(file="x.pth", num_classes=3, freeze=["fc"]))
    with pytest.raises(pt.PretrainedError, match="no layer or block named 'layer9'"):
        pt.plan_finetune(project, pt.FineTune(file="x.pth", freeze=["layer9"]))


def test_vgg_head_block_is_split_so_all_but_the_head_can_freeze() -> None:
    doc = build_template("vgg11", num_classes=10, input_size=32)
    assert pt.freeze_units(doc) == ["features", "fc1", "fc2", "fc3"]
    assert pt.head_layer(doc) == "fc3"
    assert pt.all_but_head(doc) == ["features", "fc1", "fc2"]


def test_finetune_trains_only_the_new_head(r18_file: Path, tmp_path: Path) -> None:
    project = get_template("resnet18").project()  # 3×32×32, as the images
    trainer, result = finetune_one_epoch(project, r18_file, image_folder(tmp_path / "images"))
    doc = project.network
    after = trainer.model.state_dict()
    loaded = tv_resnet18().state_dict()
    assert set(after) == set(loaded)
    for key, tensor in after.items():
        if key.startswith("fc."):
            continue
        assert torch.equal(tensor, loaded[key]), key  # weights and batch-norm statistics
    assert after["fc.weight"].shape == (3, 512)
    seed_everything(0)  # the run's seed: the head it started from
    start = compile_document(doc).state_dict()
    assert not torch.equal(after["fc.weight"], start["fc.weight"])
    assert not torch.equal(after["fc.bias"], start["fc.bias"])
    assert [g["initial_lr"] for g in trainer.optimizer.param_groups] == [0.05]  # cosine
    assert result.metrics["train_loss"] > 0


def test_every_load_error_is_one_line_naming_the_file_and_the_first_mismatch(
        r18_file: Path, tmp_path: Path) -> None:
    ten = build_template("resnet18", input_size=64, num_classes=10)  # 10 classes, file 1000
    with pytest.raises(pt.PretrainedError) as classes:
        pt.load_pretrained(ten, compile_document(ten), {"file": str(r18_file), "keep": []})
    assert str(classes.value) == (
        f"training.pretrained: {r18_file} does not fit this network: key 'fc.weight' "
        f"(node fc) is 1000×512 in the file but 10×512 in the network; fc is the classifier "
        f"head: to train it for your classes, replace it (File > Fine-tune Pretrained…, or "
        f"`finetune --classes N`)")
    pt.load_pretrained(ten, compile_document(ten), {"file": str(r18_file), "keep": ["fc"]})
    gone = tmp_path / "gone.pth"
    with pytest.raises(pt.PretrainedError) as missing:
        pt.load_pretrained(ten, compile_document(ten), {"file": str(gone), "keep": []})
    assert str(missing.value) == f"training.pretrained: weights file {gone}: no such file"
    dense = import_torchvision("densenet121", (3, 64, 64)).doc
    with pytest.raises(pt.PretrainedError) as wrong:
        pt.load_weights(dense, compile_document(dense), {"file": str(r18_file), "keep": []})
    assert str(wrong.value) == (f"{r18_file} does not fit this network: missing key "
                                f"'features.conv0.weight' (node features_conv0)")
    for error in (classes, missing, wrong):
        assert "\n" not in str(error.value)


def test_a_run_that_cannot_load_its_weights_fails_in_one_line(r18_file: Path,
                                                              tmp_path: Path) -> None:
    project = get_template("resnet18").project(num_classes=10)
    project.data = {"source": "image_folder", "params": {"root": str(image_folder(
        tmp_path / "images"))}}
    project.training |= {"epochs": 1, "device": "cpu", "probes": {"enabled": False},
                         "pretrained": {"file": str(r18_file)}}
    result = Trainer(project.network, load_data(project.data),
                     TrainConfig.from_dict(project.training)).run()
    assert not isinstance(result, RunFinished)
    assert result.reason.startswith(f"training.pretrained: {r18_file} does not fit this "
                                    f"network: key 'fc.weight' (node fc) is 1000×512")
    assert "\n" not in result.reason
