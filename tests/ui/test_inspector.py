"""Editing parameters in the inspector: shapes, code and undo follow."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def select(window, name: str) -> None:
    window.scene.select_nodes([name])
    assert window.inspector.node == name


def test_edit_parameter_updates_shapes_code_and_undo(window, settle, qtbot) -> None:
    window.code_view.wait_idle()
    assert "nn.Conv2d(1, 6, kernel_size=5, padding=2)" in window.code_view.code
    select(window, "conv1")
    spin = window.inspector.editors["out_channels"].field
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "8")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert window.session.doc.node("conv1").params["out_channels"] == 8
    settle(window)
    assert window.scene.nodes["conv1"].shape_text == "→ 8×28×28"
    assert window.session.result("conv2").resolved["in_channels"] == 8
    assert "8×28×28" in window.inspector.shape_label.text()
    assert f"<b>{8 * 28 * 28 * (25 + 1):,}</b> multiply-accumulates" in window.inspector.shape_label.text()
    window.code_view.wait_idle()
    assert "nn.Conv2d(1, 8, kernel_size=5, padding=2)" in window.code_view.code
    assert "nn.Conv2d(8, 16" in window.code_view.code
    window.act_undo.trigger()
    settle(window)
    assert window.scene.nodes["conv1"].shape_text == "→ 6×28×28"
    assert spin.value() == 6  # the editor follows undo
    window.act_redo.trigger()
    settle(window)
    assert window.scene.nodes["conv1"].shape_text == "→ 8×28×28"


def test_shape_formula_with_numbers(window) -> None:
    select(window, "conv2")
    assert "(14 − 5 + 2·0)/1" in window.inspector.explanation_label.text()
    assert "= 10" in window.inspector.explanation_label.text()


def test_inline_validation_names_the_field(window) -> None:
    select(window, "image")
    editor = window.inspector.editors["shape"]
    editor.field.setText("1, 0, 28")
    editor.field.editingFinished.emit()
    assert not editor.error.isHidden() and "shape" in editor.error.text()
    assert window.session.doc.node("image").params["shape"] == [1, 28, 28]
    editor.field.setText("one, two")
    editor.field.editingFinished.emit()
    assert "whole numbers" in editor.error.text()
    editor.field.setText("1, 32, 32")
    editor.field.editingFinished.emit()
    assert editor.error.isHidden()
    assert window.session.doc.node("image").params["shape"] == [1, 32, 32]


def test_float_field_refuses_out_of_range(make_window) -> None:
    window = make_window("mlp")
    window.session.push(__import__("app.ui.commands", fromlist=["x"]).AddNodeCommand(
        window.session, "Dropout", name="drop", pos=(600, 0)))
    select(window, "drop")
    editor = window.inspector.editors["p"]
    editor.field.setText("1.5")
    editor.field.editingFinished.emit()
    assert "p must be" in editor.error.text() and "<= 1" in editor.error.text()
    editor.field.setText("0.25")
    editor.field.editingFinished.emit()
    assert window.session.doc.node("drop").params["p"] == 0.25


def test_auto_toggle_and_mismatch_fix(window, settle, qtbot) -> None:
    select(window, "conv2")
    editor = window.inspector.editors["in_channels"]
    assert editor.toggle.isChecked() and editor.field.value() == 6  # shows the resolved value
    editor.toggle.setChecked(False)  # pins the value it showed
    assert window.session.doc.node("conv2").params["in_channels"] == 6
    editor.field.setValue(3)
    settle(window)
    assert "expects 3 input channels" in window.session.result("conv2").error
    qtbot.wait(1)  # layouts show new widgets on the next event-loop pass
    buttons = [b for b in window.inspector.findChildren(
        __import__("PySide6.QtWidgets", fromlist=["x"]).QPushButton)
        if b.text().startswith("Fix:") and not b.isHidden()]
    assert any("auto" in b.text() for b in buttons)
    next(b for b in buttons if "auto" in b.text()).click()
    settle(window)
    assert window.session.doc.node("conv2").params["in_channels"] is None
    assert window.session.result("conv2").ok


def test_rename_in_inspector(window) -> None:
    select(window, "conv1")
    edit = window.inspector.name_edit
    edit.setText("class")
    edit.editingFinished.emit()
    assert "not a valid node name" in window.inspector.name_error.text()
    edit.setText("features")
    edit.editingFinished.emit()
    assert window.session.doc.has_node("features") and "features" in window.scene.nodes
    assert window.scene.nodes["features"].name == "features"
    window.act_undo.trigger()
    assert window.session.doc.has_node("conv1") and "conv1" in window.scene.nodes


def test_refused_param_change_shows_inline(make_window) -> None:
    window = make_window("residual_cnn")
    add = next(n.name for n in window.session.doc.nodes if n.type == "Add")
    select(window, add)
    editor = window.inspector.editors["num_inputs"]
    editor.field.setValue(3)
    assert len(window.scene.nodes[add].inputs) == 3
    editor.field.setValue(2)
    assert len(window.scene.nodes[add].inputs) == 2


def test_merge_input_order_buttons(make_window) -> None:
    window = make_window("residual_cnn")
    add = next(n.name for n in window.session.doc.nodes if n.type == "Add")
    select(window, add)
    doc = window.session.doc
    first = doc.incoming(add)["in1"].src
    window.inspector.swap_inputs("in1", "in2")
    assert doc.incoming(add)["in2"].src == first
    window.act_undo.trigger()
    assert doc.incoming(add)["in1"].src == first
