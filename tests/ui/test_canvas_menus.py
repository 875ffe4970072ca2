"""Context menus: each entry runs one undoable command (menus are built, not exec'd)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMenu


def action(menu: QMenu, text: str):
    for a in menu.actions():
        if a.text().replace("&", "").split("\t")[0].startswith(text):
            return a
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def pick(menu: QMenu, title: str, typed: str) -> None:
    picker = action(menu, title).menu().actions()[0]
    picker.search.setText(typed)
    picker.search.returnPressed.emit()


def test_node_menu_insert_before_and_after(window) -> None:
    doc, menus = window.session.doc, window.context_menus
    pick(menus.node_menu("conv2"), "Insert Before", "batchnorm2")
    new = doc.incoming("conv2")["in"].src
    assert doc.node(new).type == "BatchNorm2d" and doc.incoming(new)["in"].src == "pool1"
    pick(menus.node_menu("conv2"), "Insert After", "ReLU")
    relu = doc.incoming("sigmoid2")["in"].src
    assert doc.node(relu).type == "ReLU" and doc.incoming(relu)["in"].src == "conv2"
    assert window.session.stack.count() == 2


def test_node_menu_disconnect_output_and_freeze(window) -> None:
    doc, menus, s = window.session.doc, window.context_menus, window.session
    action(menus.node_menu("fc2"), "Disconnect").trigger()
    assert not doc.incoming("fc2") and not doc.outgoing("fc2")
    s.stack.undo()
    action(menus.node_menu("fc2"), "Set as Output").trigger()
    assert doc.incoming("logits")["in"].src == "fc2"
    freeze = action(menus.node_menu("conv1"), "Freeze")
    assert not freeze.isChecked()
    freeze.trigger()
    assert s.project.training["freeze"] == ["conv1"]
    assert action(menus.node_menu("conv1"), "Freeze").isChecked()
    s.stack.undo()
    assert "freeze" not in s.project.training


def test_group_and_ungroup_from_the_keyboard(window) -> None:
    doc = window.session.doc
    window.scene.select_nodes(["conv1", "sigmoid1"])
    window.context_menus.act_group.trigger()
    assert doc.node("conv1").path == "block1.conv1"
    window.context_menus.act_ungroup.trigger()
    assert doc.node("conv1").path is None


def test_wire_and_canvas_menus(window) -> None:
    doc, menus = window.session.doc, window.context_menus
    edge = doc.incoming("fc1")["in"]
    pick(menus.wire_menu(edge), "Insert Layer", "dropout")
    new = doc.incoming("fc1")["in"].src
    assert doc.node(new).type == "Dropout"
    action(menus.wire_menu(doc.incoming("fc1")["in"]), "Delete Wire").trigger()
    assert not doc.incoming("fc1")
    pick(menus.canvas_menu(QPointF(900, 400)), "Add Layer Here", "tanh")
    tanh = next(n for n in doc.nodes if n.type == "Tanh")
    assert tanh.pos == (800.0, 360.0)  # centred on the spot, snapped to the grid
    assert [a.text().split("\t")[0].replace("&", "") for a in
            menus.canvas_menu(QPointF()).actions() if a.text()] == [
        "Add Layer Here", "Paste", "Automatic Layout", "Fit Network to Window"]


def test_palette_menu(window) -> None:
    window.scene.select_nodes(["pool1"])
    menu = window.context_menus.palette_menu(window.palette.items["Dropout"])
    action(menu, "Add Dropout after pool1").trigger()
    assert window.session.doc.node(window.session.doc.incoming("conv2")["in"].src).type == \
        "Dropout"
    assert action(menu, "Help on Dropout")
