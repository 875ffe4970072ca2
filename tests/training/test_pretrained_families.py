"""Pretrained weights beyond ResNet: GoogLeNet's and Inception v3's input transform, the
weights' preprocessing for the transformer families, and fine-tuning heads that are no
plain last Linear (SqueezeNet's 1×1 convolution, ViT's heads.head, MaxViT's classifier.5).
Every weights file is written by the test; nothing downloads."""

from __future__ import annotations

import inspect
import urllib.request
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2

from app.core.compiler import compile_document
from app.core.importer import import_torchvision
from app.core.project import Project
from app.data.augment import build_pipeline
from app.training import pretrained as pt
from app.training.setup import seed_everything
from tests.training.finetune_runs import finetune_one_epoch, image_folder

GOOGLENET = "GoogLeNet_Weights.IMAGENET1K_V1"
INCEPTION = "Inception_V3_Weights.IMAGENET1K_V1"


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights' transforms are metadata: reading them must not fetch anything."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to download")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def photo(height: int = 300, width: int = 413, seed: int = 1) -> Image.Image:
    pixels = torch.randint(0, 256, (height, width, 3), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(seed))
    return Image.fromarray(pixels.numpy())


def imported_project(name: str, shape: tuple[int, int, int]) -> Project:
    result = import_torchvision(name, shape)
    return Project(result.doc, name=result.title)


def calibrated(model: torch.nn.Module, size: int) -> torch.nn.Module:
    """Batch-norm statistics measured on unit-variance inputs, as a trained network's are:
    every layer passes a signal on, so the input's scale shows in the outputs."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batch
    with torch.no_grad():
        model.train()(torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(2)))
    return model.eval()


# -- GoogLeNet and Inception v3: torchvision's transform_input ----------------------------

@pytest.mark.parametrize(("name", "weights", "size"), [("googlenet", GOOGLENET, 224),
                                                       ("inception_v3", INCEPTION, 299)])
def test_transform_input_weights_give_torchvisions_outputs(name: str, weights: str, size: int,
                                                           tmp_path: Path) -> None:
    """torchvision gives these weights to a model with transform_input=True, fed by the
    weights' ImageNet-normalising transforms; the app's network, fed by the Data pipeline
    the fine-tuning plan sets, gives the same outputs."""
    torch.manual_seed(0)
    original = calibrated(torchvision.models.get_model(
        name, weights=None, aux_logits=True, transform_input=True, init_weights=False), size)
    path = tmp_path / f"{name}.pth"
    torch.save(original.state_dict(), path)  # with the auxiliary heads, as published
    project = imported_project(name, (3, 96, 96) if name == "googlenet" else (3, 299, 299))
    pt.apply_plan(project, pt.plan_finetune(project, pt.FineTune(file=str(path),
                                                                 preprocess=weights)))
    model = compile_document(project.network)
    pt.load_weights(project.network, model, project.training["pretrained"])
    model.eval()
    steps = project.data["eval_transforms"]
    assert steps[-1]["mean"] == steps[-1]["std"] == [0.5, 0.5, 0.5]
    assert project.network.node("input").params["shape"] == [3, size, size]

    image = photo()
    theirs_tf = pt.weights_entry(weights).transforms()
    # The pipeline resizes and crops as torchvision does; only the normalisation differs.
    ours_in, theirs_in = build_pipeline(steps)(image), theirs_tf(image)
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in (theirs_tf.mean, theirs_tf.std))
    torch.testing.assert_close(ours_in * 0.5 + 0.5, theirs_in * std + mean, rtol=0,
                               atol=1e-6)
    # The same [0, 1] image through both normalisations and both networks, in float64 so
    # that float32 rounding of the inputs (amplified by a random network) does not hide
    # what is compared: the fold itself.
    pixels = build_pipeline(steps[:-1])(image).double()
    ours_x = v2.Normalize(steps[-1]["mean"], steps[-1]["std"])(pixels).unsqueeze(0)
    theirs_x = v2.Normalize(theirs_tf.mean, theirs_tf.std)(pixels).unsqueeze(0)
    with torch.no_grad():
        ours, theirs = model.double()(ours_x), original.double()(theirs_x)
        unfolded = model(theirs_x)  # the weights' own normalisation, no transform_input
    assert ours.shape == (1, 1000)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    assert (unfolded - theirs).abs().max() > 1.0  # without the fold the outputs differ


def test_the_transform_input_weights_are_those_whose_builder_sets_it() -> None:
    """TRANSFORM_INPUT lists every torchvision classification model whose builder turns
    transform_input on with its weights (read from the builders' source)."""
    turned_on = set()
    for name in torchvision.models.list_models(module=torchvision.models):
        if '"transform_input", True' in inspect.getsource(
                torchvision.models.get_model_builder(name)):
            turned_on.add(torchvision.models.get_model_weights(name).__name__)
    assert turned_on == pt.TRANSFORM_INPUT
    assert pt.preprocessing(GOOGLENET).note.startswith("torchvision's model for these")
    assert pt.preprocessing("ResNet18_Weights.IMAGENET1K_V1").note == ""


# -- the transformer families' preprocessing ----------------------------------------------

@pytest.mark.parametrize(("weights", "resize", "crop", "interpolation"), [
    ("ViT_B_16_Weights.IMAGENET1K_V1", 256, 224, "bilinear"),
    ("Swin_V2_T_Weights.IMAGENET1K_V1", 260, 256, "bicubic"),
    ("MaxVit_T_Weights.IMAGENET1K_V1", 224, 224, "bicubic"),
    ("ConvNeXt_Tiny_Weights.IMAGENET1K_V1", 236, 224, "bilinear")])
def test_transformer_weights_preprocessing_becomes_the_data_pipeline(
        weights: str, resize: int, crop: int, interpolation: str) -> None:
    prep = pt.preprocessing(weights)
    assert (prep.resize, prep.crop, prep.interpolation) == (resize, crop, interpolation)
    assert prep.mean == pytest.approx([0.485, 0.456, 0.406])
    assert prep.std == pytest.approx([0.229, 0.224, 0.225])
    image = photo()
    ours = build_pipeline(prep.steps())(image)
    theirs = pt.weights_entry(weights).transforms()(image)
    assert ours.shape == (3, crop, crop)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_swin_v2_planned_for_its_weights_takes_256_and_gives_torchvisions_outputs(
        tmp_path: Path) -> None:
    """Swin V2's weights want 256 × 256 inputs; the network imported at 224 takes them."""
    torch.manual_seed(0)
    original = torchvision.models.swin_v2_t(weights=None).eval()
    path = tmp_path / "swin_v2_t.pth"
    torch.save(original.state_dict(), path)
    project = imported_project("swin_v2_t", (3, 224, 224))
    pt.apply_plan(project, pt.plan_finetune(project, pt.FineTune(
        file=str(path), preprocess="Swin_V2_T_Weights.IMAGENET1K_V1")))
    assert project.network.node("input").params["shape"] == [3, 256, 256]
    model = compile_document(project.network)
    pt.load_weights(project.network, model, project.training["pretrained"])
    x = build_pipeline(project.data["eval_transforms"])(photo()).unsqueeze(0)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), original(x), rtol=0, atol=1e-5)


