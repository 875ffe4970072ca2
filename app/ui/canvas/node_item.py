"""A layer on the canvas: type, name, key parameters and output shape, coloured by category.

The item only draws what the scene tells it (node data and its NodeResult); it never
edits the document. Moving it is visual until the move interaction commits a command.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from app.core.graph import Node
from app.ui import theme
from app.ui.canvas.port_item import LOD_PORTS, PortItem, paint_ports

if TYPE_CHECKING:
    from app.core.shapes import NodeResult

WIDTH = 206.0
HEIGHT = 70.0
HEADER = 24.0
GRID = 10.0
# Below this zoom the node's own text would be under 7 px: it is drawn as a coloured block
# with its type and output shape in text kept about 11 px tall on screen (semantic zoom).
LOD_TEXT = 0.6
OVERVIEW_PX = 11.0  # text height on screen in the overview
MIN_PX = 5.0  # smaller text is noise: left out
BADGE_RADIUS = 9.0

# Short labels so the key parameters fit on one line of the node.
_SHORT = {
    "out_channels": "out", "kernel_size": "k", "out_features": "out", "hidden_size": "hidden",
    "num_embeddings": "vocab", "embedding_dim": "dim", "negative_slope": "slope",
    "output_size": "size", "num_groups": "groups", "stride": "s", "padding": "pad",
}
# Shown next to the key parameters when they differ from the default: they change shapes.
_SHAPE_PARAMS = ("stride", "padding")


def format_value(value: Any) -> str:
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(node: Node) -> str:
    spec = node.spec
    parts = []
    for p in spec.params:
        value = node.params.get(p.name)
        if p.key or (p.name in _SHAPE_PARAMS and value not in (None, p.default)):
            if value is None:
                continue
            parts.append(f"{_SHORT.get(p.name, p.name)} {format_value(value)}")
    if spec.variadic:
        parts.append(f"{len(node.input_ports())} inputs")
    return " · ".join(parts)


@lru_cache(maxsize=32)
def _font(size: float, bold: bool = False, italic: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    font.setItalic(italic)
    return font


@lru_cache(maxsize=128)
def _pixel_font(pixels: int, bold: bool = True) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, pixels))
    font.setBold(bold)
    return font


class BoxItem(QGraphicsObject):
    """What a layer and a collapsed block share: a WIDTH x HEIGHT card that the student
    moves, that snaps to the grid and that takes its wires along (wires and layout treat
    both alike).

    The item sends no geometry changes: a Python callback per move would run for every
    layer an insert moves down. The scene moves its wires when it places it, and the move
    interaction snaps it and moves its wires while it is dragged."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        # A moved card is copied, not repainted (an insert moves every layer below it);
        # CanvasScene.set_cached turns this off while a diagram is rendered to a file.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self) -> QRectF:
        # Room for the error badge, the port labels and a block's stacked cards.
        return QRectF(-4, -18, WIDTH + 14, HEIGHT + 36)

    def centre(self) -> QPointF:
        return self.mapToScene(QPointF(WIDTH / 2, HEIGHT / 2))


def snapped(pos: QPointF) -> QPointF:
    """`pos` on the canvas grid."""
    return QPointF(round(pos.x() / GRID) * GRID, round(pos.y() / GRID) * GRID)


