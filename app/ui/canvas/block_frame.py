"""The light frame drawn around an expanded block's layers, with the block's name on a tab,
so a student sees which layers make up `layer1` (and, inside it, `layer1.0`).

Frames are a view of the module paths, like collapsed blocks: the scene places them
(`CanvasScene.reframe`) around the layers it shows; they take no clicks and sit behind
the layers and wires. Nested blocks get nested frames: a block with blocks inside keeps
more room around its layers, so the inner tabs stay readable.
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
        self.setZValue(-1)  # behind wires (0) and layers (1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def set_frame(self, rect: QRectF) -> None:
        if rect != self.frame:
            self.prepareGeometryChange()
            self.frame = rect

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
        font = _pixel_font(pixels)
        room = self.frame.width() - 24
        name = QFontMetricsF(font).elidedText(self.name, Qt.TextElideMode.ElideMiddle, room)
        width = QFontMetricsF(font).horizontalAdvance(name) + pixels
        # Nested blocks share their top row: inner tabs sit at the other end of the edge.
        left = (self.frame.left() + 12 if self.name.count(".") % 2 == 0
                else self.frame.right() - 12 - width)
        tab = QRectF(left, self.frame.top() - (pixels + 6) / 2, width, pixels + 6)
        painter.setPen(QPen(line, 1))
        painter.setBrush(QColor(t.canvas))
        painter.drawRoundedRect(tab, 5, 5)
        painter.setFont(font)
        painter.setPen(QColor(t.muted))
        painter.drawText(tab, Qt.AlignmentFlag.AlignCenter, name)
