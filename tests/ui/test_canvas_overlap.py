"""No two layers on top of each other: inserts push what is in the way down (in the same
undo step) and automatic layout never stacks nodes (the 1366x768 walkthrough found ReLU
hiding an unconnected Output)."""

from __future__ import annotations

from itertools import combinations

from app.core.graph import NetworkDocument
from app.ui.commands import append_layer_command, free_spot
from app.ui.session import EditorSession


def overlapping(window) -> list[tuple[str, str]]:
    items = window.scene.nodes
    return [(a, b) for a, b in combinations(sorted(items), 2)
            if items[a].sceneBoundingRect().intersects(items[b].sceneBoundingRect())]


def build_chain_above_output(window) -> list[str]:
    """File > New Blank Network, select Input, double-click Flatten, Linear, ReLU, Linear."""
    window.resize(1366, 768)
    window.new_blank()
    window.scene.select_nodes(["image"])
    added = []
    for layer_type in ("Flatten", "Linear", "ReLU", "Linear"):
        window.append_layer(layer_type)  # what a palette double-click calls
        added.append(window.scene.selected_nodes()[0])
    return added


def test_chain_built_above_output_pushes_output_down(window) -> None:
    added = build_chain_above_output(window)
    doc, stack = window.session.doc, window.session.stack
    for _ in range(4):
        stack.undo()
    before = {n.name: n.pos for n in doc.nodes}
    assert before == {"image": (0.0, 0.0), "output": (0.0, 330.0)}
    for _ in range(4):
        stack.redo()
    assert [doc.node(n).type for n in added] == ["Flatten", "Linear", "ReLU", "Linear"]
    assert [doc.node(n).pos[1] for n in added] == [110.0, 220.0, 330.0, 440.0]
    assert stack.count() == 4  # one undo step per insert
    assert overlapping(window) == []
    out = window.scene.nodes["output"].sceneBoundingRect()
    last = window.scene.nodes[added[-1]].sceneBoundingRect()
    assert doc.node("output").pos == (0.0, 550.0)
    assert out.top() > last.bottom()  # below the chain, not hidden under it
    assert window.scene.nodes["output"].isVisible()
    stack.undo()
    assert doc.node("output").pos == (0.0, 440.0) and not doc.has_node(added[-1])
    for _ in range(3):
        stack.undo()
    assert {n.name: n.pos for n in doc.nodes} == before
    for _ in range(4):
        stack.redo()
    assert doc.node("output").pos == (0.0, 550.0) and overlapping(window) == []


def test_auto_layout_leaves_no_overlaps_with_unconnected_nodes(window) -> None:
    build_chain_above_output(window)
    doc = window.session.doc
    window.scene.clearSelection()
    for layer_type in ("Dropout", "ReLU"):  # unconnected, dropped mid-view
        window.append_layer(layer_type)
    # Stack everything on one spot: layout must pull them apart.
    for n in doc.nodes:
        doc.move_node(n.name, (0.0, 0.0))
    window.auto_layout()
    assert overlapping(window) == []
    assert len({n.pos for n in doc.nodes}) == len(doc.nodes)


def test_insert_after_moves_an_unrelated_node_in_the_way(qapp) -> None:
    session = EditorSession()
    doc = session.doc
    doc.add_node("Input", {"shape": [4]}, "inp", (0.0, 0.0))
    doc.add_node("Output", {}, "output", (0.0, 220.0))
    doc.add_node("ReLU", {}, "side", (100.0, 150.0))  # a stray layer half under the slot
    session.push(append_layer_command(session, "Linear", "inp", (0.0, 110.0)))
    assert doc.node("side").pos == (100.0, 220.0)
    assert doc.node("output").pos == (0.0, 330.0)  # pushed in turn by the stray layer
    session.stack.undo()
    assert doc.node("side").pos == (100.0, 150.0) and doc.node("output").pos == (0.0, 220.0)


def test_add_at_an_occupied_place_goes_to_the_nearest_free_spot() -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4]}, "inp", (0.0, 0.0))
    assert free_spot(doc, (500.0, 0.0)) == (500.0, 0.0)
    spot = free_spot(doc, (20.0, 10.0))
    assert abs(spot[0]) >= 240.0 or abs(spot[1]) >= 110.0
    assert (spot[0] - 20.0) ** 2 + (spot[1] - 10.0) ** 2 <= 230.0 ** 2
