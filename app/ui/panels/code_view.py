"""Code view: the generated PyTorch module, live, highlighted, copyable and exportable.

generate_code re-infers and compiles the network, which takes a noticeable fraction of a
second for big networks, so it runs debounced on a snapshot of the document on the
background pool, one generation at a time; a result that an edit has since made stale is
dropped. `shutdown` (the window closing) joins the generation in flight.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRegularExpression, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.fileio import write_atomic
from app.ui import theme
from app.ui.background import Job, run_in_background
from app.ui.session import EditorSession

_KEYWORDS = ["and", "as", "assert", "break", "class", "continue", "def", "del", "elif", "else", "except", "False", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "None", "nonlocal", "not", "or", "pass", "raise", "return", "True", "try", "while", "with", "yield"]


# Token colours per theme, each >= 4.5:1 against the theme's base (tests check it).
SYNTAX = {
    "light": {"keyword": "#7c3aed", "self": "#b91c1c", "torch": "#1d4ed8",
              "definition": "#a16207", "number": "#c2410c", "string": "#15803d"},
    "dark": {"keyword": "#c678dd", "self": "#e06c75", "torch": "#61afef",
             "definition": "#e5c07b", "number": "#d19a66", "string": "#98c379"},
}


def _fmt(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(colour))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, classes after `nn.`, numbers, strings, comments and docstrings."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.set_theme(theme.current())

    def set_theme(self, t: theme.Theme) -> None:
        c = SYNTAX.get(t.name, SYNTAX["light"])
        self.rules = [
            (QRegularExpression(r"\b(" + "|".join(_KEYWORDS) + r")\b"),
             _fmt(c["keyword"], bold=True)),
            (QRegularExpression(r"\bself\b"), _fmt(c["self"])),
            (QRegularExpression(r"\b(nn|torch)\.[A-Za-z_][A-Za-z0-9_]*"), _fmt(c["torch"])),
            (QRegularExpression(r"\bdef\s+(\w+)|\bclass\s+(\w+)"),
             _fmt(c["definition"], bold=True)),
            (QRegularExpression(r"\b[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\b"), _fmt(c["number"])),
            (QRegularExpression(r"'[^'\n]*'|\"[^\"\n]*\""), _fmt(c["string"])),
            (QRegularExpression(r"#[^\n]*"), _fmt(t.muted, italic=True)),
        ]
        self.docstring = _fmt(c["string"], italic=True)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            it = pattern.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), fmt)
        self._docstrings(text)

    def _docstrings(self, text: str) -> None:
        """Triple-quoted strings span blocks: block state 1 means 'inside one'."""
        start = 0
        inside = self.previousBlockState() == 1
        self.setCurrentBlockState(0)
        while True:
            idx = text.find('"""', start)
            if inside:
                end = len(text) if idx < 0 else idx + 3
                self.setFormat(start, end - start, self.docstring)
                if idx < 0:
                    self.setCurrentBlockState(1)
                    return
                inside, start = False, end
            else:
                if idx < 0:
                    return
                inside, start = True, idx
                nxt = text.find('"""', idx + 3)
                if nxt >= 0:
                    self.setFormat(idx, nxt + 3 - idx, self.docstring)
                    inside, start = False, nxt + 3


def generate(network: dict[str, Any], title: str) -> str:
    """The code of a document snapshot (runs on the background pool)."""
    from app.core.codegen import generate_code
    from app.core.graph import NetworkDocument

    return generate_code(NetworkDocument.from_dict(network), title)


class CodeViewPanel(QWidget):
    codeUpdated = Signal()
    exportRequested = Signal()  # the window's export dialog (code, train script, weights)

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = "Network"
        self.code = ""
        self.error = ""
        self._generation = 0
        self._job: Job | None = None  # the generation in flight
        self._again = False  # an edit came while one was in flight: start another after it
        self._closed = False
        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(9.5)
        self.editor.setFont(font)
        self.highlighter = PythonHighlighter(self.editor.document())
        self.status = QLabel()
        # Wrapped, so the error sentence cannot widen the whole right dock column.
        self.status.setWordWrap(True)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the code to the clipboard")
        copy.clicked.connect(self.copy_code)
        export = QPushButton("Export .py…")
        export.clicked.connect(self.exportRequested)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(copy)
        bar.addWidget(export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.editor)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)  # typing a value should not regenerate per keystroke
        self._timer.timeout.connect(self.regenerate)
        session.resultsChanged.connect(lambda _n: self._timer.start())
        session.documentReplaced.connect(self._timer.start)

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self._job is not None

    def regenerate(self) -> None:
        if self._closed:
            return
        self._generation += 1
        self.status.setText("Generating…")
        if self._job is not None:  # one at a time: a big network would pile them up
            self._again = True
            return
        generation = self._generation
        network, title = self.session.doc.to_dict(), self.title
        self._job = run_in_background(
            lambda: generate(network, title),
            lambda code: self._finished(generation, code, ""),
            lambda error: self._finished(generation, "", error), owner=self)

    def _finished(self, generation: int, code: str, error: str) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.regenerate()
            return  # an edit happened meanwhile; a newer job is on its way
        if generation != self._generation:
            return
        self.error = error
        if error:
            self.status.setText(f"<span style='color:{theme.current().error}'>The network has "
                                "errors; the code shows the last valid version.</span>")
            self.status.setToolTip(error)
            if not self.code:
                self.editor.setPlainText(f"# Fix the problems to see the code:\n# {error}\n")
        else:
            self.status.setText(f"{len(code.splitlines())} lines · updates as you edit")
            self.status.setToolTip("")
            self._show(code)
        self.codeUpdated.emit()

    def _show(self, code: str) -> None:
        self.code = code
        bar = self.editor.verticalScrollBar()
        keep = bar.value()
        self.editor.setPlainText(code)
        bar.setValue(keep)

    def copy_code(self) -> None:
        QGuiApplication.clipboard().setText(self.code)

    def export_to(self, path: str) -> None:
        try:
            write_atomic(Path(path), self.code.encode("utf-8"))
        except OSError as exc:
            QMessageBox.critical(self, "Export failed", f"Cannot write {path}: {exc}")

    def wait_idle(self, timeout_ms: int = 30000) -> None:
        """Tests and screenshots: finish any pending generation now and show it."""
        if self._timer.isActive():
            self._timer.stop()
            self.regenerate()
        deadline = time.monotonic() + timeout_ms / 1000
        while self._job is not None and time.monotonic() < deadline:
            self._job.wait(max(0.0, deadline - time.monotonic()))
            # its result is a queued signal: deliver it (it may start the next generation)
            QGuiApplication.processEvents()

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """The window is closing: start nothing more and wait for the generation in
        flight (its thread must not outlive the window). False if it is still running."""
        self._closed = True
        self._timer.stop()
        self._again = False
        return self._job is None or self._job.wait(timeout_s)
