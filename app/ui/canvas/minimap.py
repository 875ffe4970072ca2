"""The overview in the canvas's corner: the whole network small, with the visible part
outlined; clicking or dragging in it moves the view there. Hidden while the whole
network fits in the view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.ui import theme
from app.ui.canvas.group_item import BLOCK_COLOUR, GroupItem

if TYPE_CHECKING:
    from app.ui.canvas.view import CanvasView

SIZE = (150, 190)
MARGIN = 12
PAD = 6.0


class Minimap(QWidget):
    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        self.view = view
        self.setFixedSize(*SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._area = QRectF()
        self.hide()
        view.horizontalScrollBar().valueChanged.connect(self.refresh)
        view.verticalScrollBar().valueChanged.connect(self.refresh)
        view.zoomChanged.connect(self.refresh)
        view.canvas.changed.connect(self.refresh)

    def visible_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def refresh(self, *_: object) -> None:
        """Shown only when part of the network is out of view; placed in the corner."""
        nodes = self.view.canvas.nodes_rect()
        needed = not nodes.isNull() and not self.visible_rect().contains(nodes)
        if needed:
            self._area = nodes.adjusted(-40, -40, 40, 40)
            viewport = self.view.viewport().geometry()
            self.move(viewport.right() - self.width() - MARGIN,
                      viewport.bottom() - self.height() - MARGIN)
            self.update()
        if needed != self.isVisible():
            self.setVisible(needed)

    def _scale(self) -> tuple[float, QPointF]:
        """Scene -> minimap: a factor and the minimap point of the area's top-left corner."""
        area = self._area
        factor = min((self.width() - 2 * PAD) / max(area.width(), 1.0),
                     (self.height() - 2 * PAD) / max(area.height(), 1.0))
        left = (self.width() - area.width() * factor) / 2
        top = (self.height() - area.height() * factor) / 2
        return factor, QPointF(left, top)

    def to_map(self, rect: QRectF) -> QRectF:
        factor, origin = self._scale()
        return QRectF(origin.x() + (rect.left() - self._area.left()) * factor,
                      origin.y() + (rect.top() - self._area.top()) * factor,
                      rect.width() * factor, rect.height() * factor)

    def to_scene(self, point: QPointF) -> QPointF:
        factor, origin = self._scale()
        return QPointF(self._area.left() + (point.x() - origin.x()) / factor,
                       self._area.top() + (point.y() - origin.y()) / factor)

    def paintEvent(self, event: QPaintEvent) -> None:
        t = theme.current()
        painter = QPainter(self)
        background = QColor(t.base)
        background.setAlpha(235)
        painter.setPen(QPen(QColor(t.node_border), 1))
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        for item in self.view.canvas.visible_items():
            colour = (QColor(BLOCK_COLOUR) if isinstance(item, GroupItem)
                      else theme.category_colour(item.category))
            painter.setBrush(colour)
            rect = self.to_map(QRectF(item.pos(), item.shape().boundingRect().size()))
            painter.drawRect(rect.adjusted(0, 0, 0, max(0.0, 1.5 - rect.height())))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(t.accent), 1.5))
        painter.drawRect(self.to_map(self.visible_rect()).intersected(
            QRectF(self.rect()).adjusted(1, 1, -1, -1)))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.view.centerOn(self.to_scene(event.position()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.to_scene(event.position()))
        event.accept()
