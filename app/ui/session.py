"""EditorSession: the open project, its undo stack and its live shape results.

The project is the document: `session.project` holds the network (`session.doc` is
`project.network`) and the data, training and canvas sections. Every edit goes through
the undo stack:

- network edits: push a command from app.ui.commands (`session.push(cmd)`);
- a section: `session.set_section("training", new_value)` pushes a SetSectionCommand
  (the value is deep-copied; consecutive edits of the same field merge into one step);
  `session.section("data")` gives a deep copy to edit. `sectionChanged(name)` is emitted
  whenever a section's value changes (edit, undo, redo), so panels re-read it;
- view state that is saved but not undone (collapsed blocks): `set_view_state(key, value)`
  writes `project.canvas[key]` and emits `sectionChanged("canvas")`.

Opening a file or template calls `set_project`, which clears the history and emits
`documentReplaced`. The views never talk to each other: they listen to the session.
Shape inference (which imports torch) is created lazily on the first event-loop tick
that needs it, so the window can appear before torch has loaded, and runs once per
burst of changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.core.graph import Change, NetworkDocument
from app.core.project import Project

if TYPE_CHECKING:
    from app.core.shapes import NodeResult, Problem, ShapeInference


class EditorSession(QObject):
    documentChanged = Signal(object)  # app.core.graph.Change, forwarded as it happens
    documentReplaced = Signal()  # a new document was loaded; views rebuild
    resultsChanged = Signal(list)  # names whose NodeResult was recomputed
    errorReported = Signal(str)  # a refused edit, in the words of the model
    messageReported = Signal(str)  # what an edit did, for the status bar
    sectionChanged = Signal(str)  # "data", "training" or "canvas": re-read that section

    SECTIONS = ("data", "training", "canvas")

    def __init__(self, doc: NetworkDocument | Project | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.project = doc if isinstance(doc, Project) else Project(doc or NetworkDocument())
        self.doc.subscribe(self._on_change)
        self.results: dict[str, NodeResult] = {}
        self.problems: list[Problem] = []
        self._inference: ShapeInference | None = None
        self._refused = False
        # guard(command) -> why the edit is refused now ("" allows it); the window sets it
        self.guard: Callable[[QUndoCommand], str] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.infer_now)
        self._timer.start()

    @property
    def doc(self) -> NetworkDocument:
        return self.project.network

    # -- document lifetime -------------------------------------------------------------------
    def set_project(self, project: Project) -> None:
        """Replace the project (open, new); the undo history belongs to the old one."""
        self.doc.unsubscribe(self._on_change)
        if self._inference is not None:
            self._inference.close()
            self._inference = None
        self.stack.clear()
        self.project = project
        self.doc.subscribe(self._on_change)
        self.results = {}
        self.problems = []
        self.documentReplaced.emit()
        self._timer.start()

    def set_document(self, doc: NetworkDocument) -> None:
        """A project holding just this network (tests, blank networks)."""
        self.set_project(Project(doc))

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
        reason = self.guard(command) if self.guard is not None else ""
        if reason:
            self.report(reason)
            return False
        self._refused = False
        self.stack.push(command)
        return not self._refused

    def report(self, message: str) -> None:
        """Called by a command whose edit the document refused."""
        self._refused = True
        self.errorReported.emit(message)

    def inform(self, message: str) -> None:
        """Say what an edit did beyond the obvious (a wire was replaced)."""
        self.messageReported.emit(message)

    def node_params(self, name: str) -> dict[str, Any]:
        return dict(self.doc.node(name).params)


    # -- project sections --------------------------------------------------------------------
    def section(self, name: str) -> Any:
        """A deep copy of a section's value, safe to edit and pass to `set_section`."""
        return copy.deepcopy(getattr(self.project, _check_section(name)))

    def set_section(self, name: str, value: Any, text: str | None = None) -> bool:
        """Replace a section's value as one undoable step; False when nothing changed."""
        from app.ui.commands import SetSectionCommand

        if value == getattr(self.project, _check_section(name)):
            return False
        return self.push(SetSectionCommand(self, name, value, text))

    def write_section(self, name: str, value: Any) -> None:
        """Used by SetSectionCommand (and view state): store a copy, tell the listeners."""
        setattr(self.project, _check_section(name), copy.deepcopy(value))
        self.sectionChanged.emit(name)

    def set_view_state(self, key: str, value: Any) -> None:
        """Saved with the project but not an edit of it (not undone): which blocks are
        collapsed, for instance."""
        if self.project.canvas.get(key) != value:
            canvas = dict(self.project.canvas)
            canvas[key] = value
            self.write_section("canvas", canvas)


def _check_section(name: str) -> str:
    if name not in EditorSession.SECTIONS:
        raise ValueError(f"unknown project section {name!r} (one of "
                         f"{', '.join(EditorSession.SECTIONS)})")
    return name
