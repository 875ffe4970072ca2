"""Collapsible blocks (issue 13): a collapsed block is one node on the canvas, expanded and
collapsed in place with real mouse and keyboard input; collapsing is a saved view state,
never an edit of the network."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.core.project import load_project
from tests.ui.test_canvas import drag, drop_layer, view_point

STAGES = ["layer1", "layer2", "layer3", "layer4"]


def shown(window) -> list[str]:
    return sorted(item.name for item in window.scene.visible_items())


def double_click(window, scene_pos: QPointF) -> None:
    window.view.centerOn(scene_pos)
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, view_point(window, scene_pos))


def test_resnet18_opens_with_its_stages_collapsed(resnet) -> None:
    window = resnet()
    scene = window.scene
    assert sorted(scene.groups) == STAGES
    assert shown(window) == sorted(["image", "conv1", "bn1", "relu", "maxpool", *STAGES,
                                    "avgpool", "flatten", "fc", "logits"])
    assert not scene.nodes["layer1_0_conv1"].isVisible()
    # torchvision's resnet18().layer1 has 147,968 parameters; layer4 8,393,728
    assert scene.groups["layer1"].details() == ("64×8×8 → 64×8×8",
                                                "147,968 params · 14 layers")
    assert scene.groups["layer4"].details()[0] == "256×2×2 → 512×1×1"
    # one wire into each stage although two document wires enter it (main path + shortcut)
    into = scene.edge_item(window.session.doc.incoming("layer1_0_conv1")["in"])
    assert into.isVisible() and len(into.wires) == 2 and into.dst is scene.groups["layer1"].inputs["in"]
    # stacked one row apart: the folded view of a 71-layer network is 13 rows tall
    ys = [scene.groups[s].pos().y() for s in STAGES]
    assert ys == [550, 660, 770, 880]
    assert scene.nodes["logits"].pos().y() == 1320
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(scene.nodes_rect())


def test_double_click_expands_and_the_menu_collapses_again(resnet) -> None:
    window = resnet()
    scene, doc = window.scene, window.session.doc
    before = window.session.project.network.to_dict()
    window.code_view.wait_idle()
    double_click(window, scene.groups["layer1"].centre())
    assert "layer1" not in scene.groups and scene.collapsed() == STAGES[1:]
    assert scene.nodes["layer1_0_conv1"].isVisible()
    # expanded layers stand where the document puts them; the stages below move down
    assert scene.nodes["layer1_1_relu2"].pos() == QPointF(*doc.node("layer1_1_relu2").pos)
    assert scene.groups["layer2"].pos().y() == doc.node("layer2_0_conv1").pos[1]
    menu = window.context_menus.node_menu("layer1_0_bn1")
    titles = [a.text().split("\t")[0].replace("&", "") for a in menu.actions()]
    assert "Collapse Block ‘layer1.0’" in titles and "Collapse Block ‘layer1’" in titles
    next(a for a in menu.actions() if "‘layer1’" in a.text()).trigger()
    assert sorted(scene.groups) == STAGES and scene.groups["layer1"].isSelected()
    # a view state: the network and the undo history are untouched
    assert window.session.project.network.to_dict() == before
    assert window.session.stack.count() == 0


def test_keyboard_collapses_inner_then_outer_block_and_expands(resnet) -> None:
    window = resnet()
    scene = window.scene
    scene.set_collapsed("layer2", False)
    scene.select_nodes(["layer2_0_conv2"])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert "layer2.0" in scene.groups and scene.groups["layer2.0"].isSelected()
    assert scene.nodes["layer2_1_conv1"].isVisible()
    assert scene.groups["layer2.0"].details()[0] == "64×8×8 → 128×4×4"
    QTest.keyClick(window.view, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert "layer2" in scene.groups and "layer2.0" not in scene.groups
    QTest.keyClick(window.view, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    # layer2 opens with its first block still collapsed, as it was left
    assert "layer2" not in scene.groups and "layer2.0" in scene.groups
    assert scene.collapsed() == ["layer1", "layer2.0", "layer3", "layer4"]


def test_collapsed_blocks_survive_save_and_reopen(resnet, tmp_path) -> None:
    window = resnet()
    window.scene.set_collapsed("layer3", False)
    path = tmp_path / "resnet.torchcanvas"
    assert window.save_to(str(path))
    assert load_project(path).canvas == {"collapsed": ["layer1", "layer2", "layer4"]}
    other = resnet(None)
    assert other.open_project(str(path), confirm=False)
    assert sorted(other.scene.groups) == ["layer1", "layer2", "layer4"]
    assert load_project(path).network.to_dict() == window.session.doc.to_dict()


def test_dragging_a_block_moves_its_layers_in_one_undo_step(resnet, settle) -> None:
    window = resnet()
    scene, doc = window.scene, window.session.doc
    start = {n: doc.node(n).pos for n in scene.members["layer2"]}
    window.view.set_zoom(1.0)
    group = scene.groups["layer2"]
    window.view.centerOn(group.centre())
    window.code_view.wait_idle()
    drag(window, group.centre(), group.centre() + QPointF(300, 0))
    assert window.session.stack.count() == 1
    assert all(doc.node(n).pos == (x + 300, y) for n, (x, y) in start.items())
    settle(window)
    assert group.pos().x() == 300
    window.session.stack.undo()
    settle(window)
    assert all(doc.node(n).pos == p for n, p in start.items()) and group.pos().x() == 0


def test_deleting_a_block_removes_its_layers_as_one_step(resnet, settle) -> None:
    window = resnet()
    scene, doc = window.scene, window.session.doc
    before = doc.to_dict()
    scene.select_nodes(["layer3_1_conv2"])  # hidden: selects its block
    assert scene.selected_blocks() == ["layer3"]
    window.act_delete.trigger()
    assert not any(n.name.startswith("layer3_") for n in doc.nodes)
    assert window.session.stack.count() == 1
    settle(window)
    assert "layer3" not in scene.groups
    window.session.stack.undo()
    settle(window)
    assert doc.to_dict() == before and "layer3" in scene.groups


def test_drop_on_the_wire_into_a_block_feeds_all_it_stands_for(resnet, settle) -> None:
    window = resnet()
    scene, doc = window.scene, window.session.doc
    before = doc.to_dict()
    wire = scene.edge_item(doc.incoming("layer1_0_conv1")["in"])
    spot = wire.path().pointAtPercent(0.5)
    window.view.set_zoom(1.0)
    window.view.centerOn(spot)
    drop_layer(window, "Dropout", spot)
    new = doc.incoming("layer1_0_conv1")["in"].src
    assert doc.node(new).type == "Dropout" and doc.incoming(new)["in"].src == "maxpool"
    assert doc.incoming("layer1_0_add")["in2"].src == new  # the shortcut too
    assert window.session.stack.count() == 1
    settle(window)
    assert scene.nodes[new].isVisible() and scene.groups["layer1"].pos().y() > scene.nodes[
        new].pos().y()
    window.session.stack.undo()
    after = doc.to_dict()
    assert after["nodes"] == before["nodes"]
    assert sorted(map(str, after["edges"])) == sorted(map(str, before["edges"]))


def test_a_wire_dragged_from_a_block_output_connects_its_last_layer(resnet) -> None:
    from app.ui.commands import DisconnectCommand

    window = resnet()
    scene, doc, s = window.scene, window.session.doc, window.session
    s.push(DisconnectCommand(s, doc.incoming("avgpool")["in"]))
    QTest.qWait(1)
    port = scene.groups["layer3"].outputs["out"]
    target = scene.nodes["avgpool"].inputs["in"]
    window.view.set_zoom(0.6)
    window.view.centerOn((port.scene_anchor() + target.scene_anchor()) / 2)
    window.code_view.wait_idle()
    drag(window, port.scene_anchor(), target.scene_anchor())
    assert doc.incoming("avgpool")["in"].src == "layer3_1_relu2"
