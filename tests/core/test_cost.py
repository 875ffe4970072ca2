"""MACs by formula (app.core.cost) against torchinfo's mult-adds and torch's FlopCounterMode."""

from __future__ import annotations

import pytest
import torch
import torchinfo
from torch.utils.flop_counter import FlopCounterMode

from app.core.catalogue import CATALOGUE, spec_for
from app.core.compiler import compile_document, example_inputs
from app.core.cost import format_macs, has_mac_rule, layer_macs, layer_table, node_macs
from app.core.graph import NetworkDocument, module_path
from app.core.shapes import infer_shapes
from app.core.templates import TEMPLATES, build_template

# Where our convention departs from torchinfo's (see app/core/cost.py): torchinfo counts a
# normalisation layer's or an embedding's parameters once per sample.
COUNTS_PARAMETERS_IN_TORCHINFO = {"BatchNorm1d", "BatchNorm2d", "InstanceNorm2d", "GroupNorm",
                                  "LayerNorm", "Embedding"}


def _torchinfo_macs(doc: NetworkDocument) -> tuple[int, dict[str, int]]:
    """torchinfo's total mult-adds for one sample and its count per module path."""
    results = infer_shapes(doc)
    with torch.device("meta"):
        model = compile_document(doc, results)
    inputs = [x.to("meta") for x in example_inputs(doc, batch=1)]
    summary = torchinfo.summary(model, input_data=inputs, verbose=0, device="meta", depth=100)
    paths = {id(module): path for path, module in model.named_modules()}
    return summary.total_mult_adds, {paths[id(layer.module)]: layer.macs
                                     for layer in summary.summary_list}


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_every_layer_matches_torchinfo(template_id: str) -> None:
    doc = build_template(template_id)
    results = infer_shapes(doc)
    total, by_path = _torchinfo_macs(doc)
    rows = layer_table(doc, results)
    for row in rows:
        theirs = by_path.get(module_path(doc.node(row.name)), 0)
        if row.type in COUNTS_PARAMETERS_IN_TORCHINFO:
            assert theirs == row.params, row.name
            expected = 0 if row.type == "Embedding" else int(torch.Size(row.output_shape)
                                                               .numel())
            assert row.macs == expected, row.name
        else:
            assert row.macs == theirs, f"{row.name} ({row.type}): {row.macs} vs {theirs}"
    differing = sum(row.macs - by_path.get(module_path(doc.node(row.name)), 0) for row in rows
                    if row.type in COUNTS_PARAMETERS_IN_TORCHINFO)
    assert sum(row.macs for row in rows) == total + differing


def test_known_totals() -> None:
    """Hand-checked: LeNet-5 conv1 is 6·28·28 positions × (25 weights + 1 bias)."""
    doc = build_template("lenet5")
    results = infer_shapes(doc)
    assert node_macs(doc, results, "conv1") == 6 * 28 * 28 * 26
    assert sum(row.macs for row in layer_table(doc, results)) == 423_038
    resnet = build_template("resnet18", num_classes=1000, input_size=224)
    # torchinfo's 1.81 G for torchvision's resnet18 plus one MAC per batch-norm element
    assert sum(row.macs for row in layer_table(resnet, infer_shapes(resnet))) == 1_816_558_056


def _flops(module: torch.nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("given", [
    {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "groups": 2,
     "bias": False},
    {"in_channels": 3, "out_channels": 5, "kernel_size": [2, 4], "padding": 1, "bias": True},
])
def test_transposed_convolution_counts_input_positions_like_torch(given) -> None:
    spec = spec_for("ConvTranspose2d")
    resolved = {**spec.defaults(), **given}
    module = spec.build(resolved)
    x = torch.randn(1, given["in_channels"], 7, 9)
    out = module(x)
    bias = out.numel() if given["bias"] else 0
    macs = layer_macs("ConvTranspose2d", [tuple(x.shape[1:])], tuple(out.shape[1:]), resolved)
    assert macs - bias == _flops(module, x) // 2


def test_linear_on_a_sequence_counts_every_position() -> None:
    resolved = {"in_features": 8, "out_features": 3, "bias": True}
    module = spec_for("Linear").build(resolved)
    x = torch.randn(1, 5, 8)
    macs = layer_macs("Linear", [(5, 8)], (5, 3), resolved)
    assert macs == 5 * 8 * 3 + 5 * 3
    assert macs - 5 * 3 == _flops(module, x) // 2


def test_recurrent_layers_use_every_weight_once_per_step() -> None:
    resolved = {**spec_for("LSTM").defaults(), "input_size": 5, "hidden_size": 7,
                "num_layers": 2, "bidirectional": True}
    assert layer_macs("LSTM", [(11, 5)], (14,), resolved) == 11 * spec_for("LSTM").count(resolved)


def test_every_catalogue_layer_has_a_rule() -> None:
    assert [t for t in CATALOGUE if not has_mac_rule(t)] == []
    assert layer_macs("ReLU", [(4, 5)], (4, 5), {}) == 0
    assert layer_macs("MaxPool2d", [(4, 8, 8)], (4, 4, 4), {}) == 0


def test_unknown_shapes_give_no_count() -> None:
    doc = build_template("mlp")
    results = infer_shapes(doc)
    assert node_macs(doc, results, "fc3") == 256 * 128 + 128
    doc.disconnect(doc.incoming("fc3")["in"])
    assert node_macs(doc, infer_shapes(doc), "fc3") is None
    assert node_macs(doc, results, "fc3") is None  # results from before the edit


def test_format_macs() -> None:
    assert [format_macs(n) for n in (0, 999, 1_500, 423_038, 1_816_558_056)] == [
        "0", "999", "1.50 K", "423.04 K", "1.82 G"]
