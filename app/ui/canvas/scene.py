"""CanvasScene: mirrors the session's NetworkDocument as node, port and edge items.

It listens to the document's change notifications (never the other way round) and to
the session's shape results; mouse gestures are delegated to interaction objects.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
)

from app.core.graph import Change, DocumentError, Edge
from app.ui import theme
from app.ui.canvas.edge_item import EdgeItem
from app.ui.canvas.interactions import Interaction, MoveNodesInteraction, NewEdgeInteraction
from app.ui.canvas.node_item import NodeItem
from app.ui.canvas.port_item import PortItem
from app.ui.commands import insert_layer_command
from app.ui.session import EditorSession

GRID_STEP = 20.0


class CanvasScene(QGraphicsScene):
    nodeActivated = Signal(str)  # double-click on a node: the inspector takes focus
    # right-click: target (node name, Edge or None for the canvas), scene pos, screen pos
    contextMenuRequested = Signal(object, QPointF, QPoint)

    def __init__(self, session: EditorSession) -> None:
        super().__init__()
        self.session = session
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self._edges_of: dict[str, set[EdgeItem]] = {}
        self.snap_to_grid = True
        self.grid_visible = True  # off while a diagram is exported (app/ui/diagram.py)
        self.interaction: Interaction | None = None
        self.note = _NoteItem()
        self.addItem(self.note)
        session.documentChanged.connect(self._on_change)
        session.documentReplaced.connect(self.rebuild)
        session.resultsChanged.connect(self.apply_results)
        self.rebuild()

    # -- mirroring the document --------------------------------------------------------------
    def rebuild(self) -> None:
        for item in list(self.nodes.values()):
            self.removeItem(item)
        for item in list(self.edges.values()):
            self.removeItem(item)
        self.nodes.clear()
        self.edges.clear()
        self._edges_of.clear()
        doc = self.session.doc
        for node in doc.nodes:
            self._add_node(node.name)
        for edge in doc.edges:
            self._add_edge(edge)
        self.apply_results(list(self.nodes))

    def _on_change(self, change: Change) -> None:
        handler = getattr(self, f"_on_{change.kind}", None)
        if handler is not None:
            handler(change)

    def _on_node_added(self, change: Change) -> None:
        self._add_node(change.nodes[0])

    def _on_node_removed(self, change: Change) -> None:
        item = self.nodes.pop(change.nodes[0], None)
        if item is not None:
            self._edges_of.pop(item.name, None)
            self.removeItem(item)

    def _on_node_renamed(self, change: Change) -> None:
        old, new = change.detail["old"], change.detail["new"]
        item = self.nodes.pop(old)
        self.nodes[new] = item
        item.update_node(self.session.doc.node(new))
        edges = self._edges_of.pop(old, set())
        self._edges_of[new] = edges
        for edge_item in edges:
            self._rekey_edge(edge_item, old, new)

    def _rekey_edge(self, edge_item: EdgeItem, old: str, new: str) -> None:
        e = edge_item.edge
        self.edges.pop((e.dst, e.dst_port), None)
        edge_item.edge = Edge(new if e.src == old else e.src, e.src_port,
                              new if e.dst == old else e.dst, e.dst_port)
        self.edges[(edge_item.edge.dst, e.dst_port)] = edge_item

    def _on_params_changed(self, change: Change) -> None:
        name = change.nodes[0]
        self.nodes[name].update_node(self.session.doc.node(name))
        self._update_edges(name)

    def _on_node_moved(self, change: Change) -> None:
        name = change.nodes[0]
        item = self.nodes[name]
        pos = QPointF(*self.session.doc.node(name).pos)
        if item.pos() != pos:
            item.snap = False  # the document's position is authoritative
            item.setPos(pos)
            item.snap = True

    def _on_edge_added(self, change: Change) -> None:
        self._add_edge(change.edge)

    def _on_edge_removed(self, change: Change) -> None:
        e = change.edge
        item = self.edges.pop((e.dst, e.dst_port), None)
        if item is None:
            return
        for name in (e.src, e.dst):
            self._edges_of.get(name, set()).discard(item)
        self.removeItem(item)
        self._refresh_port(item.src)
        item.dst.set_connected(False)

    def _refresh_port(self, port: PortItem) -> None:
        """An output may feed several wires: it is drawn connected while any remains."""
        port.set_connected(any(e.src is port for e in self._edges_of.get(port.node_name, ())))

    def _on_reset(self, change: Change) -> None:
        self.rebuild()

    def _add_node(self, name: str) -> NodeItem:
        item = NodeItem(self.session.doc.node(name))
        self.nodes[name] = item
        self.addItem(item)
        item.set_result(self.session.result(name))
        return item

    def _add_edge(self, edge: Edge) -> None:
        src = self.nodes[edge.src].outputs[edge.src_port]
        dst = self.nodes[edge.dst].inputs[edge.dst_port]
        item = EdgeItem(edge, src, dst)
        self.edges[(edge.dst, edge.dst_port)] = item
        self._edges_of.setdefault(edge.src, set()).add(item)
        self._edges_of.setdefault(edge.dst, set()).add(item)
        src.set_connected(True)
        dst.set_connected(True)
        self.addItem(item)

    def _update_edges(self, name: str) -> None:
        for item in self._edges_of.get(name, ()):
            item.update_path()

    def node_moved(self, item: NodeItem) -> None:
        """Called by a NodeItem whenever it moves, also mid-drag: wires follow."""
        self._update_edges(item.name)

    def apply_results(self, names: list[str]) -> None:
        for name in names:
            item = self.nodes.get(name)
            if item is not None:
                item.set_result(self.session.result(name))

    def show_health(self, flags: dict[str, str]) -> None:
        """Training-health findings ({node: message}) as badges; {} clears them."""
        for name, item in self.nodes.items():
            item.set_health(flags.get(name, ""))

    # -- queries -----------------------------------------------------------------------------
    def selected_nodes(self) -> list[str]:
        return [i.name for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, names: list[str]) -> None:
        self.clearSelection()
        for name in names:
            if name in self.nodes:
                self.nodes[name].setSelected(True)

    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, PortItem):
                return item
        return None

    def edge_at(self, pos: QPointF) -> EdgeItem | None:
        """The wire under `pos` (its clickable band), unless a node covers the spot."""
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, EdgeItem):
                return item
            if isinstance(item, NodeItem):
                return None
        return None

    def insert_on_wire(self, edge: Edge, layer_type: str) -> bool:
        """A layer dropped on a wire: inserted there and wired, downstream nodes make room;
        one undo step. The new layer is selected."""
        try:
            command = insert_layer_command(self.session, edge.dst, edge.dst_port, layer_type, {},
                                           f"Insert {layer_type} on {edge.src} → {edge.dst}")
        except DocumentError as exc:
            self.session.report(str(exc))
            return False
        if not self.session.push(command):
            return False
        self.select_nodes([command.children[0].name])
        return True

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, NodeItem):
                return item
        return None

    def nodes_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def show_note(self, text: str, pos: QPointF, error: bool) -> None:
        self.note.show_text(text, pos, error)

    def hide_note(self) -> None:
        self.note.hide()

    # -- gestures ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self.interaction = NewEdgeInteraction(self, port)
                self.interaction.start(event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.node_at(event.scenePos()):
            self.interaction = MoveNodesInteraction(self)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.interaction is not None and self.interaction.mouse_move(event.scenePos()):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        interaction, self.interaction = self.interaction, None
        if isinstance(interaction, NewEdgeInteraction):
            interaction.mouse_release(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if interaction is not None:
            interaction.mouse_release(event.scenePos())

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        node = self.node_at(event.scenePos())
        if node is not None:
            self.nodeActivated.emit(node.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        pos = event.scenePos()
        node = self.node_at(pos)
        edge = self.edge_at(pos) if node is None else None
        target = node.name if node is not None else (edge.edge if edge is not None else None)
        self.request_menu(target, pos, event.screenPos())
        event.accept()

    def request_menu(self, target: object, pos: QPointF, screen: QPoint) -> None:
        self.contextMenuRequested.emit(target, pos, screen)

    def cancel_interaction(self) -> None:
        if self.interaction is not None:
            self.interaction.cancel()
            self.interaction = None

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme.current()
        painter.fillRect(rect, QColor(t.canvas))
        scale = painter.worldTransform().m11()
        if scale < 0.35 or not self.grid_visible:
            return  # dots would be a grey haze at this zoom
        painter.setPen(QPen(QColor(t.grid), 2.0 / max(scale, 0.5)))
        left = int(rect.left() // GRID_STEP) * GRID_STEP
        top = int(rect.top() // GRID_STEP) * GRID_STEP
        points = []
        y = top
        while y < rect.bottom():
            x = left
            while x < rect.right():
                points.append(QPointF(x, y))
                x += GRID_STEP
            y += GRID_STEP
        painter.drawPoints(points)


class _NoteItem(QGraphicsRectItem):
    """The label next to a port while dragging a wire: why a connection is refused."""

    def __init__(self) -> None:
        super().__init__()
        self.text = QGraphicsSimpleTextItem(self)
        self.setZValue(10)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.hide()

    def show_text(self, text: str, pos: QPointF, error: bool) -> None:
        t = theme.current()
        self.text.setText(text)
        self.text.setBrush(QColor("#ffffff"))
        self.text.setPos(8, 5)
        r = self.text.boundingRect()
        self.setRect(QRectF(0, 0, r.width() + 16, r.height() + 10))
        self.setBrush(QColor(t.error if error else t.ok))
        self.setPen(Qt.PenStyle.NoPen)
        self.setPos(pos + QPointF(14, -10))
        self.show()
