"""Inspector: the selected node's name, parameters, shape, formula, problems and fixes.

Editors are built once per layer type and kept: selecting another layer of a type seen
before shows that form again with the layer's values (an insert selects the new layer, and
building a Conv2d form costs about as much as moving 500 layers). Document changes (also
from undo) and new shape results just refresh values and labels, so focus is never lost
mid-edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.graph import Change, DocumentError, check_identifier
from app.ui import theme
from app.ui.commands import RenameNodeCommand, SetParamsCommand, move_input_command
from app.ui.panels.overview import overview_html
from app.ui.param_form import ParamEditor, editor_for
from app.ui.session import EditorSession

if TYPE_CHECKING:
    from app.core.catalogue import LayerSpec
    from app.core.shapes import Fix


def _label(text: str = "", *, wrap: bool = True, muted: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setStyleSheet(f"color: {theme.current().muted};")
    return label


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setStyleSheet(f"color: {theme.current().muted}; font-weight: 600; font-size: 8pt;"
                        " letter-spacing: 1px; margin-top: 8px;")
    return label


class InspectorPanel(QScrollArea):
    fixRequested = Signal(object)  # app.core.shapes.Fix

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.node: str | None = None
        self.title = "Network"
        self.description = ""
        self.editors: dict[str, ParamEditor] = {}
        self._pages: dict[str, _LayerPage] = {}  # layer type -> its form, built once
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # With nothing selected: what the network is, its shapes, and how to start.
        self.body = QWidget()
        self.layout_ = QVBoxLayout(self.body)
        self.layout_.setContentsMargins(10, 8, 10, 10)
        self.layout_.setSpacing(4)
        self.overview = _label()
        self.layout_.addWidget(self.overview)
        self.layout_.addWidget(_label(
            "Select a layer to edit its parameters.\n\nAdd layers by dragging them from "
            "the Layers panel (or double-click one). Connect them by dragging from an "
            "output port (bottom of a layer) to an input port (top).", muted=True))
        self.layout_.addStretch(1)
        self.setWidget(self.body)
        # The overview's counts follow shape results once per burst of edits, as the
        # Summary does; a selection shows it at once.
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(150)
        self._recount.timeout.connect(lambda: self.node is None and self.show_node(None))
        session.documentChanged.connect(self._on_change)
        session.documentReplaced.connect(lambda: self.show_node(None))
        session.resultsChanged.connect(self._on_results)
        theme.notifier.changed.connect(self._restyle)
        self.show_node(None)

    # -- building ----------------------------------------------------------------------------
    def _restyle(self, *_: object) -> None:
        """Forms carry the theme's colours: build them again in the new theme."""
        self._pages = {}
        self.show_node(self.node)

    def _show_page(self, body: QWidget) -> None:
        if self.widget() is not body:
            self.takeWidget()  # kept: the overview body, or a cached form
            self.setWidget(body)

    def show_node(self, name: str | None) -> None:
        name = name if name and self.session.doc.has_node(name) else None
        if name is None:
            self._show_page(self.body)
            self.node = None
            self.editors = {}
            self.overview.setText(overview_html(self.session, self.title))
            return
        spec = self.session.doc.node(name).spec
        page = self._pages.get(spec.type)
        if page is None:
            page = self._pages[spec.type] = _LayerPage(self, spec)
        self._show_page(page.body)  # a pending rename in the old form applies to its layer
        self.node = name
        self.editors = page.editors
        self.name_edit, self.name_error = page.name_edit, page.name_error
        self.shape_label, self.problem_box = page.shape_label, page.problem_box
        self.inputs_box, self.explanation_label = page.inputs_box, page.explanation_label
        self.name_edit.setText(name)
        self.name_error.hide()
        for editor in self.editors.values():
            if editor.error.isVisible():
                editor.set_error("")
        self.refresh()

    # -- refreshing --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Values from the document, shape/formula/problems from the latest results."""
        if self.node is None:
            return
        node = self.session.doc.node(self.node)
        result = self.session.result(self.node)
        resolved = result.resolved if result is not None else {}
        for name, editor in self.editors.items():
            editor.set_value(node.params[name], resolved.get(name))
        if self.name_edit.text() != self.node and not self.name_edit.hasFocus():
            self.name_edit.setText(self.node)
        self._refresh_shape(result)
        self._refresh_problems(result)
        if node.spec.variadic:
            self._refresh_inputs()

    def _refresh_shape(self, result: object) -> None:
        from app.core.shapes import format_shape

        if result is None:
            text = "<i>computing shape…</i>"
        elif result.unwired:
            text = "<i>Output: nothing connected yet – wire a layer into it</i>"
        elif result.error:
            text = f"<span style='color:{theme.current().error}'>Output: shape error</span>"
        elif result.blocked:
            text = "<i>Output: waiting for a shape from upstream</i>"
        else:
            outs = ", ".join(f"{p} {format_shape(s)}" if len(result.outputs) > 1
                             else format_shape(s) for p, s in result.outputs.items())
            text = f"Output: <b>{outs}</b>" + self._cost_text()
        self.shape_label.setText(text)
        self.explanation_label.setText(getattr(result, "explanation", "") or "")
        self.explanation_label.setVisible(bool(self.explanation_label.text()))

    def _cost_text(self) -> str:
        from app.core.cost import node_macs

        macs = node_macs(self.session.doc, self.session.results, self.node)
        if macs is None or not self.session.doc.node(self.node).spec.has_module:
            return ""
        return (f"<br>Cost: <b>{macs:,}</b> multiply-accumulates (MACs) per sample"
                if macs else "<br>Cost: no multiply-accumulates (MACs)")

    def _refresh_problems(self, result: object) -> None:
        _clear_layout(self.problem_box)
        if result is None:
            return
        t = theme.current()
        messages = ([(result.error, t.error)] if result.error else []) + [
            (w, t.warning) for w in result.warnings]
        for message, colour in messages:
            label = _label(message)
            label.setStyleSheet(f"color: {colour}; border-left: 3px solid {colour};"
                                " padding-left: 6px;")
            self.problem_box.addWidget(label)
        for fix in result.fixes:
            button = QPushButton(f"Fix: {fix.label}")
            button.setToolTip("Apply this change (undoable)")
            button.clicked.connect(lambda _c=False, f=fix: self._request_fix(f))
            self.problem_box.addWidget(button)

    def _request_fix(self, fix: Fix) -> None:
        self.fixRequested.emit(fix)

    def _refresh_inputs(self) -> None:
        _clear_layout(self.inputs_box)
        node = self.session.doc.node(self.node)
        incoming = self.session.doc.incoming(self.node)
        ports = node.input_ports()
        for i, port in enumerate(ports):
            edge = incoming.get(port)
            row = QHBoxLayout()
            source = f"{edge.src}" if edge else "<i>not connected</i>"
            row.addWidget(_label(f"{i + 1}. <b>{port}</b> ← {source}", wrap=False), 1)
            for text, other, tip in (("▲", i - 1, "Move up"), ("▼", i + 1, "Move down")):
                button = QToolButton()
                button.setText(text)
                button.setToolTip(f"{tip}: swap with {ports[other]}" if 0 <= other < len(ports)
                                  else tip)
                button.setEnabled(0 <= other < len(ports))
                if 0 <= other < len(ports):
                    button.clicked.connect(lambda _c=False, a=port, b=ports[other]:
                                           self.swap_inputs(a, b))
                row.addWidget(button)
            holder = QWidget()
            holder.setLayout(row)
            self.inputs_box.addWidget(holder)

    # -- edits -------------------------------------------------------------------------------
    def _commit(self, param: str, value: object) -> None:
        editor = self.editors[param]
        errors: list[str] = []
        self.session.errorReported.connect(errors.append)
        try:
            self.session.push(SetParamsCommand(self.session, self.node, {param: value}))
        finally:
            self.session.errorReported.disconnect(errors.append)
        if errors:
            editor.set_error(errors[0])
            editor.value = self.session.doc.node(self.node).params[param]

    def _rename(self) -> None:
        new = self.name_edit.text().strip()
        if self.node is None or new == self.node:
            self.name_error.hide()
            return
        try:
            check_identifier(new)
            if self.session.doc.has_node(new):
                raise DocumentError(f"a node named {new!r} already exists")
        except DocumentError as exc:
            self.name_error.setText(str(exc))
            self.name_error.show()
            return
        self.name_error.hide()
        self.session.push(RenameNodeCommand(self.session, self.node, new))

    def swap_inputs(self, port: str, other: str) -> None:
        self.session.push(move_input_command(self.session, self.node, port, other))

    def focus_name(self) -> None:
        if self.node is not None:
            self.name_edit.setFocus()
            self.name_edit.selectAll()

    # -- listening ---------------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if self.node is None:
            return
        if change.kind == "node_renamed" and change.detail["old"] == self.node:
            self.node = change.detail["new"]
            self.name_edit.setText(self.node)
        elif change.kind == "node_removed" and self.node in change.nodes:
            self.show_node(None)
        elif change.kind == "params_changed" and self.node in change.nodes:
            self.refresh()
        elif change.kind in ("edge_added", "edge_removed") and self.node in change.nodes:
            if self.session.doc.node(self.node).spec.variadic:
                self._refresh_inputs()
        elif change.kind == "reset":
            self.show_node(None)

    def _on_results(self, names: list[str]) -> None:
        if self.node is not None and self.node in names:
            self.refresh()
        elif self.node is None:
            self._recount.start()  # the overview's shapes and counts


