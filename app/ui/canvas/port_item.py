"""A node's input or output port: a small circle that wires start from and end on.

The port item is the circle's hit area (a plain rectangle item: Qt tests and indexes it
without calling Python); the node draws the circles (`paint_ports`), so a repaint of a
big network makes one Python paint call per layer, not one per port as well."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from app.ui import theme

if TYPE_CHECKING:
    from app.ui.canvas.node_item import NodeItem

RADIUS = 5.0
HIT = 9.0  # generous hit area: small circles are hard to grab with a trackpad

LOD_PORTS = 0.4  # below this zoom ports are too small to aim at: not drawn

NORMAL, COMPATIBLE, REFUSED, HOVER = "normal", "compatible", "refused", "hover"


class PortItem(QGraphicsRectItem):
    """Child of a NodeItem; `is_input` ports sit on the top edge, outputs on the bottom."""

    wirable = True  # wires may be dragged from and to it (see BlockPortItem)

    def __init__(self, node: NodeItem, port: str, is_input: bool) -> None:
        super().__init__(QRectF(-HIT, -HIT, 2 * HIT, 2 * HIT), node)
        self.setPen(Qt.PenStyle.NoPen)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.node = node
        self.port = port
        self.is_input = is_input
        self.state = NORMAL
        self.connected = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self.setToolTip(self._tooltip())

    @property
    def node_name(self) -> str:
        return self.node.name

    def _tooltip(self) -> str:
        kind = "input" if self.is_input else "output"
        return f"{kind} '{self.port}': drag to another port to connect"

    def scene_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(0, 0))

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.node.update()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.node.update()

    def hoverEnterEvent(self, event) -> None:
        if self.state == NORMAL:
            self.set_state(HOVER)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        if self.state == HOVER:
            self.set_state(NORMAL)
        super().hoverLeaveEvent(event)



def paint_ports(painter: QPainter, ports: Iterable[PortItem]) -> None:
    """The circles of a node's ports, in the node's coordinates: filled when wired, green
    or red while a wire is dragged, highlighted under the pointer."""
    t = theme.current()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for port in ports:
        colour = QColor(t.edge)
        radius = RADIUS
        if port.state == COMPATIBLE:
            colour, radius = QColor(t.ok), RADIUS + 2
        elif port.state == REFUSED:
            colour = QColor(t.error)
        elif port.state == HOVER:
            colour, radius = QColor(t.accent), RADIUS + 1.5
        painter.setPen(QPen(colour, 2))
        painter.setBrush(QBrush(colour if port.connected or port.state == COMPATIBLE
                                else QColor(t.node)))
        painter.drawEllipse(port.pos(), radius, radius)
