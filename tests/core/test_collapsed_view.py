"""The collapsed-block view in the core (no Qt): which layers a collapsed block hides, what
its node says, and how its rows fold away; the network itself never changes."""

from __future__ import annotations

from app.core.grouping import block_summary, boundary, collapsed_members, enclosing_blocks
from app.core.layout import Fold
from app.core.project import project_from_json, to_json
from app.core.shapes import infer_shapes
from app.core.templates import get_template


def test_fold_moves_rows_below_a_collapsed_span_up() -> None:
    fold = Fold([(550.0, 1980.0), (2090.0, 3740.0)])
    assert [fold(y) for y in (0, 550, 1100, 1980, 2090, 3000, 3740, 3850)] == [
        0, 550, 550, 550, 660, 660, 660, 770]
    assert Fold([(10.0, 50.0), (30.0, 90.0)]).spans == [(10.0, 90.0)]  # overlapping: merged
    assert not Fold() and Fold()(123.0) == 123.0


def test_outermost_collapsed_block_hides_its_layers() -> None:
    doc = get_template("resnet18").project().network
    assert enclosing_blocks(doc, "layer2_0_downsample_0") == ["layer2", "layer2.0",
                                                              "layer2.0.downsample"]
    members = collapsed_members(doc, ["layer2", "layer2.0", "gone"])
    assert list(members) == ["layer2"] and len(members["layer2"]) == 16
    inner = collapsed_members(doc, ["layer2.0"])
    assert inner["layer2.0"][0] == "layer2_0_conv1" and len(inner["layer2.0"]) == 9


def test_block_summary_counts_parameters_as_torchvision() -> None:
    doc = get_template("resnet18").project().network
    results = infer_shapes(doc)
    members = collapsed_members(doc, ["layer1", "layer2", "layer3", "layer4"])
    summaries = {b: block_summary(doc, results, m) for b, m in members.items()}
    # sum(p.numel() for p in torchvision.models.resnet18().layerN.parameters())
    assert [s.params for s in summaries.values()] == [147968, 525568, 2099712, 8393728]
    assert summaries["layer2"].in_shapes == ((64, 8, 8),)
    assert summaries["layer2"].out_shapes == ((128, 4, 4),)
    edge = boundary(doc, members["layer1"])
    # one outside output feeds the block twice (main path and shortcut)
    assert edge.inputs == ((("maxpool", "out"), (("layer1_0_conv1", "in"),
                                                 ("layer1_0_add", "in2"))),)
    assert edge.outputs == (("layer1_1_relu2", "out"),)


def test_collapsed_list_round_trips_and_leaves_the_network_alone() -> None:
    project = get_template("resnet18").project()
    assert project.canvas == {"collapsed": ["layer1", "layer2", "layer3", "layer4"]}
    network = project.network.to_dict()
    project.canvas["collapsed"] = ["layer2"]
    again = project_from_json(to_json(project))
    assert again.canvas == {"collapsed": ["layer2"]}
    assert again.network.to_dict() == network


def test_imported_networks_open_collapsed_one_level_into_a_single_container() -> None:
    from app.core.grouping import opening_canvas, opening_collapsed
    from app.core.importer import import_torchvision

    template = get_template("resnet18").project()
    assert opening_canvas(template.network) == template.canvas  # as the template opens
    dense = import_torchvision("densenet121", (3, 64, 64)).doc
    assert opening_collapsed(dense) == [
        "features.denseblock1", "features.transition1", "features.denseblock2",
        "features.transition2", "features.denseblock3", "features.transition3",
        "features.denseblock4"]
    members = collapsed_members(dense, opening_collapsed(dense))
    assert len(dense.nodes) - sum(map(len, members.values())) + len(members) == 18
    assert opening_canvas(import_torchvision("alexnet", (3, 64, 64)).doc) == {}  # 24 layers
