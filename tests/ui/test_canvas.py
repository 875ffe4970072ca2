"""The canvas driven with real mouse and drop events."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtTest import QTest

from app.ui.canvas.node_item import HEIGHT, WIDTH, NodeItem
from app.ui.canvas.port_item import COMPATIBLE, REFUSED


def view_point(window, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def drag(window, start: QPointF, end: QPointF, check_midway=None) -> None:
    """Press, move in steps and release on the view's viewport, as a user would."""
    viewport = window.view.viewport()
    a, b = view_point(window, start), view_point(window, end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 6):
        QTest.mouseMove(viewport, a + (b - a) * (i / 5))
    if check_midway:
        check_midway()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def drop_layer(window, layer_type: str, scene_pos: QPointF) -> None:
    """The drop a palette drag ends in, with the palette's own mime data."""
    mime = window.palette.tree.mimeData([window.palette.items[layer_type]])
    event = QDropEvent(QPointF(view_point(window, scene_pos)), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)


def test_drop_from_palette_adds_a_node_undoably(window, settle) -> None:
    drop_layer(window, "Dropout", QPointF(600, 300))
    node = next(n for n in window.session.doc.nodes if n.type == "Dropout")
    assert node.name in window.scene.nodes
    assert window.scene.selected_nodes() == [node.name]
    window.session.stack.undo()
    assert node.name not in window.scene.nodes
    window.session.stack.redo()
    assert node.name in window.scene.nodes


def test_connect_ports_with_the_mouse(window, settle) -> None:
    doc = window.session.doc
    window.session.stack.push(  # free fc3's output so it can be wired to a new node
        __import__("app.ui.commands", fromlist=["x"]).DisconnectCommand(
            window.session, doc.incoming("logits")["in"]))
    drop_layer(window, "Softmax", QPointF(500, 1700))
    softmax = next(n.name for n in doc.nodes if n.type == "Softmax")
    settle(window)
    window.view.centerOn(window.scene.nodes["fc3"].sceneBoundingRect().center())
    src = window.scene.nodes["fc3"].outputs["out"]
    dst = window.scene.nodes[softmax].inputs["in"]
    window.view.centerOn((src.scene_anchor() + dst.scene_anchor()) / 2)
    states = {}
    drag(window, src.scene_anchor(), dst.scene_anchor(),
         lambda: states.update(dst=dst.state, refused=window.scene.nodes["conv1"].inputs[
             "in"].state))
    assert states == {"dst": COMPATIBLE, "refused": REFUSED}
    assert doc.incoming(softmax)["in"].src == "fc3"
    assert (softmax, "in") in window.scene.edges
    settle(window)
    assert window.scene.nodes[softmax].shape_text == "→ 10"
    window.session.stack.undo()
    assert not doc.incoming(softmax) and (softmax, "in") not in window.scene.edges
    window.session.stack.redo()
    assert doc.incoming(softmax)["in"].src == "fc3"


def test_invalid_connection_is_refused_with_the_reason(window) -> None:
    doc = window.session.doc
    src = window.scene.nodes["conv2"].outputs["out"]
    dst = window.scene.nodes["conv1"].inputs["in"]  # fed already, and would make a cycle
    window.view.centerOn((src.scene_anchor() + dst.scene_anchor()) / 2)
    seen = {}
    drag(window, src.scene_anchor(), dst.scene_anchor(),
         lambda: seen.update(visible=window.scene.note.isVisible(),
                             text=window.scene.note.text.text()))
    assert seen["visible"] and "would make a cycle" in seen["text"]
    assert doc.incoming("conv1")["in"].src == "image"
    assert "Cannot connect" in window.statusBar().currentMessage()
    assert window.session.stack.count() == 0
    assert not window.scene.note.isVisible()


def test_move_snaps_and_undoes(window) -> None:
    item = window.scene.nodes["conv1"]
    start = window.session.doc.node("conv1").pos
    window.view.centerOn(item.sceneBoundingRect().center())
    grab = item.mapToScene(QPointF(100, 45))
    drag(window, grab, grab + QPointF(153, 47))
    x, y = window.session.doc.node("conv1").pos
    assert (x, y) != start and x % 10 == 0 and y % 10 == 0
    assert window.scene.edges[("conv1", "in")].path().elementAt(
        window.scene.edges[("conv1", "in")].path().elementCount() - 1).x == item.inputs[
        "in"].scene_anchor().x()
    window.session.stack.undo()
    assert window.session.doc.node("conv1").pos == start
    assert (item.pos().x(), item.pos().y()) == start


