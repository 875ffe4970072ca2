"""EditorSession: the open document, its undo stack and its live shape results.

The views never talk to each other: they listen to the session. Shape inference (which
imports torch) is created lazily on the first event-loop tick that needs it, so the
window can appear before torch has loaded, and runs once per burst of changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.core.graph import Change, NetworkDocument

if TYPE_CHECKING:
    from app.core.shapes import NodeResult, Problem, ShapeInference


class EditorSession(QObject):
    documentChanged = Signal(object)  # app.core.graph.Change, forwarded as it happens
    documentReplaced = Signal()  # a new document was loaded; views rebuild
    resultsChanged = Signal(list)  # names whose NodeResult was recomputed
    errorReported = Signal(str)  # a refused edit, in the words of the model

    def __init__(self, doc: NetworkDocument | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.doc = doc or NetworkDocument()
        self.doc.subscribe(self._on_change)
        self.results: dict[str, NodeResult] = {}
        self.problems: list[Problem] = []
        self._inference: ShapeInference | None = None
        self._refused = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.infer_now)
        self._timer.start()

    # -- document lifetime -------------------------------------------------------------------
    def set_document(self, doc: NetworkDocument) -> None:
        """Replace the document (open, new); the undo history belongs to the old one."""
        self.doc.unsubscribe(self._on_change)
        if self._inference is not None:
            self._inference.close()
            self._inference = None
        self.stack.clear()
        self.doc = doc
        self.doc.subscribe(self._on_change)
        self.results = {}
        self.problems = []
        self.documentReplaced.emit()
        self._timer.start()

    def _on_change(self, change: Change) -> None:
        self.documentChanged.emit(change)
        if change.kind != "node_moved":
            self._timer.start()

    # -- shapes ------------------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """True while a shape update is scheduled but not yet run."""
        return self._timer.isActive()

    def infer_now(self) -> list[str]:
        from app.core.shapes import ShapeInference, network_problems

        self._timer.stop()
        if self._inference is None:
            self._inference = ShapeInference(self.doc)
        self.results = self._inference.infer()
        changed = list(self._inference.recomputed)
        self.problems = network_problems(self.doc, self.results)
        self.resultsChanged.emit(changed)
        return changed

    def result(self, name: str) -> NodeResult | None:
        return self.results.get(name)

    # -- edits -------------------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> bool:
        """Run and record an edit; a refused edit is reported and leaves no history entry."""
        self._refused = False
        self.stack.push(command)
        return not self._refused

    def report(self, message: str) -> None:
        """Called by a command whose edit the document refused."""
        self._refused = True
        self.errorReported.emit(message)

    def node_params(self, name: str) -> dict[str, Any]:
        return dict(self.doc.node(name).params)

