"""Templates: every one compiles; the ImageNet classics are torchvision's, layer for layer."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from app.core.compiler import compile_document
from app.core.shapes import errors, infer_shapes, network_problems
from app.core.templates import TEMPLATES, build_template
from app.data.sources import load_source, source_ids

FILE_SOURCES = {"cifar10", "mnist", "fashion_mnist", "csv", "image_folder"}

TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544,
                      "resnet18": 11_689_512}


def meta_model(factory, *args, **kwargs) -> nn.Module:
    with torch.device("meta"):  # shapes only: full-size VGG-16 costs no memory or time
        return factory(*args, **kwargs)


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_is_valid_and_documented(template_id: str) -> None:
    template = TEMPLATES[template_id]
    doc = template.build()
    results = infer_shapes(doc)
    assert errors(network_problems(doc, results)) == []
    assert [p for p in network_problems(doc, results) if p.severity == "warning"] == []
    assert template.dataset in source_ids()
    assert template.title and template.description and template.teaches
    positions = [n.pos for n in doc.nodes]
    assert len(set(positions)) == len(positions), "two nodes drawn on top of each other"
    ends = [n for n in doc.nodes if n.type in ("Input", "Output")]
    assert all(n.pos[0] == 0.0 for n in ends), "main path runs down column 0"
    assert max(n.pos[1] for n in ends if n.type == "Output") == max(p[1] for p in positions)


@pytest.mark.parametrize("template_id", sorted(TORCHVISION_PARAMS))
def test_parameter_counts_equal_torchvision(template_id: str) -> None:
    ours = meta_model(compile_document, build_template(template_id))
    reference = meta_model(getattr(torchvision.models, template_id), weights=None)
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in reference.parameters())
    assert count == TORCHVISION_PARAMS[template_id]


def leaf_types(model: nn.Module) -> list[type]:
    return [type(m) for m in model.modules()
            if not list(m.children()) and not isinstance(m, nn.Identity)]


@pytest.mark.parametrize("template_id", ["alexnet", "vgg11", "vgg16"])
def test_chain_classics_have_torchvisions_layers_in_order(template_id: str) -> None:
    ours = meta_model(compile_document, build_template(template_id))
    reference = meta_model(getattr(torchvision.models, template_id), weights=None)
    # torchvision calls torch.flatten in forward(); the canvas has a Flatten node for it
    assert [t for t in leaf_types(ours) if t is not nn.Flatten] == leaf_types(reference)
    assert [name for name, _ in ours.named_children()] == [
        "features", "avgpool", "flatten", "classifier"]
    assert isinstance(ours.features, nn.Sequential)


# Small inputs keep the CPU test fast (AlexNet's stride-4 stem and three pools need 63+).
@pytest.mark.parametrize("template_id", sorted(TORCHVISION_PARAMS))
def test_classics_load_torchvisions_state_dict_as_it_is(template_id: str) -> None:
    torch.manual_seed(0)
    reference = getattr(torchvision.models, template_id)(weights=None).eval()
    model = compile_document(build_template(template_id, input_size=64)).eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_options_change_input_and_classes() -> None:
    doc = build_template("vgg16", num_classes=10, input_size=32)
    results = infer_shapes(doc)
    assert results["image"].shape == (3, 32, 32)
    assert results["logits"].shape == (10,)
    assert results["pool5"].shape == (512, 1, 1)
    assert TEMPLATES["vgg16"].options == {"num_classes": 1000, "input_size": 224,
                                          "in_channels": 3, "hidden": 4096, "pool_size": 7}
    with pytest.raises(KeyError, match="has no option 'depth'"):
        build_template("vgg16", depth=19)
    with pytest.raises(KeyError, match="unknown template 'vgg99'"):
        build_template("vgg99")


def test_lecture_networks_have_the_lecture_sizes() -> None:
    cnn = infer_shapes(build_template("mnist_cnn"))
    assert cnn["fc"].resolved["in_features"] == 320
    inception = infer_shapes(build_template("inception_mnist"))
    assert inception["incep1_cat"].shape == (88, 12, 12)
    assert inception["fc"].resolved["in_features"] == 1408
    mlp = build_template("mlp")
    widths = [n.params["out_features"] for n in mlp.nodes if n.type == "Linear"]
    assert widths == [512, 256, 128, 64, 10]


@pytest.mark.parametrize("template_id", ["rnn_classifier", "lstm_classifier",
                                         "gru_classifier"])
def test_sequence_classifiers_take_token_ids(template_id: str) -> None:
    doc = build_template(template_id, vocab_size=50, seq_len=20)
    tokens = doc.node("tokens")
    assert tokens.params == {"shape": [20], "dtype": "int64"}
    cell = next(n for n in doc.nodes if n.spec.category == "Recurrent")
    assert cell.params["output"] == "last"
    assert infer_shapes(doc)["logits"].shape == (2,)


def test_branches_sit_in_side_columns() -> None:
    doc = build_template("inception_mnist")
    columns = {doc.node(f"incep1_{b}").pos[0] for b in
               ("branch1x1", "branch5x5_1", "branch3x3_1", "branch_pool_avg")}
    assert len(columns) == 4
    assert doc.node("incep1_cat").pos[0] == 0.0
    resnet = build_template("resnet18")
    assert resnet.node("layer2_0_downsample_0").pos[0] > 0.0
    assert resnet.node("layer2_0_conv1").pos[0] == 0.0


@pytest.mark.parametrize("template_id", sorted(t.id for t in TEMPLATES.values()
                                               if t.dataset not in FILE_SOURCES))
def test_template_fits_its_default_offline_dataset(template_id: str) -> None:
    """Opening a template and pressing Train must work with no downloads."""
    template = TEMPLATES[template_id]
    project = template.project()
    bundle = load_source(project.data["source"], project.data.get("params"))
    doc = project.network
    inputs = [n for n in doc.nodes if n.type == "Input"]
    assert tuple(inputs[0].params["shape"]) == tuple(bundle.input_shape)
    assert inputs[0].params["dtype"] == bundle.input_dtype
    output = infer_shapes(doc)[next(n.name for n in doc.nodes if n.type == "Output")].shape
    if bundle.task == "classification" and template.task != "binary":
        assert output == (bundle.num_classes,)
    else:
        assert output == (1,)
