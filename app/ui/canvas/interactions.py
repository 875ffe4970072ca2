"""Mouse gestures on the canvas, each in its own state object (as orange-canvas-core does).

The scene creates an interaction on mouse press and forwards move/release to it; the
interaction turns the gesture into one undoable command on release.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from app.ui.canvas.edge_item import DraftEdgeItem
from app.ui.canvas.group_item import GroupItem
from app.ui.canvas.node_item import NodeItem, snapped
from app.ui.canvas.port_item import COMPATIBLE, NORMAL, REFUSED, PortItem
from app.ui.commands import MoveNodesCommand, replace_wire_command

if TYPE_CHECKING:
    from app.ui.canvas.scene import CanvasScene


class Interaction:
    def __init__(self, scene: CanvasScene) -> None:
        self.scene = scene

    def mouse_move(self, pos: QPointF) -> bool:
        """True when the event was consumed."""
        return False

    def mouse_release(self, pos: QPointF) -> None:
        pass

    def cancel(self) -> None:
        pass


class NewEdgeInteraction(Interaction):
    """Drag from a port to a port of the other kind.

    On start every candidate port is asked `doc.can_connect`: compatible ones light up
    green, refused ones red, and hovering a refused one shows the reason next to it.
    """

    def __init__(self, scene: CanvasScene, port: PortItem) -> None:
        super().__init__(scene)
        self.port = port
        self.draft = DraftEdgeItem(port)
        self.reasons: dict[PortItem, str | None] = {}
        self.target: PortItem | None = None

    def _ends(self, other: PortItem) -> tuple[str, str, str, str]:
        if self.port.is_input:
            return other.node_name, other.port, self.port.node_name, self.port.port
        return self.port.node_name, self.port.port, other.node_name, other.port

    def start(self, pos: QPointF) -> None:
        self.scene.addItem(self.draft)
        self.draft.follow(pos)
        doc = self.scene.session.doc
        for other in self.scene.wirable_ports(inputs=not self.port.is_input):
            # An occupied input is no refusal: the new wire replaces the old one.
            reason = doc.can_replace(*self._ends(other))
            self.reasons[other] = reason
            other.set_state(REFUSED if reason else COMPATIBLE)

    def _candidate(self, pos: QPointF) -> PortItem | None:
        port = self.scene.port_at(pos)
        if port is not None and port in self.reasons:
            return port
        node = self.scene.node_at(pos)
        if node is None:
            return None
        return self._best_port(node)

    def _best_port(self, node: NodeItem | GroupItem) -> PortItem | None:
        """Dropping on a node body picks its first port that accepts the wire."""
        ports = [p for p in (node.outputs if self.port.is_input else node.inputs).values()
                 if p in self.reasons]
        for port in ports:
            if self.reasons.get(port) is None:
                return port
        return ports[0] if ports else None

    def mouse_move(self, pos: QPointF) -> bool:
        self.draft.follow(pos)
        target = self._candidate(pos)
        if target is not self.target:
            self.target = target
            if target is not None and self.reasons.get(target):
                text = textwrap.fill(self.reasons[target], 60)
                self.scene.show_note(text, target.scene_anchor(), error=True)
            elif target is not None:
                dst, dst_port = self._ends(target)[2:]
                verb = "replace the wire into" if self.scene.session.doc.incoming(dst).get(
                    dst_port) else "connect to"
                self.scene.show_note(f"{verb} {target.node_name}.{target.port}",
                                     target.scene_anchor(), error=False)
            else:
                self.scene.hide_note()
        return True

    def mouse_release(self, pos: QPointF) -> None:
        target = self._candidate(pos)
        self._clear()
        if target is None:
            return
        reason = self.reasons.get(target)
        if reason:
            self.scene.session.report(f"Cannot connect: {reason}")
            return
        session = self.scene.session
        src, src_port, dst, dst_port = self._ends(target)
        old = session.doc.incoming(dst).get(dst_port)
        if session.push(replace_wire_command(session, src, src_port, dst, dst_port)) and old:
            session.inform(f"Replaced the wire {old.src} → {dst}.{dst_port} by {src} → "
                           f"{dst}.{dst_port}")

    def cancel(self) -> None:
        self._clear()

    def _clear(self) -> None:
        for port in self.reasons:
            port.set_state(NORMAL)
        self.scene.hide_note()
        if self.draft.scene() is not None:
            self.scene.removeItem(self.draft)


class MoveNodesInteraction(Interaction):
    """Qt moves the selected items while dragging; after each step they are snapped to the
    grid and their wires follow (`dragged`); on release one MoveNodesCommand records where
    they ended up, so the document only sees the finished move.

    Items stand where the canvas draws them (collapsed rows folded away), so each moves
    its layers by the distance it was dragged; a collapsed block moves all its layers."""

    def __init__(self, scene: CanvasScene) -> None:
        super().__init__(scene)
        self.start = {item: item.pos() for item in scene.selectedItems()
                      if isinstance(item, NodeItem | GroupItem)}

    def dragged(self) -> None:
        """Called after Qt moved the selected items by the mouse's travel."""
        for item in self.start:
            if item.scene() is None:
                continue
            if self.scene.snap_to_grid:
                grid = snapped(item.pos())
                if grid != item.pos():
                    item.setPos(grid)
            self.scene.node_moved(item)

    def mouse_release(self, pos: QPointF) -> None:
        doc = self.scene.session.doc
        moves = {}
        for item, start in self.start.items():
            if item.scene() is None:
                continue
            delta = item.pos() - start
            if delta.isNull():
                continue
            names = (self.scene.members.get(item.name, ()) if isinstance(item, GroupItem)
                     else (item.name,))
            for name in names:
                x, y = doc.node(name).pos
                moves[name] = ((x, y), (x + delta.x(), y + delta.y()))
        if moves:
            self.scene.session.push(MoveNodesCommand(self.scene.session, moves))
