"""A wire between an output port and an input port, drawn as a vertical S-curve."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from app.core.graph import Edge
from app.ui import theme
from app.ui.canvas.port_item import PortItem

SKIP_ROWS = 160.0  # a wire longer than this, nearly vertical, would run behind layers
BULGE = 190.0


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """Leaves the output downwards and enters the input from above, whatever the layout.

    Skip connections (residual shortcuts) would otherwise run straight behind the layers
    they skip, so they arc out to the right, as in the ResNet paper's figures.
    """
    dy, dx = end.y() - start.y(), end.x() - start.x()
    bend = max(40.0, abs(dy) / 2, abs(dx) / 4)
    path = QPainterPath(start)
    if dy > SKIP_ROWS and abs(dx) < BULGE:
        side = min(dy / 3, 120.0)
        path.cubicTo(QPointF(start.x() + BULGE, start.y() + side),
                     QPointF(end.x() + BULGE, end.y() - side), end)
        return path
    path.cubicTo(QPointF(start.x(), start.y() + bend), QPointF(end.x(), end.y() - bend), end)
    return path


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge: Edge, src: PortItem, dst: PortItem) -> None:
        super().__init__()
        self.edge = edge
        # The document's wires it draws: one, or several into / out of a collapsed block
        # (all from the same output, see CanvasScene.refresh_blocks).
        self.wires: tuple[Edge, ...] = (edge,)
        self.src = src
        self.dst = dst
        self.hovered = False
        self._shape: QPainterPath | None = None  # the clickable band, made when first asked
        self._ends = (QPointF(), QPointF())  # the port anchors the path was drawn for
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self.setToolTip(f"{edge.src}.{edge.src_port} → {edge.dst}.{edge.dst_port}")
        self.restyle()
        self.update_path()

    def update_path(self) -> None:
        start, end = self.src.scene_anchor(), self.dst.scene_anchor()
        old_start, old_end = self._ends
        if (start, end) == self._ends:
            return
        self._ends = (start, end)
        if self.path().elementCount() and end - start == old_end - old_start:
            # Both ends moved alike (an insert moves every layer below it down a row): the
            # same curve, shifted.
            shift = start - old_start
            self.setPath(self.path().translated(shift))
            if self._shape is not None:
                self._shape.translate(shift)
            return
        self._shape = None
        self.setPath(curve(start, end))

    def restyle(self) -> None:
        """The pen for the wire's state (selected, hovered) in the current theme: set when
        the state or the theme changes, not when the wire moves."""
        t = theme.current()
        if self.isSelected():
            pen = QPen(QColor(t.accent), 3)
        elif self.hovered:  # also the drop target of a dragged layer: plain to see
            pen = QPen(QColor(t.accent), 4.5)
        else:
            pen = QPen(QColor(t.edge), 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10)  # easy to click
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.restyle()
        return super().itemChange(change, value)

    def set_hovered(self, hovered: bool) -> None:
        """Highlighted under the pointer, also while a layer is dragged over it to insert."""
        self.hovered = hovered
        self.restyle()

    def hoverEnterEvent(self, event) -> None:
        self.set_hovered(True)

    def hoverLeaveEvent(self, event) -> None:
        self.set_hovered(False)


class DraftEdgeItem(QGraphicsPathItem):
    """The wire that follows the mouse while a connection is being dragged."""

    def __init__(self, port: PortItem) -> None:
        super().__init__()
        self.port = port
        pen = QPen(QColor(theme.current().accent), 2, Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setZValue(5)

    def follow(self, pos: QPointF) -> None:
        anchor = self.port.scene_anchor()
        if self.port.is_input:
            self.setPath(curve(pos, anchor))
        else:
            self.setPath(curve(anchor, pos))
