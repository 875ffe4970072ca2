"""A collapsed block on the canvas: one node standing for every layer under a module path.

It shows the block's name, how many layers it holds, the shapes going in and out and its
learnable parameters (app.core.grouping.block_summary). Wires from outside end on its
ports: one input per outside output that feeds the block, one output per inside output
read from outside. Collapsing is a view of the network, so the item edits nothing; the
scene decides what double-click, moving and deleting it do.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from app.core.grouping import BlockSummary, Boundary
from app.core.shapes import format_shape
from app.ui import theme
from app.ui.canvas.node_item import (
    BADGE_RADIUS,
    FROZEN_TIP,
    HEADER,
    HEIGHT,
    LOD_TEXT,
    WIDTH,
    BoxItem,
    _font,
    _html,
    paint_compact,
)
from app.ui.canvas.port_item import LOD_PORTS, PortItem, paint_ports

BLOCK_COLOUR = "#475569"  # slate: a container, not a layer category
STACK = 4.0  # the offset of the cards drawn behind: "several layers in here"


class BlockPortItem(PortItem):
    """A port of a collapsed block. `real` is the layer port it stands for: wires dragged
    from or to it connect that port. An input fed into several layers has none: expand the
    block to rewire those."""

    def __init__(self, group: GroupItem, key: str, is_input: bool,
                 real: tuple[str, str] | None, label: str) -> None:
        self.real = real
        self.label = label
        super().__init__(group, real[1] if real else key, is_input)  # type: ignore[arg-type]
        self.wirable = real is not None

    @property
    def node_name(self) -> str:
        return self.real[0] if self.real else self.node.name

    def _tooltip(self) -> str:
        if self.real is None:
            return f"{self.label}: expand the block to rewire the layers it feeds"
        return f"{self.label}: drag to another port to connect"


class GroupItem(BoxItem):
    def __init__(self, block: str) -> None:
        super().__init__()
        self.name = block
        self.summary: BlockSummary | None = None
        self.frozen = False  # every layer with weights inside is frozen for fine-tuning
        self.inputs: dict[str, BlockPortItem] = {}
        self.outputs: dict[str, BlockPortItem] = {}
        self._by_source: dict[tuple[str, str], str] = {}
        self._by_exit: dict[tuple[str, str], str] = {}

    # -- content -----------------------------------------------------------------------------
    def set_boundary(self, edge: Boundary) -> None:
        """Ports for what crosses the block's edge; kept when nothing changed, so wires
        attached to them stay valid."""
        inputs = {f"in{i + 1}" if i else "in": (src, dsts)
                  for i, (src, dsts) in enumerate(edge.inputs)}
        outputs = {f"out{i + 1}" if i else "out": real for i, real in enumerate(edge.outputs)}
        want_in = {k: (dsts[0] if len(dsts) == 1 else None, f"input from {src[0]}")
                   for k, (src, dsts) in inputs.items()}
        want_out = {k: (real, f"output of {real[0]}") for k, real in outputs.items()}
        self._by_source = {src: k for k, (src, _) in inputs.items()}
        self._by_exit = {real: k for k, real in outputs.items()}
        self._sync(self.inputs, want_in, True)
        self._sync(self.outputs, want_out, False)

    def input_for(self, src: str, src_port: str) -> BlockPortItem:
        """The input port that the outside output (src, src_port) is wired to."""
        return self.inputs[self._by_source[(src, src_port)]]

    def output_for(self, node: str, port: str) -> BlockPortItem:
        """The output port standing for the inside layer's output (node, port)."""
        return self.outputs[self._by_exit[(node, port)]]

    def _sync(self, ports: dict[str, BlockPortItem],
              want: dict[str, tuple[tuple[str, str] | None, str]], is_input: bool) -> None:
        for key in list(ports):
            if key not in want or (ports[key].real, ports[key].label) != want[key]:
                item = ports.pop(key)
                item.setParentItem(None)
                if item.scene() is not None:
                    item.scene().removeItem(item)
        for key, (real, label) in want.items():
            if key not in ports:
                ports[key] = BlockPortItem(self, key, is_input, real, label)
        y = 0.0 if is_input else HEIGHT
        for i, key in enumerate(want):
            ports[key].setPos(WIDTH * (i + 1) / (len(want) + 1), y)

    def set_summary(self, summary: BlockSummary) -> None:
        if summary != self.summary:
            self.summary = summary
            self.setToolTip(self._tooltip())
            self.update()

    def set_frozen(self, frozen: bool) -> None:
        if frozen != self.frozen:
            self.frozen = frozen
            self.setToolTip(self._tooltip())
            self.update()

    def details(self) -> tuple[str, str]:
        """The two lines under the name: shapes in and out, then size."""
        s = self.summary
        if s is None:
            return "", ""
        if s.in_shapes is None:
            shapes = "waiting for input"
        else:
            ins = ", ".join(format_shape(x) for x in s.in_shapes)
            outs = ", ".join(format_shape(x) for x in s.out_shapes) if s.out_shapes else "?"
            shapes = f"{ins} → {outs}"
        size = f"{s.layers} layers"
        if s.params is not None:
            size = f"{s.params:,} params · {size}"
        return shapes, size

    def _tooltip(self) -> str:
        shapes, size = self.details()
        lines = [f"<b>{_html(self.name)}</b> (collapsed block)", _html(shapes), size]
        if self.summary is not None and self.summary.errors:
            lines.append(f"<span style='color:{theme.current().error}'>"
                         f"{self.summary.errors} layer(s) with a shape error inside</span>")
        if self.frozen:
            lines.append(FROZEN_TIP)
        lines.append("Double-click to expand")
        return "<br>".join(lines)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, HEIGHT), 8, 8)
        return path

    # -- painting ----------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = theme.current()
        body = QRectF(0, 0, WIDTH, HEIGHT)
        colour = QColor(BLOCK_COLOUR)
        errors = self.summary is not None and self.summary.errors > 0
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_TEXT:
            self._paint_overview(painter, body, colour, t, lod, errors)
        else:
            self._paint_card(painter, body, colour, t, errors)
        if lod >= LOD_PORTS:
            paint_ports(painter, (*self.inputs.values(), *self.outputs.values()))

    def _paint_card(self, painter: QPainter, body: QRectF, colour: QColor, t: theme.Theme,
                    errors: bool) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QPainterPath()
        card.addRoundedRect(body, 8, 8)
        painter.setPen(QPen(QColor(t.node_border), 1))
        painter.setBrush(QColor(t.node))
        for k in (2, 1):  # the cards behind
            painter.drawPath(card.translated(STACK * k, STACK * k))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(t.node))
        painter.drawPath(card)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(0, 0, WIDTH, HEADER), 8, 8)
        painter.drawRect(QRectF(0, HEADER / 2, WIDTH, HEADER / 2))
        if self.isSelected():
            border = QPen(QColor(t.accent), 2.5)
        elif errors:
            border = QPen(QColor(t.error), 2)
        else:
            border = QPen(QColor(t.node_border), 1)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(border)
        painter.drawPath(card)
        self._paint_text(painter, t)
        if errors:
            self._paint_badge(painter, t)

    def _paint_text(self, painter: QPainter, t: theme.Theme) -> None:
        title = _font(9.5, bold=True)
        painter.setFont(title)
        painter.setPen(QColor(theme.NODE_TITLE))
        fm = QFontMetricsF(title)
        name = fm.elidedText(f"▸ {self.name}", Qt.TextElideMode.ElideMiddle, WIDTH - 70)
        painter.drawText(QRectF(9, 0, WIDTH - 18, HEADER), Qt.AlignmentFlag.AlignVCenter, name)
        painter.setFont(_font(8))
        painter.drawText(QRectF(9, 0, WIDTH - 18, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         "❄ frozen" if self.frozen else "block")
        shapes, size = self.details()
        body = _font(8.5)
        painter.setFont(body)
        painter.setPen(QColor(t.text))
        fm = QFontMetricsF(body)
        painter.drawText(QRectF(9, HEADER + 3, WIDTH - 18, 20), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(shapes, Qt.TextElideMode.ElideMiddle, WIDTH - 18))
        painter.setPen(QColor(t.muted))
        painter.drawText(QRectF(9, HEADER + 23, WIDTH - 18, 20), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(size, Qt.TextElideMode.ElideRight, WIDTH - 18))

    def _paint_overview(self, painter: QPainter, body: QRectF, colour: QColor,
                        t: theme.Theme, lod: float, errors: bool) -> None:
        """Far out: a slate block (a card behind it) with the block's name, and where there
        is room what comes out and its size, in text that keeps about 11 px."""
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(t.node_border))
        painter.drawRect(body.translated(STACK * 2, STACK * 2))
        s = self.summary
        lines = [f"❄ {self.name}" if self.frozen else self.name]
        if s is not None and s.out_shapes:
            lines.append("→ " + ", ".join(format_shape(x) for x in s.out_shapes))
        if s is not None and s.params is not None:
            lines.append(f"{s.params:,} params")
        paint_compact(painter, body, QColor(t.error) if errors else colour, lines, lod,
                      self.isSelected())

    def _paint_badge(self, painter: QPainter, t: theme.Theme) -> None:
        centre = QPointF(WIDTH, 0)
        painter.setPen(QPen(QColor(t.node), 2))
        painter.setBrush(QColor(t.error))
        painter.drawEllipse(centre, BADGE_RADIUS, BADGE_RADIUS)
        painter.setFont(_font(9, bold=True))
        painter.setPen(QColor(theme.readable_text(QColor(t.error))))
        r = BADGE_RADIUS
        painter.drawText(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r),
                         Qt.AlignmentFlag.AlignCenter, "!")