class NodeItem(BoxItem):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.name = node.name
        self.layer_type = node.type
        self.category = node.spec.category
        self.params_text = ""
        self.shape_text = ""
        self.status = "pending"  # pending | ok | blocked | unwired | error | warning
        self.health = ""  # a training-health finding for this layer, from the last run
        self.frozen = False  # training.freeze covers it: its weights stay fixed
        self.message = ""
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self.update_node(node)
        self.setPos(QPointF(*node.pos))

    # -- content -----------------------------------------------------------------------------
    def update_node(self, node: Node) -> None:
        """Name, parameters and ports changed in the document."""
        self.name = node.name
        self.params_text = key_params_text(node)
        self._sync_ports(self.inputs, node.input_ports(), True)
        self._sync_ports(self.outputs, node.output_ports(), False)
        self._update_tooltip()
        self.update()

    def _sync_ports(self, ports: dict[str, PortItem], names: tuple[str, ...],
                    is_input: bool) -> None:
        for gone in set(ports) - set(names):
            item = ports.pop(gone)
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        for name in names:
            if name not in ports:
                ports[name] = PortItem(self, name, is_input)
        y = 0.0 if is_input else HEIGHT
        for i, name in enumerate(names):
            ports[name].setPos(WIDTH * (i + 1) / (len(names) + 1), y)

    def set_result(self, result: NodeResult | None) -> None:
        """Show a shape result; nothing is redrawn when what the node says is unchanged (an
        insert re-infers every layer below it, most to the same shapes)."""
        from app.core.shapes import format_shape

        if result is None:
            shown = ("pending", "", "")
        elif result.unwired:  # a step to do, not a mistake: no red until something is wired
            shown = ("unwired", UNWIRED_HINT, result.error)
        elif result.error:
            shown = ("error", "shape error", result.error)
        elif result.blocked:
            shown = ("blocked", "waiting for input", "waiting for a shape from upstream")
        else:
            shapes = [format_shape(s) for p, s in result.outputs.items() if p == "out"]
            shown = ("warning" if result.warnings else "ok", "→ " + (shapes[0] if shapes else ""),
                     "\n".join(result.warnings))
        if shown == (self.status, self.shape_text, self.message):
            return
        self.status, self.shape_text, self.message = shown
        self._update_tooltip()
        self.update()

    def set_health(self, message: str) -> None:
        if message != self.health:
            self.health = message
            self._update_tooltip()
            self.update()

    def set_frozen(self, frozen: bool) -> None:
        if frozen != self.frozen:
            self.frozen = frozen
            self._update_tooltip()
            self.update()

    def _update_tooltip(self) -> None:
        lines = [f"<b>{self.name}</b> ({self.layer_type})"]
        if self.params_text:
            lines.append(self.params_text)
        if self.frozen:
            lines.append(FROZEN_TIP)
        if self.message:
            t = theme.current()
            colour = {"error": t.error, "unwired": t.muted}.get(self.status, t.warning)
            lines.append(f"<span style='color:{colour}'>{_html(self.message)}</span>")
        if self.health:
            lines.append(f"<span style='color:{theme.current().warning}'>Training health: "
                         f"{_html(self.health)}</span>")
        self.setToolTip("<br>".join(lines))

    # -- geometry ----------------------------------------------------------------------------
    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, HEIGHT), 8, 8)
        if self.has_badge():  # hovering the "!" shows the tooltip with its message
            path.addEllipse(QPointF(WIDTH, 0), BADGE_RADIUS, BADGE_RADIUS)
        return path

    def has_badge(self) -> bool:
        return self.status in ("error", "warning") or bool(self.health)

    # -- painting ----------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = theme.current()
        body = QRectF(0, 0, WIDTH, HEIGHT)
        colour = theme.category_colour(self.category)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_TEXT:
            self._paint_overview(painter, body, colour, t, lod)
        else:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_body(painter, body, colour, t)
            self._paint_text(painter, t)
            self._paint_port_labels(painter, t)
            if self.frozen:
                paint_frozen(painter, t, QRectF(9, HEIGHT - 22, WIDTH - 18, 20))
            if self.has_badge():
                self._paint_badge(painter, t)
        if lod >= LOD_PORTS:
            paint_ports(painter, (*self.inputs.values(), *self.outputs.values()))

    def _paint_overview(self, painter: QPainter, body: QRectF, colour: QColor,
                        t: theme.Theme, lod: float) -> None:
        """Semantic zoom: far out, a coloured block with the layer type (and, where there is
        room, its output shape) in text that keeps about 11 px on screen."""
        shape = self.shape_text.removeprefix("→ ") if self.status in ("ok", "warning") else ""
        title = f"❄ {self.layer_type}" if self.frozen else self.layer_type
        paint_compact(painter, body, QColor(t.error) if self.status == "error" else colour,
                      [title, shape], lod, self.isSelected())

    def _paint_body(self, painter: QPainter, body: QRectF, colour: QColor,
                    t: theme.Theme) -> None:
        if self.isSelected():
            border = QPen(QColor(t.accent), 2.5)
        elif self.status == "error":
            border = QPen(QColor(t.error), 2)
        else:
            border = QPen(QColor(t.node_border), 1)
        path = QPainterPath()
        path.addRoundedRect(body, 8, 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 28 if t.name == "light" else 70))
        painter.drawPath(path.translated(0, 2))  # soft drop shadow
        painter.setBrush(QBrush(QColor(t.node)))
        painter.drawPath(path)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(0, 0, WIDTH, HEADER), 8, 8)
        painter.drawRect(QRectF(0, HEADER / 2, WIDTH, HEADER / 2))  # square lower corners
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(border)
        painter.drawPath(path)

    def _paint_text(self, painter: QPainter, t: theme.Theme) -> None:
        title = _font(9.5, bold=True)
        painter.setFont(title)
        painter.setPen(QColor(theme.NODE_TITLE))
        fm = QFontMetricsF(title)
        type_w = fm.horizontalAdvance(self.layer_type)
        painter.drawText(QRectF(9, 0, WIDTH - 18, HEADER), Qt.AlignmentFlag.AlignVCenter,
                         self.layer_type)
        small = _font(8)
        painter.setFont(small)
        painter.setPen(QColor(theme.NODE_TITLE))
        room = WIDTH - 30 - type_w
        name = QFontMetricsF(small).elidedText(self.name, Qt.TextElideMode.ElideMiddle, room)
        painter.drawText(QRectF(9, 0, WIDTH - 18, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, name)
        body = _font(8.5)
        painter.setFont(body)
        painter.setPen(QColor(t.muted))
        text = QFontMetricsF(body).elidedText(self.params_text, Qt.TextElideMode.ElideRight,
                                              WIDTH - 18)
        painter.drawText(QRectF(9, HEADER + 3, WIDTH - 18, 18), Qt.AlignmentFlag.AlignVCenter,
                         text)
        painter.setFont(_font(9.5, bold=self.status in ("ok", "warning"),
                              italic=self.status in ("blocked", "pending", "unwired")))
        colour = {"error": t.error, "ok": t.text, "warning": t.text}.get(self.status, t.muted)
        painter.setPen(QColor(colour))
        # Layers without key parameters (activations) centre the shape in the body.
        top = HEADER + 21 if self.params_text else HEADER + 12
        painter.drawText(QRectF(9, top, WIDTH - 18, 22), Qt.AlignmentFlag.AlignVCenter,
                         self.shape_text)

    def _paint_port_labels(self, painter: QPainter, t: theme.Theme) -> None:
        painter.setFont(_font(7.5))
        painter.setPen(QColor(t.muted))
        for ports, dy in ((self.inputs, -15.0), (self.outputs, HEIGHT + 3.0)):
            if len(ports) < 2:
                continue
            for name, item in ports.items():
                x = item.pos().x()
                painter.drawText(QRectF(x + 6, dy, 60, 12), Qt.AlignmentFlag.AlignLeft, name)

    def _paint_badge(self, painter: QPainter, t: theme.Theme) -> None:
        colour = QColor(t.error if self.status == "error" else t.warning)
        centre = QPointF(WIDTH, 0)
        painter.setPen(QPen(QColor(t.node), 2))
        painter.setBrush(colour)
        painter.drawEllipse(centre, BADGE_RADIUS, BADGE_RADIUS)
        painter.setFont(_font(9, bold=True))
        painter.setPen(QColor(theme.readable_text(colour)))
        r = BADGE_RADIUS
        painter.drawText(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r),
                         Qt.AlignmentFlag.AlignCenter, "!")


