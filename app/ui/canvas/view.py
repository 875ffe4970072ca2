"""CanvasView: zoom to cursor, pan, rubber-band selection, fit, and palette drops."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from app.ui.canvas.edge_item import EdgeItem
from app.ui.canvas.minimap import Minimap
from app.ui.canvas.node_item import GRID, HEIGHT, WIDTH
from app.ui.canvas.scene import BlockRef, CanvasScene

LAYER_MIME = "application/x-torchcanvas-layer"
MIN_ZOOM, MAX_ZOOM = 0.1, 3.0


class CanvasView(QGraphicsView):
    layerDropped = Signal(str, QPointF)  # layer type, scene position of the node's corner
    zoomChanged = Signal(float)

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._pan_from: QPointF | None = None
        self._space = False
        self._drop_wire: EdgeItem | None = None
        self.setSceneRect(QRectF(-5000, -5000, 10000, 10000))
        self.minimap = Minimap(self)

    @property
    def canvas(self) -> CanvasScene:
        return self.scene()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self.minimap.refresh()

    # -- zoom --------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.zoomChanged.emit(self.zoom())

    def zoom_by(self, step: float) -> None:
        """Keyboard and menu zoom: keeps the selection (else the view's centre) in place;
        the pointer may be anywhere, even outside the canvas."""
        selected = [self.canvas.item_for(n).sceneBoundingRect()
                    for n in self.canvas.selected_nodes() if n in self.canvas.nodes]
        if selected:
            rect = selected[0]
            for r in selected[1:]:
                rect = rect.united(r)
            centre = rect.center()
        else:
            centre = self.mapToScene(self.viewport().rect().center())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.set_zoom(self.zoom() * step)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.centerOn(centre)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)  # shift+wheel scrolls, as in most editors
            return
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom() * 1.15 ** steps)  # anchored under the mouse
        event.accept()

    def _grow_scene_rect(self, rect: QRectF) -> None:
        self.setSceneRect(self.sceneRect().united(rect.adjusted(-2000, -2000, 2000, 2000)))

    def fit_all(self) -> None:
        rect = self.canvas.nodes_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self._grow_scene_rect(rect)
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.set_zoom(1.0)
            self.centerOn(rect.center())
        self.zoomChanged.emit(self.zoom())

    def show_network(self) -> None:
        """On opening: the whole network (nodes stay legible at low zoom: see NodeItem)."""
        self.fit_all()

    def centre_on_node(self, name: str) -> None:
        item = self.canvas.item_for(name)
        if item is not None:
            self.ensureVisible(item.sceneBoundingRect(), 80, 80)

    def free_spot(self) -> QPointF:
        """Where a double-clicked palette layer lands: the centre of what is visible."""
        centre = self.mapToScene(self.viewport().rect().center())
        return QPointF(round((centre.x() - WIDTH / 2) / GRID) * GRID,
                       round((centre.y() - HEIGHT / 2) / GRID) * GRID)

    # -- pan: middle button, or space + left button ------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value()
                                                - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_Escape:
            self.canvas.cancel_interaction()
            self.canvas.clearSelection()
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """The menu key / Shift+F10 opens the menu of the selected layer or wire."""
        if event.reason() != QContextMenuEvent.Reason.Keyboard:
            super().contextMenuEvent(event)
            return
        nodes, edges = self.canvas.selected_nodes(), self.canvas.selected_edges()
        blocks = self.canvas.selected_blocks()
        if blocks:
            target, pos = BlockRef(blocks[0]), self.canvas.groups[blocks[0]].centre()
        elif nodes:
            item = self.canvas.nodes[nodes[0]]
            target, pos = nodes[0], item.centre()
        elif edges:
            item = self.canvas.edge_item(edges[0])
            target, pos = edges[0], item.path().pointAtPercent(0.5)
        else:
            target, pos = None, self.mapToScene(self.viewport().rect().center())
        self.canvas.request_menu(target, pos,
                                 self.viewport().mapToGlobal(self.mapFromScene(pos)))
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
        super().keyReleaseEvent(event)

    # -- drops from the palette --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
            self._highlight_wire(self.canvas.edge_at(self.mapToScene(event.position().toPoint())))
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._highlight_wire(None)
        super().dragLeaveEvent(event)

    def _highlight_wire(self, edge: EdgeItem | None) -> None:
        if edge is not self._drop_wire:
            for item, on in ((self._drop_wire, False), (edge, True)):
                if item is not None and item.scene() is not None:
                    item.set_hovered(on)
            self._drop_wire = edge

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        self._highlight_wire(None)
        layer_type = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8")
        pos = self.mapToScene(event.position().toPoint())
        wire = self.canvas.edge_at(pos)
        if wire is not None and self.canvas.insert_on_wire(wire.edge, layer_type):
            event.acceptProposedAction()
            return
        corner = QPointF(round((pos.x() - WIDTH / 2) / GRID) * GRID,
                         round((pos.y() - HEIGHT / 2) / GRID) * GRID)
        self.layerDropped.emit(layer_type, corner)
        event.acceptProposedAction()
