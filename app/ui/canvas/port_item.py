"""A node's input or output port: a small circle that wires start from and end on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.ui import theme

if TYPE_CHECKING:
    from app.ui.canvas.node_item import NodeItem

RADIUS = 5.0
HIT = 9.0  # generous hit area: small circles are hard to grab with a trackpad

NORMAL, COMPATIBLE, REFUSED, HOVER = "normal", "compatible", "refused", "hover"


class PortItem(QGraphicsItem):
    """Child of a NodeItem; `is_input` ports sit on the top edge, outputs on the bottom."""

    wirable = True  # wires may be dragged from and to it (see BlockPortItem)

    def __init__(self, node: NodeItem, port: str, is_input: bool) -> None:
        super().__init__(node)
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

    def boundingRect(self) -> QRectF:
        return QRectF(-HIT, -HIT, 2 * HIT, 2 * HIT)

    def scene_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(0, 0))

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.update()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.4:
            return  # too small to aim at; the node's block is enough at this zoom
        t = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(t.edge)
        radius = RADIUS
        if self.state == COMPATIBLE:
            colour, radius = QColor(t.ok), RADIUS + 2
        elif self.state == REFUSED:
            colour = QColor(t.error)
        elif self.state == HOVER:
            colour, radius = QColor(t.accent), RADIUS + 1.5
        painter.setPen(QPen(colour, 2))
        painter.setBrush(QBrush(colour if self.connected or self.state == COMPATIBLE
                                else QColor(t.node)))
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    def hoverEnterEvent(self, event) -> None:
        if self.state == NORMAL:
            self.set_state(HOVER)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        if self.state == HOVER:
            self.set_state(NORMAL)
        super().hoverLeaveEvent(event)

