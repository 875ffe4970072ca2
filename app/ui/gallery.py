"""New-from-template gallery: a thumbnail of each network, its description and what it teaches."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.graph import NetworkDocument
from app.core.templates import TEMPLATES, Template
from app.ui import theme

THUMB = QSize(150, 190)
ID_ROLE = Qt.ItemDataRole.UserRole
_NODE_W, _NODE_H = 206.0, 70.0
# A 3-layer network drawn as large as the thumbnail allows looks like a different kind of
# picture from a 12-layer one; capped, every thumbnail shares one scale up to ~6 layers.
MAX_SCALE = 0.3


def render_thumbnail(doc: NetworkDocument, size: QSize = THUMB) -> QPixmap:
    """The network as the canvas lays it out, shrunk: category-coloured blocks and wires."""
    t = theme.current()
    pixmap = QPixmap(size)
    pixmap.fill(QColor(t.canvas))
    nodes = doc.nodes
    if not nodes:
        return pixmap
    xs = [n.pos[0] for n in nodes]
    ys = [n.pos[1] for n in nodes]
    bounds = QRectF(min(xs), min(ys), max(xs) - min(xs) + _NODE_W, max(ys) - min(ys) + _NODE_H)
    margin = 8
    scale = min((size.width() - 2 * margin) / bounds.width(),
                (size.height() - 2 * margin) / bounds.height(), MAX_SCALE)
    dx = margin + (size.width() - 2 * margin - bounds.width() * scale) / 2
    dy = margin + (size.height() - 2 * margin - bounds.height() * scale) / 2

    def corner(pos: tuple[float, float]) -> tuple[float, float]:
        return dx + (pos[0] - bounds.left()) * scale, dy + (pos[1] - bounds.top()) * scale

    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(t.edge), max(0.6, 1.5 * scale)))
    for e in doc.edges:
        x1, y1 = corner(doc.node(e.src).pos)
        x2, y2 = corner(doc.node(e.dst).pos)
        painter.drawLine(int(x1 + _NODE_W * scale / 2), int(y1 + _NODE_H * scale),
                         int(x2 + _NODE_W * scale / 2), int(y2))
    painter.setPen(Qt.PenStyle.NoPen)
    for n in nodes:
        x, y = corner(n.pos)
        painter.setBrush(theme.category_colour(n.spec.category))
        painter.drawRoundedRect(QRectF(x, y, _NODE_W * scale, max(2.0, _NODE_H * scale)),
                                3, 3)
    painter.end()
    return pixmap


class TemplateGallery(QDialog):
    """Pick a template; `chosen` is its id after accept()."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New network from a template")
        self.resize(980, 640)
        self.chosen: str | None = None
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(THUMB)
        self.list.setGridSize(QSize(THUMB.width() + 34, THUMB.height() + 56))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setSpacing(6)
        for template in TEMPLATES.values():
            self.list.addItem(self._item(template))
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.details.setMinimumWidth(280)
        self.details.setMaximumWidth(320)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.currentItemChanged.connect(self._show_details)
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addWidget(self.details)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.list.setCurrentRow(0)

    def _item(self, template: Template) -> QListWidgetItem:
        doc = template.build()
        item = QListWidgetItem(QIcon(render_thumbnail(doc)), template.title)
        item.setData(ID_ROLE, template.id)
        item.setToolTip(template.description)
        item.setData(ID_ROLE + 1, len(doc.nodes))
        return item

    def select(self, template_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == template_id:
                self.list.setCurrentRow(i)

    def _show_details(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        t = TEMPLATES[item.data(ID_ROLE)]
        shape = "×".join(map(str, t.input_shape()))
        self.details.setText(
            f"<h3>{t.title}</h3><p>{t.description}</p>"
            f"<p><b>What it teaches</b><br>{t.teaches}</p>"
            f"<p><b>Input</b> {shape} &nbsp; <b>Layers</b> {item.data(ID_ROLE + 1)}"
            + (f" &nbsp; <b>Data</b> {t.dataset}" if t.dataset else "") + "</p>")

    def accept(self) -> None:
        item = self.list.currentItem()
        self.chosen = item.data(ID_ROLE) if item is not None else None
        super().accept()
