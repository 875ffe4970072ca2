"""Right-click menus: node, wire, empty canvas and palette, each action one command.

Every entry is also reachable from the keyboard: the menu key or Shift+F10 opens the menu
of the selection (see CanvasView.contextMenuEvent), the layer pickers take typing, and the
block actions have shortcuts of their own (Ctrl+G, Ctrl+Shift+G; Ctrl+Alt+C collapses the
selected layer's block, or the block around a selected collapsed one; Ctrl+Alt+E expands).
`install(window)` connects the menus to a MainWindow; the window provides the clipboard,
layout and rename actions the menus reuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from app.core.catalogue import CATALOGUE, spec_for
from app.core.graph import DocumentError, Edge, module_path
from app.core.grouping import enclosing_blocks
from app.ui.canvas.scene import BlockRef
from app.ui.commands import (
    AddNodeCommand,
    DocCommand,
    delete_command,
    free_spot,
    group_command,
    insert_after_command,
    insert_layer_command,
    replace_wire_command,
    ungroup_command,
)

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

Pick = Callable[[str], None]


class LayerPicker(QWidgetAction):
    """A search field over every layer type inside a menu: type to filter, Enter or a
    click picks, and the menu closes."""

    def __init__(self, menu: QMenu, on_pick: Pick) -> None:
        super().__init__(menu)
        self.menu, self.on_pick = menu, on_pick
        box = QWidget()
        self.search = QLineEdit(placeholderText="Search layers…")
        self.list = QListWidget()
        self.list.addItems(sorted(CATALOGUE))
        self.list.setMinimumHeight(220)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.setDefaultWidget(box)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(lambda: self.pick(self.first()))
        self.list.itemActivated.connect(lambda item: self.pick(item.text()))
        menu.aboutToShow.connect(self.search.setFocus)

    def filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def first(self) -> str | None:
        """The best match: the exact name, else one starting with the text, else any."""
        needle = self.search.text().strip().lower()
        shown = [self.list.item(i).text() for i in range(self.list.count())
                 if not self.list.item(i).isHidden()]
        return min(shown, key=lambda t: (t.lower() != needle, not t.lower().startswith(needle)),
                   default=None)

    def pick(self, layer_type: str | None) -> None:
        if layer_type:
            top = self.menu
            while isinstance(top.parent(), QMenu):
                top = top.parent()
            top.close()
            self.on_pick(layer_type)


def picker_menu(parent: QMenu, title: str, on_pick: Pick) -> QMenu:
    menu = parent.addMenu(title)
    menu.addAction(LayerPicker(menu, on_pick))
    return menu


class ContextMenus(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        window.scene.contextMenuRequested.connect(self.popup)
        tree = window.palette.tree
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        tree.customContextMenuRequested.connect(
            lambda pos: self._exec(self.palette_menu(tree.itemAt(pos)),
                                   tree.viewport().mapToGlobal(pos)))
        self.act_group = self._shortcut("&Group Selection into Block", self.group_selection,
                                        "Ctrl+G")
        self.act_ungroup = self._shortcut("&Ungroup Block", self.ungroup_selection,
                                          "Ctrl+Shift+G")
        self.act_collapse = self._shortcut("&Collapse Block", self.collapse_selection,
                                           "Ctrl+Alt+C")
        self.act_expand = self._shortcut("&Expand Block", self.expand_selection, "Ctrl+Alt+E")

    def _shortcut(self, text: str, slot: Callable[[], None], keys: str) -> QAction:
        action = QAction(text, self.window.view)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _c=False: slot())
        self.window.view.addAction(action)
        return action

    def _push(self, build: Callable[[], DocCommand]) -> bool:
        try:
            command = build()
        except DocumentError as exc:
            self.session.report(str(exc))
            return False
        return self.session.push(command)

    def _exec(self, menu: QMenu | None, screen: QPoint) -> None:
        if menu is not None:
            menu.exec(screen)

    def popup(self, target: object, scene_pos: QPointF, screen: QPoint) -> None:
        if isinstance(target, str):
            menu = self.node_menu(target)
        elif isinstance(target, BlockRef):
            menu = self.block_menu(target.block)
        elif isinstance(target, Edge):
            menu = self.wire_menu(target)
        else:
            menu = self.canvas_menu(scene_pos)
        self._exec(menu, screen)

    # -- node ------------------------------------------------------------------------------
    def node_menu(self, name: str) -> QMenu:
        w, doc = self.window, self.session.doc
        node = doc.node(name)
        if name not in w.scene.selected_nodes():
            w.scene.select_nodes([name])
        menu = QMenu(w)
        menu.addAction("&Rename…\tF2", w.rename_selected)
        menu.addAction("&Delete\tDel", w.delete_selection)
        menu.addAction("D&uplicate\tCtrl+D", w.duplicate)
        menu.addSeparator()
        before = picker_menu(menu, "Insert &Before", lambda t: self.insert_before(name, t))
        before.setEnabled(bool(node.input_ports()))
        after = picker_menu(menu, "Insert &After", lambda t: self.insert_after(name, t))
        after.setEnabled(bool(node.output_ports()))
        wires = list(doc.incoming(name).values()) + doc.outgoing(name)
        menu.addAction("Dis&connect", lambda: self.session.push(
            delete_command(self.session, [], wires))).setEnabled(bool(wires))
        menu.addSeparator()
        for i, outer in enumerate(reversed(enclosing_blocks(doc, name))):
            keys = "\tCtrl+Alt+C" if i == 0 else ""
            menu.addAction(f"C&ollapse Block ‘{outer}’{keys}",
                           lambda b=outer: self.window.scene.set_collapsed(b, True))
        menu.addAction(self.act_group)
        block = module_path(node).rpartition(".")[0]
        ungroup = menu.addAction(f"U&ngroup {block or 'Block'}\tCtrl+Shift+G",
                                 lambda: self.session.push(ungroup_command(self.session, block)))
        ungroup.setEnabled(bool(block))
        menu.addSeparator()
        menu.addAction("Show in &Code", lambda: self.show_in_code(name))
        outputs = [n.name for n in doc.nodes if n.type == "Output"]
        set_output = menu.addAction("Set as &Output", lambda: self.set_as_output(name))
        set_output.setEnabled(len(outputs) == 1 and name not in outputs
                              and bool(node.output_ports()))
        freeze = menu.addAction("&Freeze for Fine-tuning", lambda: self.toggle_freeze(name))
        freeze.setCheckable(True)
        freeze.setChecked(self.is_frozen(name))
        freeze.setEnabled(node.spec.is_torch_layer)
        return menu

    # -- collapsed block ----------------------------------------------------------------------
    def block_menu(self, block: str) -> QMenu:
        """A collapsed block: expand it (or collapse the one around it), and the edits that
        act on all its layers as one undo step."""
        w = self.window
        if block not in w.scene.selected_blocks():
            w.scene.clearSelection()
            w.scene.groups[block].setSelected(True)
        layers = len(w.scene.members.get(block, ()))
        menu = QMenu(w)
        menu.addAction(f"&Expand Block ‘{block}’\tCtrl+Alt+E",
                       lambda: w.scene.set_collapsed(block, False))
        parent = block.rpartition(".")[0]
        if parent:
            menu.addAction(f"C&ollapse Block ‘{parent}’\tCtrl+Alt+C",
                           lambda: w.scene.set_collapsed(parent, True))
        menu.addSeparator()
        menu.addAction(f"&Delete Block ({layers} layers)\tDel", w.delete_selection)
        menu.addAction("D&uplicate Block\tCtrl+D", w.duplicate)
        menu.addAction(f"U&ngroup {block}", lambda: self.session.push(
            ungroup_command(self.session, block)))
        menu.addSeparator()
        menu.addAction("Show in &Code", lambda: self.show_block_in_code(block))
        return menu

    def show_block_in_code(self, block: str) -> None:
        first = self.window.scene.members[block][0]
        self.show_in_code(first)

    def collapse_selection(self) -> None:
        """Ctrl+Alt+C: the innermost block of the selected layer; on a selected collapsed
        block, the block around it (so pressing again folds one level further out)."""
        scene = self.window.scene
        blocks = scene.selected_blocks()
        if blocks:
            target = blocks[0].rpartition(".")[0]
        else:
            names = scene.selected_nodes()
            outer = enclosing_blocks(self.session.doc, names[0]) if names else []
            target = outer[-1] if outer else ""
        if target:
            scene.set_collapsed(target, True)
        else:
            self.session.report("Select a layer inside a block (a module path like "
                                "layer1.0.conv1) to collapse its block")

    def expand_selection(self) -> None:
        scene = self.window.scene
        blocks = scene.selected_blocks()
        if not blocks:
            self.session.report("Select a collapsed block to expand it")
        for block in blocks:
            scene.set_collapsed(block, False)

    def insert_before(self, name: str, layer_type: str) -> None:
        port = self.session.doc.node(name).input_ports()[0]
        if self._push(lambda: insert_layer_command(self.session, name, port, layer_type, {})):
            self.window.scene.select_nodes([self.session.doc.incoming(name)[port].src])

    def insert_after(self, name: str, layer_type: str) -> None:
        command: list[DocCommand] = []

        def build() -> DocCommand:
            command.append(insert_after_command(self.session, name, layer_type))
            return command[0]
        if self._push(build):
            self.window.scene.select_nodes([command[0].children[0].name])

    def show_in_code(self, name: str) -> None:
        """The Code panel, scrolled to where the layer is created."""
        w = self.window
        w.code_dock.show()
        w.code_dock.raise_()
        editor = w.code_view.editor
        editor.moveCursor(editor.textCursor().MoveOperation.Start)
        path = module_path(self.session.doc.node(name))
        for needle in (f"self.{path} =", f"self.{path.split('.')[0]} =", path.split(".")[-1]):
            if editor.find(needle, QTextDocument.FindFlag.FindCaseSensitively):
                return

    def set_as_output(self, name: str) -> None:
        output = next(n for n in self.session.doc.nodes if n.type == "Output")
        src_port = self.session.doc.node(name).output_ports()[0]
        self._push(lambda: replace_wire_command(self.session, name, src_port, output.name,
                                                output.input_ports()[0]))

    def is_frozen(self, name: str) -> bool:
        from app.training.pretrained import frozen_layers

        return name in frozen_layers(self.session.doc,
                                     self.session.project.training.get("freeze", []))

    def toggle_freeze(self, name: str) -> None:
        """Fine-tuning: training.freeze lists frozen layers (node names) and blocks."""
        from app.training.pretrained import unfreeze

        training = self.session.section("training")
        entries = list(training.get("freeze", []))
        freeze = not self.is_frozen(name)
        training["freeze"] = entries + [name] if freeze else unfreeze(self.session.doc,
                                                                      entries, name)
        self.session.set_section("training", training,
                                 f"{'Freeze' if freeze else 'Unfreeze'} {name}")

    def group_selection(self) -> None:
        names = [n for n in self.window.scene.selected_nodes()
                 if self.session.doc.node(n).type not in ("Input", "Output")]
        if names:
            self._push(lambda: group_command(self.session, names))
        else:
            self.session.report("Select the layers to group into a block first")

    def ungroup_selection(self) -> None:
        names = self.window.scene.selected_nodes()
        blocks = {module_path(self.session.doc.node(n)).rpartition(".")[0] for n in names}
        blocks.discard("")
        if len(blocks) == 1:
            self._push(lambda: ungroup_command(self.session, blocks.pop()))
        else:
            self.session.report("Select layers of one block to ungroup it")

    # -- wire --------------------------------------------------------------------------------
    def wire_menu(self, edge: Edge) -> QMenu:
        menu = QMenu(self.window)
        picker_menu(menu, "&Insert Layer", lambda t: self.window.scene.insert_on_wire(edge, t))
        wires = list(self.window.scene.wires_through(edge))
        menu.addAction("&Delete Wire\tDel", lambda: self.session.push(
            delete_command(self.session, [], wires)))
        return menu

    # -- canvas ------------------------------------------------------------------------------
    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        w = self.window
        menu = QMenu(w)
        picker_menu(menu, "&Add Layer Here", lambda t: self.add_at(t, scene_pos))
        menu.addAction("&Paste\tCtrl+V", w.paste)
        menu.addSeparator()
        menu.addAction("Automatic &Layout\tCtrl+L", w.auto_layout)
        menu.addAction("&Fit Network to Window\tCtrl+0", w.view.fit_all)
        if any("." in module_path(n) for n in self.session.doc.nodes):
            menu.addSeparator()
            menu.addAction("&Collapse All Blocks", lambda: w.scene.set_all_collapsed(True))
            menu.addAction("&Expand All Blocks", lambda: w.scene.set_all_collapsed(False))
        return menu

    def add_at(self, layer_type: str, scene_pos: QPointF) -> None:
        from app.ui.canvas.node_item import GRID, HEIGHT, WIDTH

        pos = (round((scene_pos.x() - WIDTH / 2) / GRID) * GRID,
               round((scene_pos.y() - HEIGHT / 2) / GRID) * GRID)
        command = AddNodeCommand(self.session, layer_type, pos=free_spot(self.session.doc, pos))
        if self.session.push(command):
            self.window.scene.select_nodes([command.name])

    # -- palette -----------------------------------------------------------------------------
    def palette_menu(self, item: object) -> QMenu | None:
        layer_type = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not layer_type:
            return None
        menu = QMenu(self.window)
        selected = self.window.scene.selected_nodes()
        where = f" after {selected[0]}" if len(selected) == 1 else ""
        menu.addAction(f"&Add {layer_type}{where}\tEnter",
                       lambda: self.window.palette.layerActivated.emit(layer_type))
        menu.addAction(f"&Help on {layer_type}", lambda: self.show_help(layer_type))
        return menu

    def show_help(self, layer_type: str) -> None:
        spec = spec_for(layer_type)
        QMessageBox.information(self.window, layer_type,
                                f"{spec.help}\n\nCategory: {spec.category}\nShape: {spec.formula}")


def install(window: MainWindow) -> ContextMenus:
    return ContextMenus(window)