def test_weights_wanting_an_input_the_network_cannot_take_are_refused() -> None:
    """ViT's SWAG weights want 384 × 384; a ViT traced at 224 cannot take it."""
    project = imported_project("vit_b_16", (3, 224, 224))
    with pytest.raises(pt.PretrainedError, match=(
            r"^the network cannot take these edits \(heads_head\.out_features = 3, "
            r"input\.shape = \[3, 384, 384\]\): node \w+: ")):
        pt.plan_finetune(project, pt.FineTune(
            published="ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1", num_classes=3))


# -- fine-tuning heads -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "shape", "head", "width"), [
    ("squeezenet1_1", (3, 64, 64), "classifier_1", "out_channels"),
    ("convnext_tiny", (3, 64, 64), "classifier_2", "out_features"),
    ("vit_b_16", (3, 224, 224), "heads_head", "out_features"),
    ("swin_t", (3, 64, 64), "head", "out_features"),
    ("maxvit_t", (3, 224, 224), "classifier_5", "out_features")])
def test_the_head_is_found_for_each_family(name: str, shape: tuple[int, int, int], head: str,
                                          width: str) -> None:
    project = imported_project(name, shape)
    doc = project.network
    assert pt.head_layer(doc) == head
    assert pt.head_width(doc, head) == width
    assert head in pt.freeze_units(doc) and head not in pt.all_but_head(doc)
    plan = pt.plan_finetune(project, pt.FineTune(file="w.pth", num_classes=7,
                                                 freeze=pt.all_but_head(doc)))
    assert plan.params == {head: {width: 7}}
    assert plan.training["pretrained"]["keep"] == [head]
    pt.apply_plan(project, plan)
    with torch.no_grad():
        out = compile_document(doc).eval()(torch.randn(2, *shape))
    assert out.shape == (2, 7)


@pytest.mark.parametrize(("name", "head"), [("squeezenet1_1", "classifier.1"),
                                            ("swin_t", "head")])
def test_finetune_to_three_classes_trains_only_the_head(name: str, head: str,
                                                        tmp_path: Path) -> None:
    """All but the head frozen: a few steps change the head's weights and nothing else."""
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    path = tmp_path / f"{name}.pth"
    torch.save(original.state_dict(), path)
    project = imported_project(name, (3, 64, 64))
    trainer, _ = finetune_one_epoch(project, path, image_folder(tmp_path / "images", 64))
    doc = project.network
    after = trainer.model.state_dict()
    loaded = original.state_dict()
    assert set(after) == set(loaded)
    heads = {k for k in after if k.startswith(f"{head}.")}
    assert heads == {f"{head}.weight", f"{head}.bias"}
    for key, tensor in after.items():
        if key not in heads:
            assert torch.equal(tensor, loaded[key]), key
    assert after[f"{head}.weight"].shape[0] == 3
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert sorted(trainable) == sorted(heads)
    seed_everything(0)  # the run's seed: the head it started from
    start = compile_document(doc).state_dict()
    for key in heads:
        assert not torch.equal(after[key], start[key]), key
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.05]  # no scheduler
    with torch.no_grad():
        out = trainer.model.eval()(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 3)