UNWIRED_HINT = "connect a layer here"
FROZEN_TIP = "❄ Frozen for fine-tuning: its weights stay as loaded while training"


def paint_frozen(painter: QPainter, t: theme.Theme, rect: QRectF) -> None:
    """The "frozen" mark, right-aligned in `rect`."""
    painter.setFont(_font(8, bold=True))
    painter.setPen(QColor(t.accent))
    painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                     "❄ frozen")


@lru_cache(maxsize=4096)
def _text_width(text: str, pixels: int) -> float:
    return QFontMetricsF(_pixel_font(pixels)).horizontalAdvance(text)


def paint_compact(painter: QPainter, body: QRectF, colour: QColor, lines: list[str],
                  lod: float, selected: bool) -> None:
    """A node far out: a block in `colour` with as many of `lines` (the first bold) as fit
    at about OVERVIEW_PX on screen; a long line gets a smaller font rather than cut."""
    painter.setPen(QPen(QColor(theme.current().accent), 3 / max(lod, 0.05)) if selected
                   else Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRect(body)
    pixels = min(OVERVIEW_PX, body.height() * lod / 1.3)
    if pixels < MIN_PX:
        return
    lines = [line for line in lines if line]
    fit = max(1, int(body.height() * lod // (pixels * 1.25)))
    lines = lines[:fit]
    size = int(pixels / lod)
    room = body.width() - 12
    step = body.height() / (len(lines) + 1)
    painter.setPen(QColor(theme.readable_text(colour)))
    for i, line in enumerate(lines):
        here = size
        width = _text_width(line, here)
        if width > room:
            here = max(1, int(here * room / width))
            if here * lod < MIN_PX:
                continue
        painter.setFont(_pixel_font(here, bold=i == 0))
        centre = body.top() + step * (i + 1)
        painter.drawText(QRectF(body.left() + 6, centre - here, room, 2 * here),
                         Qt.AlignmentFlag.AlignCenter, line)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
