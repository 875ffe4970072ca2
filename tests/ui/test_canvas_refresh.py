"""The canvas updates only what an edit changed (issue 13/18): after every edit the view
still says exactly what the document says -- each port drawn connected iff a wire uses
it, each wire drawn between its two ports, each shown layer where the document (folded)
puts it -- and expanded blocks are framed around their layers."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF

from app.ui.canvas.node_item import HEIGHT, WIDTH
from app.ui.commands import (
    MoveNodesCommand,
    delete_command,
    insert_after_command,
    insert_layer_command,
    replace_wire_command,
)


def ends(wire) -> tuple[QPointF, QPointF]:
    path = wire.path()
    first, last = path.elementAt(0), path.elementAt(path.elementCount() - 1)
    return QPointF(first.x, first.y), QPointF(last.x, last.y)


def assert_view_matches(window) -> None:
    scene, doc = window.scene, window.session.doc
    assert sorted(scene.nodes) == sorted(n.name for n in doc.nodes)
    assert {(e.dst, e.dst_port): e for e in doc.edges} == {
        key: item.edge for key, item in scene.edges.items()}
    for node in doc.nodes:
        item = scene.nodes[node.name]
        wired_in = set(doc.incoming(node.name))
        wired_out = {e.src_port for e in doc.outgoing(node.name)}
        assert {p: port.connected for p, port in item.inputs.items()} == {
            p: p in wired_in for p in node.input_ports()}, node.name
        assert {p: port.connected for p, port in item.outputs.items()} == {
            p: p in wired_out for p in node.output_ports()}, node.name
        if node.name not in scene.hidden:
            assert item.isVisible() and item.pos() == scene.canvas_pos(node.name), node.name
    for wire in [*scene.edges.values(), *scene._proxies]:
        if wire.isVisible():
            assert ends(wire) == (wire.src.scene_anchor(), wire.dst.scene_anchor()), wire.edge


def test_every_edit_leaves_ports_wires_and_layers_as_the_document_says(window) -> None:
    s, doc = window.session, window.session.doc
    assert_view_matches(window)
    edits = [
        lambda: insert_layer_command(s, "sigmoid1", "in", "BatchNorm2d", {}),
        lambda: insert_after_command(s, "conv2", "ReLU"),
        lambda: replace_wire_command(s, "conv1", "out", "conv2", "in"),
        lambda: delete_command(s, ["pool1"]),
        lambda: MoveNodesCommand(s, {"fc1": (doc.node("fc1").pos, (300.0, 40.0))}),
    ]
    for build in edits:
        # checked straight after the edit, before the event loop runs: wires are redrawn
        # when the undo stack says the edit is done, not on a later tick
        assert s.push(build())
        assert_view_matches(window)
    for _ in edits:
        s.stack.undo()
        assert_view_matches(window)
    for _ in edits:
        s.stack.redo()
        assert_view_matches(window)


def test_collapsed_blocks_and_inserts_keep_the_view_consistent(resnet, settle) -> None:
    window = resnet()
    scene, s, doc = window.scene, window.session, window.session.doc
    assert_view_matches(window)
    scene.set_collapsed("layer2", False)
    assert_view_matches(window)
    wire = doc.incoming("layer3_0_conv1")["in"]
    assert scene.insert_on_wire(wire, "Dropout")  # into collapsed layer3: feeds both paths
    settle(window)
    assert_view_matches(window)
    scene.set_all_collapsed(False)
    assert scene.groups == {} and scene.hidden == {}
    assert_view_matches(window)
    s.stack.undo()
    settle(window)
    assert_view_matches(window)
    scene.set_all_collapsed(True)
    assert sorted(scene.groups) == ["layer1", "layer2", "layer3", "layer4"]
    assert_view_matches(window)


def card(item) -> QRectF:
    return QRectF(item.pos(), QSizeF(WIDTH, HEIGHT))


def test_expanded_blocks_are_framed_around_their_layers(resnet, settle) -> None:
    window = resnet()
    scene, s, doc = window.scene, window.session, window.session.doc
    assert scene.frames == {}  # every stage collapsed: nothing to frame
    scene.set_collapsed("layer1", False)
    assert sorted(scene.frames) == ["layer1", "layer1.0", "layer1.1"]
    outer = scene.frames["layer1"]
    members = [n for n in scene.nodes if n.startswith("layer1_")]
    assert len(members) == 14
    for name in members:
        assert outer.frame.contains(card(scene.nodes[name])), name
        block = "layer1.0" if name.startswith("layer1_0_") else "layer1.1"
        assert scene.frames[block].frame.contains(card(scene.nodes[name])), name
    first, second = scene.frames["layer1.0"].frame, scene.frames["layer1.1"].frame
    assert outer.frame.contains(first) and outer.frame.contains(second)
    assert not first.intersects(second)  # one block ends before the next begins
    # nothing outside the block inside its frame, and frames sit behind layers and wires
    assert not outer.frame.intersects(card(scene.nodes["maxpool"]))
    assert not outer.frame.intersects(card(scene.groups["layer2"]))
    assert outer.zValue() < min(w.zValue() for w in scene.edges.values())
    # a layer moved out to the right: the frames follow it after the edit
    x, y = doc.node("layer1_1_relu2").pos
    s.push(MoveNodesCommand(s, {"layer1_1_relu2": ((x, y), (x + 400, y))}))
    settle(window)
    assert outer.frame.contains(card(scene.nodes["layer1_1_relu2"]))
    assert scene.frames["layer1.1"].frame.right() > x + 400 + WIDTH
    # an inner block collapsed: its frame goes, the outer one holds its node
    scene.set_collapsed("layer1.0", True)
    assert "layer1.0" not in scene.frames
    assert outer.frame.contains(card(scene.groups["layer1.0"]))
    scene.set_all_collapsed(True)
    assert scene.frames == {}
    scene.set_all_collapsed(False)
    assert "layer2.0.downsample" in scene.frames and len(scene.frames) == 4 + 8 + 3
    for name, frame in scene.frames.items():
        inside = [n.name for n in doc.nodes
                  if n.path is not None and n.path.startswith(name + ".")]
        assert inside and all(frame.frame.contains(card(scene.nodes[n])) for n in inside)


def test_nested_block_tabs_never_overlap_and_show_whole_names(resnet) -> None:
    window = resnet()
    scene = window.scene
    scene.set_collapsed("layer1", False)
    frames = scene.frames
    assert frames["layer1.0"].outer == [frames["layer1"]]
    for pixels in (11, 16, 22):  # the tab text at 100 % zoom and zoomed out
        tabs = {block: frames[block].tab(pixels) for block in ("layer1", "layer1.0",
                                                               "layer1.1")}
        outer, inner = tabs["layer1"][0], tabs["layer1.0"][0]
        assert not outer.intersects(inner), pixels
        assert inner.left() >= outer.right() + 6, pixels
        for block, (rect, name) in tabs.items():
            assert name == block, (block, pixels)  # not elided
            assert frames[block].frame.left() < rect.left() < rect.right() < frames[
                block].frame.right()