class _LayerPage:
    """The inspector's form for one layer type: header, name, shape, problems, one editor
    per parameter, input order (merge layers), formula and help. Built once per type."""

    def __init__(self, panel: InspectorPanel, spec: LayerSpec) -> None:
        self.body = QWidget()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(4)
        colour = theme.CATEGORY_COLOURS.get(spec.category, "#64748b")
        layout.addWidget(QLabel(
            f"<span style='font-size:13pt; font-weight:600'>{spec.type}</span>"
            f"&nbsp;&nbsp;<span style='color:{colour}; font-weight:600'>● {spec.category}"
            "</span>"))
        row = QHBoxLayout()
        row.addWidget(QLabel("Name"))
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The attribute name in the generated code (F2 to rename)")
        self.name_edit.editingFinished.connect(panel._rename)
        row.addWidget(self.name_edit, 1)
        layout.addLayout(row)
        self.name_error = _label()
        self.name_error.setStyleSheet(f"color: {theme.current().error};")
        self.name_error.hide()
        layout.addWidget(self.name_error)
        self.shape_label = _label()
        layout.addWidget(self.shape_label)
        self.problem_box = QVBoxLayout()
        layout.addLayout(self.problem_box)
        self.editors: dict[str, ParamEditor] = {}
        if spec.params:
            layout.addWidget(_section("Parameters"))
            form = QFormLayout()
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            for p in spec.params:
                editor = editor_for(p)
                editor.committed.connect(panel._commit)
                self.editors[p.name] = editor
                label = QLabel(p.name)
                label.setToolTip(p.help)
                form.addRow(label, editor)
            layout.addLayout(form)
        self.inputs_box = QVBoxLayout()
        if spec.variadic:
            layout.addWidget(_section("Input order"))
            layout.addLayout(self.inputs_box)
        layout.addWidget(_section("Shape"))
        layout.addWidget(_label(spec.formula, muted=True))
        self.explanation_label = _label()
        self.explanation_label.setStyleSheet("font-family: monospace;")
        layout.addWidget(self.explanation_label)
        layout.addWidget(_section("About " + spec.type))
        layout.addWidget(_label(spec.help))
        layout.addStretch(1)


def _clear_layout(layout: QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().hide()  # deleteLater alone leaves it painted until the next loop
            item.widget().deleteLater()
        elif item.layout() is not None:
            _clear_layout(item.layout())
