"""Problems: every error and warning of the network; clicking one selects its node.

A node's one-click fixes appear as buttons under its first problem; one click (or Enter
on its row) asks the main window to apply it as one undoable command.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.session import EditorSession

NODE_ROLE = Qt.ItemDataRole.UserRole
FIX_ROLE = Qt.ItemDataRole.UserRole + 1


class ProblemsPanel(QWidget):
    nodeSelected = Signal(str)
    fixRequested = Signal(object)  # app.core.shapes.Fix
    countChanged = Signal(int, int, int)  # errors, warnings, steps still to do

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.summary = QLabel()
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)
        session.resultsChanged.connect(lambda _names: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        t = theme.current()
        self.tree.clear()
        shown_fixes: set[str] = set()
        n_errors = n_warnings = n_steps = 0
        for problem in self.session.problems:
            is_error = problem.severity == "error"
            n_steps += problem.step
            n_errors += is_error and not problem.step
            n_warnings += not is_error and not problem.step
            # a step still to do (a blank network's wires) reads as a hint, not a mistake
            item = QTreeWidgetItem([("➜  " if problem.step else "●  ") + problem.message])
            item.setForeground(0, QColor(t.accent if problem.step else
                                         t.error if is_error else t.warning))
            item.setToolTip(0, problem.message)
            item.setData(0, NODE_ROLE, problem.node)
            self.tree.addTopLevelItem(item)
            fixes = list(problem.fixes)
            result = self.session.result(problem.node) if problem.node else None
            if result is not None and problem.node not in shown_fixes and result.fixes:
                shown_fixes.add(problem.node)
                fixes += result.fixes
            for fix in fixes:
                self._add_fix(item, fix, problem.node)
            item.setExpanded(bool(fixes))
        self._set_summary(n_errors, n_warnings, n_steps)
        self.countChanged.emit(n_errors, n_warnings, n_steps)

    def _add_fix(self, parent: QTreeWidgetItem, fix: object, node: str) -> None:
        child = QTreeWidgetItem()
        child.setData(0, NODE_ROLE, node)
        child.setData(0, FIX_ROLE, fix)
        parent.addChild(child)
        button = QPushButton(f"Fix: {fix.label}")
        button.setToolTip("Apply this change to the network (Edit > Undo takes it back)")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda _checked=False, f=fix: self.fixRequested.emit(f))
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 2, 0, 2)
        row.addWidget(button)
        row.addStretch(1)
        self.tree.setItemWidget(child, 0, holder)

    def _set_summary(self, n_errors: int, n_warnings: int, n_steps: int) -> None:
        if n_steps and not n_errors and not n_warnings:
            self.summary.setText(f"{n_steps} step(s) to do before the network can train: "
                                 "wire the Input through your layers to the Output.")
            return
        if not n_errors and not n_warnings:
            self.summary.setText(f"<span style='color:{theme.current().ok}'>✔ No problems: "
                                 "every shape fits.</span>")
            return
        self.summary.setText(f"{n_errors} error(s), {n_warnings} warning(s). Click one to "
                             "select its layer.")

    def fix_items(self) -> list[QTreeWidgetItem]:
        items = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            items += [top.child(j) for j in range(top.childCount())]
        return items

    def fix_buttons(self) -> list[QPushButton]:
        return [self.tree.itemWidget(item, 0).findChild(QPushButton)
                for item in self.fix_items()]

    def _clicked(self, item: QTreeWidgetItem) -> None:
        node = item.data(0, NODE_ROLE)
        if node:
            self.nodeSelected.emit(node)

    def _activated(self, item: QTreeWidgetItem) -> None:
        fix = item.data(0, FIX_ROLE)
        if fix is not None:
            self.fixRequested.emit(fix)
        else:
            self._clicked(item)
