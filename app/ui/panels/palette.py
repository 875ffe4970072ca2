"""Palette: every catalogue layer grouped by category, with search, tooltips and drag.

A layer shows under its catalogue label (the class name when it has none); torchvision's
internal blocks sit in their own group at the bottom, collapsed until opened or searched."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.catalogue import TORCHVISION_BLOCKS, LayerSpec, palette_groups
from app.ui import theme
from app.ui.canvas.view import LAYER_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole
COLLAPSED_GROUPS = frozenset({TORCHVISION_BLOCKS})


def category_icon(category: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.category_colour(category))
    painter.drawRoundedRect(0, 0, size, size, 3, 3)
    painter.end()
    return QIcon(pixmap)


class _LayerTree(QTreeWidget):
    """Drags carry the layer type under LAYER_MIME, which the canvas view accepts."""

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        layer_type = items[0].data(0, TYPE_ROLE) if items else None
        if layer_type:
            mime.setData(LAYER_MIME, layer_type.encode("utf-8"))
            mime.setText(layer_type)
        return mime

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]


class PalettePanel(QWidget):
    layerActivated = Signal(str)  # double-click or Enter: add this layer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layers…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first_visible)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setIndentation(12)
        self.tree.setRootIsDecorated(False)
        self.tree.itemActivated.connect(self._activated)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._populate()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)

    def _populate(self) -> None:
        for category, specs in palette_groups().items():
            group = QTreeWidgetItem([category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setIcon(0, category_icon(category))
            self.tree.addTopLevelItem(group)
            for spec in specs:
                group.addChild(self._layer_item(spec))
            group.setExpanded(category not in COLLAPSED_GROUPS)

    def _layer_item(self, spec: LayerSpec) -> QTreeWidgetItem:
        item = QTreeWidgetItem([spec.palette_name])
        item.setData(0, TYPE_ROLE, spec.type)
        item.setToolTip(0, f"<b>{spec.type}</b> — {spec.category}<br>{spec.help}"
                           f"<br><i>Shape: {spec.formula}</i><br>"
                           "<small>Drag onto the canvas, or double-click to add.</small>")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        self.items[spec.type] = item
        return item

    def filter(self, text: str) -> None:
        """Match the layer name first, then its help text ('pool', 'residual', 'softmax');
        a search opens every group with a match, clearing it restores the collapsed ones."""
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                spec_text = (child.text(0) + " " + child.toolTip(0)).lower()
                match = not needle or needle in spec_text
                child.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
            group.setExpanded(bool(needle) or group.text(0) not in COLLAPSED_GROUPS)

    def visible_types(self) -> list[str]:
        return [t for t, item in self.items.items() if not item.isHidden()
                and not item.parent().isHidden()]

    def _activated(self, item: QTreeWidgetItem) -> None:
        layer_type = item.data(0, TYPE_ROLE)
        if layer_type:
            self.layerActivated.emit(layer_type)

    def _activate_first_visible(self) -> None:
        visible = self.visible_types()
        if visible:
            self.layerActivated.emit(visible[0])

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()
