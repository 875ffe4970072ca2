"""CanvasScene: mirrors the session's NetworkDocument as node, port and edge items.

It listens to the document's change notifications (never the other way round) and to
the session's shape results; mouse gestures are delegated to interaction objects.

Collapsed blocks (the project's `canvas.collapsed`, a view state) are drawn as one
GroupItem each: their layers' items are hidden, not deleted, and wires crossing the
block's edge are drawn once to the group's ports. Item positions are canvas positions:
the document's, with the rows of collapsed blocks folded away (app.core.layout.Fold).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
)

from app.core.graph import Change, DocumentError, Edge, module_path
from app.core.grouping import block_summary, boundary, collapsed_members, enclosing_blocks
from app.core.layout import Fold
from app.ui import theme
from app.ui.canvas.block_frame import BlockFrameItem, frame_rect
from app.ui.canvas.edge_item import EdgeItem
from app.ui.canvas.group_item import GroupItem
from app.ui.canvas.interactions import Interaction, MoveNodesInteraction, NewEdgeInteraction
from app.ui.canvas.node_item import HEIGHT, WIDTH, NodeItem
from app.ui.canvas.port_item import PortItem
from app.ui.commands import insert_layer_command, insert_on_wires_command
from app.ui.session import EditorSession

GRID_STEP = 20.0
COLLAPSED = "collapsed"  # the key of the project's canvas section listing collapsed blocks
# Changes that may move a layer into or out of a collapsed block, or change its wires.
_REGROUP = {"node_added", "node_removed", "node_renamed", "path_changed", "edge_added",
            "edge_removed"}
# Changes that may move a block's frame (a move only when a moved layer is in a block).
_REFRAME = {"node_added", "node_removed", "node_renamed", "path_changed", "node_moved"}
# Changes that may change which blocks a layer is in.
_REPATH = {"node_added", "node_removed", "node_renamed", "path_changed", "reset"}


@dataclass(frozen=True)
class BlockRef:
    """A context-menu target: the collapsed block drawn as one node."""

    block: str


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
        self.groups: dict[str, GroupItem] = {}  # collapsed block -> its node
        self.members: dict[str, tuple[str, ...]] = {}  # collapsed block -> its layers
        self.hidden: dict[str, str] = {}  # layer inside a collapsed block -> the block
        self.fold = Fold()
        self._proxies: list[EdgeItem] = []  # wires drawn to and from collapsed blocks
        self._proxies_of: dict[str, set[EdgeItem]] = {}
        self._proxy_of: dict[Edge, EdgeItem] = {}
        self.frames: dict[str, BlockFrameItem] = {}  # expanded block -> its frame
        self._frames_stale = False
        self._in_blocks: dict[str, list[str]] | None = None  # layer -> blocks around it
        # Document changes arrive one layer at a time (an insert moves every layer below);
        # the collapsed view is brought up to date once, after the burst.
        self._regroup = QTimer(self)
        self._regroup.setSingleShot(True)
        self._regroup.setInterval(0)
        self._regroup.timeout.connect(self.refresh_blocks)
        # Wires whose ends moved while document changes were applied: each is redrawn once,
        # when the edit is done (an insert moves every layer below, each wire's two ends).
        self._dirty: set[EdgeItem] = set()
        self._syncing = False
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self.flush)
        session.stack.indexChanged.connect(self.flush)
        self.snap_to_grid = True
        self.grid_visible = True  # off while a diagram is exported (app/ui/diagram.py)
        self.interaction: Interaction | None = None
        self.note = _NoteItem()
        self.addItem(self.note)
        session.documentChanged.connect(self._on_change)
        session.documentReplaced.connect(self.rebuild)
        session.resultsChanged.connect(self.apply_results)
        session.sectionChanged.connect(self._on_section)
        theme.notifier.changed.connect(self._restyle_wires)
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
        self._in_blocks = None
        doc = self.session.doc
        for node in doc.nodes:
            self._add_node(node.name)
        for edge in doc.edges:
            self._add_edge(edge)
        self.refresh_blocks()
        self.reframe()
        self.apply_results(list(self.nodes))
        self.show_frozen()

    def _on_change(self, change: Change) -> None:
        handler = getattr(self, f"_on_{change.kind}", None)
        if handler is not None:
            self._syncing = True
            try:
                handler(change)
            finally:
                self._syncing = False
        if change.kind in _REPATH:
            self._in_blocks = None
        if change.kind in _REFRAME and (change.kind != "node_moved" or any(
                n in self.in_blocks() for n in change.nodes)):
            self._frames_stale = True
            if not self._flush.isActive():
                self._flush.start()
        if (self._folding() and (change.kind in _REGROUP or change.kind == "node_moved")
                and not self._regroup.isActive()):
            self._regroup.start()

    def _on_section(self, name: str) -> None:
        if name == "canvas":
            self.refresh_blocks()
        elif name == "training":
            self.show_frozen()

    def show_frozen(self) -> None:
        """Mark the layers training.freeze covers, and collapsed blocks whose layers with
        weights are all frozen."""
        frozen: set[str] = set()
        entries = self.session.project.training.get("freeze") or []
        if isinstance(entries, list) and entries:
            from app.training.pretrained import frozen_layers

            frozen = frozen_layers(self.session.doc, [e for e in entries if isinstance(e, str)])
        for name, item in self.nodes.items():
            item.set_frozen(name in frozen)
        doc = self.session.doc
        for block, group in self.groups.items():
            weighted = [n for n in self.members.get(block, ())
                        if doc.node(n).spec.count is not None]
            group.set_frozen(bool(weighted) and all(n in frozen for n in weighted))

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
        for name in change.nodes:
            if name not in self.hidden:  # a hidden layer is placed when its block opens
                self._place(self.nodes[name], self.canvas_pos(name))

    def _place(self, item: NodeItem | GroupItem, pos: QPointF) -> None:
        """Put an item where the document says (not snapped) and move its wires."""
        if item.pos() != pos:
            item.setPos(pos)
            self.node_moved(item)

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

    def _restyle_wires(self, *_: object) -> None:
        for wire in (*self.edges.values(), *self._proxies):
            wire.restyle()
        for item in (*self.nodes.values(), *self.groups.values()):
            item.update()  # their cached pictures are in the old colours

    def set_cached(self, cached: bool) -> None:
        """Layers and blocks keep their picture (BoxItem); off while a diagram is rendered,
        which must draw the text itself, not a pixmap of it."""
        mode = (QGraphicsItem.CacheMode.DeviceCoordinateCache if cached
                else QGraphicsItem.CacheMode.NoCache)
        for item in (*self.nodes.values(), *self.groups.values()):
            item.setCacheMode(mode)

    def _refresh_port(self, port: PortItem) -> None:
        """An output may feed several wires: it is drawn connected while any remains."""
        port.set_connected(any(e.src is port for e in self._edges_of.get(port.node_name, ())))

    def _on_reset(self, change: Change) -> None:
        self.rebuild()

    def _add_node(self, name: str) -> NodeItem:
        item = NodeItem(self.session.doc.node(name))
        self.nodes[name] = item
        if self.fold:
            item.setPos(self.canvas_pos(name))
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

    def node_moved(self, item: NodeItem | GroupItem) -> None:
        """A NodeItem or GroupItem moved: mid-drag its wires follow at once; while the
        document's changes are applied they are redrawn once, by `flush`."""
        wires = self._edges_of.get(item.name, ()) if isinstance(item, NodeItem) else ()
        proxies = self._proxies_of.get(item.name, ())
        if self._syncing:
            self._dirty.update(wires)
            self._dirty.update(proxies)
            if not self._flush.isActive():  # restarting a timer per layer costs more
                self._flush.start()
            return
        for wire in (*wires, *proxies):
            wire.update_path()

    def flush(self) -> None:
        """Redraw each wire whose ends moved during the last edit, once; hidden wires (inside
        a collapsed block) are redrawn when they are shown."""
        self._flush.stop()
        dirty, self._dirty = self._dirty, set()
        for wire in dirty:
            if wire.scene() is self and wire.isVisible():
                wire.update_path()
        if self._frames_stale:
            self.reframe()

    def reframe(self) -> None:
        """Frame each expanded block around what is shown of it: its layers and the
        collapsed blocks inside it (app.ui.canvas.block_frame)."""
        self._frames_stale = False
        cards: dict[str, QRectF] = {}

        def add(blocks: list[str], pos: QPointF) -> None:
            card = QRectF(pos, QSizeF(WIDTH, HEIGHT))
            for block in blocks:
                rect = cards.get(block)
                cards[block] = card if rect is None else rect.united(card)

        blocks_of = {name: blocks for name, blocks in self.in_blocks().items()
                     if name not in self.hidden and name in self.nodes}
        for name, blocks in blocks_of.items():
            add(blocks, self.nodes[name].pos())
        for block, group in self.groups.items():
            parts = block.split(".")
            add([".".join(parts[:i]) for i in range(1, len(parts))], group.pos())
        for name, blocks in blocks_of.items():  # a shortcut arcing beside its block
            for wire in self._edges_of.get(name, ()):
                if wire.edge.src == name and wire.edge.dst in blocks_of and wire.isVisible():
                    for block in blocks:
                        if block in blocks_of[wire.edge.dst]:
                            cards[block] = cards[block].united(wire.path().boundingRect())
        inside = dict.fromkeys(cards, 0)  # levels of framed blocks inside each
        for block in cards:
            parts = block.split(".")
            for i in range(1, len(parts)):
                outer = ".".join(parts[:i])
                inside[outer] = max(inside[outer], len(parts) - i)
        for block in list(self.frames):
            if block not in cards:
                self.removeItem(self.frames.pop(block))
        for block in cards:
            if block not in self.frames:
                self.frames[block] = BlockFrameItem(block)
                self.addItem(self.frames[block])
        for block, rect in cards.items():
            parts = block.split(".")
            outer = [self.frames[o] for o in (".".join(parts[:i]) for i in range(1, len(parts)))
                     if o in self.frames]
            self.frames[block].set_frame(frame_rect(rect, inside[block]), outer)

    def in_blocks(self) -> dict[str, list[str]]:
        """The layers inside blocks -> the blocks around each, outermost first (kept until
        a layer is added, removed, renamed or regrouped)."""
        if self._in_blocks is None:
            doc = self.session.doc
            self._in_blocks = {n.name: blocks for n in doc.nodes
                               if (blocks := enclosing_blocks(doc, n.name))}
        return self._in_blocks

    def apply_results(self, names: list[str]) -> None:
        for name in names:
            item = self.nodes.get(name)
            if item is not None:
                item.set_result(self.session.result(name))
        if names:
            self._summarise_blocks()

    # -- collapsed blocks --------------------------------------------------------------------
    def collapsed(self) -> list[str]:
        """The blocks the project's canvas section lists as collapsed (a view state)."""
        value = self.session.project.canvas.get(COLLAPSED, [])
        return [b for b in value if isinstance(b, str)] if isinstance(value, list) else []

    def set_collapsed(self, block: str, collapsed: bool) -> None:
        """Collapse or expand a block in place. Not an edit of the network, so not an undo
        step (like zoom or scrolling): it is saved with the project's canvas section."""
        blocks = set(self.collapsed())
        blocks = blocks | {block} if collapsed else blocks - {block}
        self.session.set_view_state(COLLAPSED, sorted(blocks))  # -> _on_section
        if collapsed and block in self.groups:
            self.clearSelection()
            self.groups[block].setSelected(True)

    def set_all_collapsed(self, collapsed: bool) -> None:
        """Collapse every outermost block (as ResNet-18 opens), or expand every block: one
        view-state change, so the canvas is redrawn once."""
        outer = {module_path(n).split(".")[0] for n in self.session.doc.nodes
                 if "." in module_path(n)}
        self.session.set_view_state(COLLAPSED, sorted(outer) if collapsed else [])

    def _folding(self) -> bool:
        return bool(self.groups) or bool(self.collapsed())

    def canvas_pos(self, name: str) -> QPointF:
        """Where a layer is drawn: its document position with collapsed rows folded away."""
        x, y = self.session.doc.node(name).pos
        return QPointF(x, self.fold(y))

    def refresh_blocks(self) -> None:
        """Show the collapsed blocks as group nodes: hide their layers and the wires inside,
        draw the wires that cross their edges to the group's ports, fold their rows."""
        self._regroup.stop()
        doc = self.session.doc
        members = collapsed_members(doc, self.collapsed()) if doc.nodes else {}
        if not members and not self.groups and not self.hidden:
            return
        self.members = members
        self.hidden = {name: block for block, names in members.items() for name in names}
        spans = {block: (min(doc.node(n).pos[1] for n in names),
                         max(doc.node(n).pos[1] for n in names))
                 for block, names in members.items()}
        self.fold = Fold(list(spans.values()))
        self._syncing = True
        try:
            for block in list(self.groups):
                if block not in members:
                    self.removeItem(self.groups.pop(block))
            for name, item in self.nodes.items():
                if name in self.hidden:
                    if item.isVisible():
                        item.setVisible(False)
                    continue
                self._place(item, self.canvas_pos(name))
                if not item.isVisible():
                    item.setVisible(True)
            for block, names in members.items():
                group = self.groups.get(block)
                if group is None:
                    group = self.groups[block] = GroupItem(block)
                    self.addItem(group)
                group.set_boundary(boundary(doc, names))
                top = min(names, key=lambda n: (doc.node(n).pos[1], doc.node(n).pos[0]))
                self._place(group, QPointF(doc.node(top).pos[0], self.fold(spans[block][0])))
            self._rewire_blocks()
        finally:
            self._syncing = False
        self._frames_stale = True
        self.flush()
        self._summarise_blocks()
        self.show_frozen()

    def _rewire_blocks(self) -> None:
        for proxy in self._proxies:
            self.removeItem(proxy)
        self._proxies, self._proxies_of, self._proxy_of = [], {}, {}
        drawn: dict[tuple[object, object], EdgeItem] = {}
        for item in self.edges.values():
            e = item.edge
            src_block, dst_block = self.hidden.get(e.src), self.hidden.get(e.dst)
            visible = src_block is None and dst_block is None
            if item.isVisible() != visible:
                item.setVisible(visible)
                if visible:  # its ends may have moved while it was hidden
                    self._dirty.add(item)
            if visible:
                continue
            if src_block is not None and src_block == dst_block:
                continue  # inside one block
            src = (self.groups[src_block].output_for(e.src, e.src_port) if src_block
                   else self.nodes[e.src].outputs[e.src_port])
            dst = (self.groups[dst_block].input_for(e.src, e.src_port) if dst_block
                   else self.nodes[e.dst].inputs[e.dst_port])
            proxy = drawn.get((src, dst))
            if proxy is None:
                proxy = drawn[(src, dst)] = EdgeItem(e, src, dst)
                self._proxies.append(proxy)
                for end in (src, dst):
                    end.set_connected(True)
                    self._proxies_of.setdefault(end.parentItem().name, set()).add(proxy)
                self.addItem(proxy)
            else:
                proxy.wires += (e,)
            self._proxy_of[e] = proxy
        for proxy in self._proxies:
            if len(proxy.wires) > 1:
                proxy.setToolTip("\n".join(f"{w.src}.{w.src_port} → {w.dst}.{w.dst_port}"
                                           for w in proxy.wires))

    def _summarise_blocks(self) -> None:
        if not self.groups:
            return
        doc, results = self.session.doc, self.session.results
        for block, group in self.groups.items():
            group.set_summary(block_summary(doc, results, self.members[block]))

    def wires_through(self, edge: Edge) -> tuple[Edge, ...]:
        """The document wires drawn as the same line as `edge` (several into a block)."""
        proxy = self._proxy_of.get(edge)
        return proxy.wires if proxy is not None else (edge,)

    def edge_item(self, edge: Edge) -> EdgeItem:
        """The line drawing a document wire (shared when it crosses a collapsed block)."""
        return self._proxy_of.get(edge) or self.edges[(edge.dst, edge.dst_port)]

    def item_for(self, name: str) -> NodeItem | GroupItem | None:
        """The item showing a layer: its own, or its collapsed block's."""
        block = self.hidden.get(name)
        return self.groups.get(block) if block is not None else self.nodes.get(name)

    def show_health(self, flags: dict[str, str]) -> None:
        """Training-health findings ({node: message}) as badges; {} clears them."""
        for name, item in self.nodes.items():
            item.set_health(flags.get(name, ""))

    # -- queries -----------------------------------------------------------------------------
    def selected_nodes(self) -> list[str]:
        """The selected layers; a selected collapsed block stands for all its layers, so
        delete, copy, duplicate and group act on the whole block (one undo step)."""
        names: list[str] = []
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                names.append(item.name)
            elif isinstance(item, GroupItem):
                names.extend(self.members.get(item.name, ()))
        return names

    def selected_blocks(self) -> list[str]:
        return [i.name for i in self.selectedItems() if isinstance(i, GroupItem)]

    def selected_edges(self) -> list[Edge]:
        return [w for i in self.selectedItems() if isinstance(i, EdgeItem) for w in i.wires]

    def select_nodes(self, names: list[str]) -> None:
        """Select layers; one inside a collapsed block selects the block."""
        self.clearSelection()
        for name in names:
            item = self.item_for(name)
            if item is not None:
                item.setSelected(True)

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
            if isinstance(item, NodeItem | GroupItem):
                return None
        return None

    def insert_on_wire(self, edge: Edge, layer_type: str) -> bool:
        """A layer dropped on a wire: inserted there and wired, downstream nodes make room;
        one undo step. The new layer is selected. On a wire into a collapsed block the
        layer feeds every layer of the block that wire stands for."""
        wires = self.wires_through(edge)
        label = f"Insert {layer_type} on {edge.src} → {edge.dst}"
        try:
            if len(wires) > 1:
                command = insert_on_wires_command(self.session, list(wires), layer_type,
                                                  f"Insert {layer_type} on {edge.src} → "
                                                  f"{self.hidden.get(edge.dst, edge.dst)}")
            else:
                command = insert_layer_command(self.session, edge.dst, edge.dst_port,
                                               layer_type, {}, label)
        except DocumentError as exc:
            self.session.report(str(exc))
            return False
        if not self.session.push(command):
            return False
        self.select_nodes([command.children[0].name])
        return True

    def node_at(self, pos: QPointF) -> NodeItem | GroupItem | None:
        """The layer or collapsed block under `pos`."""
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, NodeItem | GroupItem):
                return item
        return None

    def visible_items(self) -> list[NodeItem | GroupItem]:
        shown: list[NodeItem | GroupItem] = [i for n, i in self.nodes.items()
                                             if n not in self.hidden]
        return shown + list(self.groups.values())

    def wirable_ports(self, inputs: bool) -> list[PortItem]:
        """The ports a dragged wire may end on: inputs or outputs of what is shown."""
        return [port for item in self.visible_items()
                for port in (item.inputs if inputs else item.outputs).values() if port.wirable]

    def nodes_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.visible_items():
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
            if port is not None and port.wirable:
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
        if isinstance(self.interaction, MoveNodesInteraction):
            self.interaction.dragged()

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
        """On a layer: edit it in the inspector; on a collapsed block: expand it."""
        node = self.node_at(event.scenePos())
        if isinstance(node, GroupItem):
            self.interaction = None
            self.set_collapsed(node.name, False)
            event.accept()
            return
        if node is not None:
            self.nodeActivated.emit(node.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        pos = event.scenePos()
        self.request_menu(self.target_at(pos), pos, event.screenPos())
        event.accept()

    def target_at(self, pos: QPointF) -> object:
        """What a right-click at `pos` is about: a layer's name, a BlockRef, an Edge, None."""
        node = self.node_at(pos)
        if isinstance(node, GroupItem):
            return BlockRef(node.name)
        if node is not None:
            return node.name
        edge = self.edge_at(pos)
        return edge.edge if edge is not None else None

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
