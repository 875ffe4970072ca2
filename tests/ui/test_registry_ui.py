"""Every catalogue entry on the palette (under its category) and in the inspector (one
working editor per parameter, the inferred shape shown); the core half of the walk is
tests/core/test_registry.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.catalogue import CATALOGUE, TORCHVISION_BLOCKS
from app.core.shapes import format_shape
from app.ui.panels.inspector import InspectorPanel
from app.ui.panels.palette import PalettePanel
from app.ui.session import EditorSession
from tests.core.layer_networks import one_layer_network

LAYERS = sorted(t for t, spec in CATALOGUE.items() if spec.has_module)


def test_palette_lists_each_entry_once_under_its_category(qtbot) -> None:
    palette = PalettePanel()
    qtbot.addWidget(palette)
    assert set(palette.items) == set(CATALOGUE)
    for layer_type, item in palette.items.items():
        spec = CATALOGUE[layer_type]
        assert item.parent().text(0) == (TORCHVISION_BLOCKS if spec.internal else spec.category)
        assert item.text(0) == spec.palette_name
        assert f"<b>{layer_type}</b>" in item.toolTip(0)  # the class name, whatever the label
    palette.filter(CATALOGUE["MaxUnpool2d"].type.lower())
    assert palette.visible_types() == ["MaxUnpool2d"]


BLOCKS = ["ShiftedWindowAttention", "ShiftedWindowAttentionV2",
          "RelativePositionalMultiHeadAttention", "PatchMerging", "PatchMergingV2"]


def test_torchvision_blocks_sit_last_collapsed_and_are_found_by_search(qtbot) -> None:
    palette = PalettePanel()
    qtbot.addWidget(palette)
    tree = palette.tree
    group = tree.topLevelItem(tree.topLevelItemCount() - 1)
    assert group.text(0) == TORCHVISION_BLOCKS
    assert [group.child(i).data(0, Qt.ItemDataRole.UserRole)
            for i in range(group.childCount())] == BLOCKS
    assert not group.isExpanded()
    assert all(tree.topLevelItem(i).isExpanded() for i in range(tree.topLevelItemCount() - 1))
    assert palette.items["RelativePositionalMultiHeadAttention"].text(0) == "Rel. pos. attention"
    palette.filter("RelativePositional")  # the class name, in the tooltip
    assert palette.visible_types() == ["RelativePositionalMultiHeadAttention"]
    assert group.isExpanded()
    palette.filter("")
    assert not group.isExpanded()
    assert len(palette.visible_types()) == len(CATALOGUE)


@pytest.mark.parametrize("layer_type", LAYERS)
def test_inspector_edits_every_parameter_of_the_entry(layer_type: str, qtbot) -> None:
    spec = CATALOGUE[layer_type]
    session = EditorSession(one_layer_network(layer_type))
    session.infer_now()
    inspector = InspectorPanel(session)
    qtbot.addWidget(inspector)
    inspector.show_node("layer")
    assert list(inspector.editors) == [p.name for p in spec.params]
    result = session.result("layer")
    assert result.ok, result.error
    assert format_shape(result.shape) in inspector.shape_label.text()
    node = session.doc.node("layer")
    for name, editor in inspector.editors.items():
        shown = node.params[name] if node.params[name] is not None else result.resolved[name]
        if shown is None:  # an optional setting left to torch: the field is off
            assert editor.toggle is not None and editor.toggle.isChecked()
            continue
        # exactly, floats included (RReLU's upper = 1/3 must not come back as 0.333333)
        assert editor.param.validate(editor._read()) == shown