def test_rubber_band_delete_copy_paste_duplicate(window, settle) -> None:
    doc = window.session.doc
    window.scene.select_nodes(["conv2", "sigmoid2"])
    window.copy()
    window.act_delete.trigger()
    assert not doc.has_node("conv2") and not doc.has_node("sigmoid2")
    window.paste()
    pasted = window.scene.selected_nodes()
    assert sorted(doc.node(n).type for n in pasted) == ["Conv2d", "Sigmoid"]
    conv = next(n for n in pasted if doc.node(n).type == "Conv2d")
    assert doc.outgoing(conv)[0].dst in pasted  # the wire between them came along
    window.act_duplicate.trigger()
    assert len(window.scene.selected_nodes()) == 2 and len(doc.nodes) == 16
    for _ in range(3):
        window.session.stack.undo()
    assert doc.has_node("conv2") and doc.incoming("conv2")["in"].src == "pool1"


def test_paste_and_duplicate_land_in_free_space(window) -> None:
    doc, scene = window.session.doc, window.scene

    def cards(names) -> list:
        return [QRectF(scene.nodes[n].pos(), QSizeF(WIDTH, HEIGHT)) for n in names]

    originals = ["conv1", "sigmoid1"]
    start = {n: doc.node(n).pos for n in originals}
    scene.select_nodes(originals)
    window.copy()
    for action in (window.paste, window.paste, window.act_duplicate.trigger):
        before = [n.name for n in doc.nodes]
        action()
        copies = scene.selected_nodes()
        assert len(copies) == 2 and not set(copies) & set(before)
        for copy, other in ((c, o) for c in cards(copies) for o in cards(before)):
            assert not copy.intersects(other)
        # beside the originals: the same rows, the layout of the copied layers kept
        rows = sorted(doc.node(n).pos[1] for n in copies)
        assert rows == sorted(p[1] for p in start.values())
        dx = {doc.node(c).pos[0] - start[doc.node(c).type == "Conv2d" and "conv1"
                                         or "sigmoid1"][0] for c in copies}
        assert len(dx) == 1 and dx.pop() > 0


def test_rubber_band_selects(window) -> None:
    window.view.set_zoom(0.5)
    rect = window.scene.nodes["image"].sceneBoundingRect().united(
        window.scene.nodes["conv1"].sceneBoundingRect())
    window.view.centerOn(rect.center())
    drag(window, rect.topLeft() + QPointF(-60, -30), rect.bottomRight() + QPointF(30, 10))
    assert set(window.scene.selected_nodes()) == {"image", "conv1"}


def test_error_badge_and_message(window, settle) -> None:
    from app.ui.commands import SetParamsCommand

    window.session.push(SetParamsCommand(window.session, "conv2", {"kernel_size": 30}))
    settle(window)
    item: NodeItem = window.scene.nodes["conv2"]
    assert item.status == "error" and "kernel" in item.toolTip()
    assert window.scene.nodes["fc1"].status == "blocked"
    window.session.stack.undo()
    settle(window)
    assert item.status == "ok"


def test_zoom_fit_and_layout(window) -> None:
    window.view.set_zoom(1.0)
    window.view.zoom_by(2.0)
    assert abs(window.view.zoom() - 2.0) < 1e-6
    window.act_fit.trigger()
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())
    doc = window.session.doc
    window.session.doc.move_node("conv2", (700.0, 40.0))
    window.act_layout.trigger()
    assert all(doc.node(e.dst).pos[1] > doc.node(e.src).pos[1] for e in doc.edges)
    assert window.session.stack.undoText() == "Automatic layout"


def test_clipboard_with_foreign_text_does_not_crash(window) -> None:
    QGuiApplication.clipboard().setText("{not json")
    window.paste()
    assert "no TorchCanvas layers" in window.statusBar().currentMessage()
