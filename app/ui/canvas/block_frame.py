"""The light frame drawn around an expanded block's layers, with the block's name on a tab,
so a student sees which layers make up `layer1` (and, inside it, `layer1.0`).

Frames are a view of the module paths, like collapsed blocks: the scene places them
(`CanvasScene.reframe`) around the layers it shows; they take no clicks and sit behind
the layers and wires. Nested blocks get nested frames: a block with blocks inside keeps
more room around its layers, and an inner block's tab starts right of the tabs of the
blocks around it where they would meet (`layer1.0` beside `layer1`), so every name stays
readable at every zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.ui import theme
from app.ui.canvas.node_item import _pixel_font

SIDE, TOP, BOTTOM = 12.0, 14.0, 6.0  # room around the layers, per level of blocks inside
TEXT_PX = 11.0  # the name's height on screen; in scene units it grows as the view zooms out
MAX_TEXT = 2 * TEXT_PX  # ... up to this (scene units), so the tab stays above the layers
MIN_LOD = 0.3  # below this zoom the name would be unreadable: only the frame is drawn


def frame_rect(layers: QRectF, levels_inside: int) -> QRectF:
    """The frame around `layers` (the scene rect of the layers' cards) of a block with
    `levels_inside` levels of framed blocks inside it."""
    k = levels_inside + 1
    return layers.adjusted(-SIDE * k, -TOP * k, SIDE * k, BOTTOM * k)


class BlockFrameItem(QGraphicsItem):
    def __init__(self, block: str) -> None:
        super().__init__()
        self.name = block
        self.frame = QRectF()
        self.outer: list[BlockFrameItem] = []  # the frames of the blocks around it
        self.setZValue(-1)  # behind wires (0) and layers (1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def set_frame(self, rect: QRectF, outer: list[BlockFrameItem]) -> None:
        self.outer = outer
        if rect != self.frame:
            self.prepareGeometryChange()
            self.frame = rect
        self.update()  # an outer frame's tab may have moved

    def tab(self, pixels: int) -> tuple[QRectF, str]:
        """The name tab on the top edge at a text height of `pixels` scene units, and the
        name as it fits: after the tabs of the frames around it that share its row."""
        font = _pixel_font(pixels)
        metrics = QFontMetricsF(font)
        height = pixels + 6
        top = self.frame.top() - height / 2
        left = self.frame.left() + 12
        for outer in self.outer:
            other, _ = outer.tab(pixels)
            if other.top() < top + height and top < other.bottom():
                left = max(left, other.right() + 6)
        pad = pixels / 2  # around the text, both sides together
        room = max(0.0, self.frame.right() - 6 - left - pad)
        name = metrics.elidedText(self.name, Qt.TextElideMode.ElideMiddle, room)
        return QRectF(left, top, metrics.horizontalAdvance(name) + pad, height), name

    def boundingRect(self) -> QRectF:
        return self.frame.adjusted(-2, -(MAX_TEXT + 6) / 2 - 2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = theme.current()
        line = QColor(t.muted)
        line.setAlpha(150)
        fill = QColor(t.accent)
        fill.setAlpha(12)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(line, 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(self.frame, 12, 12)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < MIN_LOD:
            return
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        pixels = int(min(MAX_TEXT, TEXT_PX / lod))
        tab, name = self.tab(pixels)
        if not name:
            return
        painter.setPen(QPen(line, 1))
        painter.setBrush(QColor(t.canvas))
        painter.drawRoundedRect(tab, 5, 5)
        painter.setFont(_pixel_font(pixels))
        painter.setPen(QColor(t.muted))
        painter.drawText(tab, Qt.AlignmentFlag.AlignCenter, name)
