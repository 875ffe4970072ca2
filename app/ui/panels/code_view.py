"""Code view: the generated PyTorch module, live, highlighted, copyable and exportable.

generate_code re-infers and compiles the network, which takes a noticeable fraction of a
second for big networks, so it runs debounced on a snapshot of the document in a worker
thread; a result that an edit has since made stale is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRegularExpression, QRunnable, QThreadPool, QTimer, Signal
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


class _Signals(QObject):
    done = Signal(int, str, str)  # generation, code, error


class _CodeJob(QRunnable):
    def __init__(self, generation: int, network: dict[str, Any], title: str,
                 signals: _Signals) -> None:
        super().__init__()
        self.generation, self.network, self.title, self.signals = (generation, network,
                                                                   title, signals)

    def run(self) -> None:
        from app.core.codegen import generate_code
        from app.core.graph import NetworkDocument

        try:
            code = generate_code(NetworkDocument.from_dict(self.network), self.title)
            self.signals.done.emit(self.generation, code, "")
        except Exception as exc:  # noqa: BLE001 - any failure is shown as text in the view
            self.signals.done.emit(self.generation, "", str(exc) or type(exc).__name__)


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
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._finished)
        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(9.5)
        self.editor.setFont(font)
        self.highlighter = PythonHighlighter(self.editor.document())
        self.status = QLabel()
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
        return self._timer.isActive() or self._pool.activeThreadCount() > 0

    def regenerate(self) -> None:
        self._generation += 1
        self.status.setText("Generating…")
        job = _CodeJob(self._generation, self.session.doc.to_dict(), self.title, self._signals)
        self._pool.start(job)

    def _finished(self, generation: int, code: str, error: str) -> None:
        if generation != self._generation:
            return  # an edit happened meanwhile; a newer job is on its way
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
        """Tests and screenshots: finish any pending generation now."""
        if self._timer.isActive():
            self._timer.stop()
            self.regenerate()
        self._pool.waitForDone(timeout_ms)
        QGuiApplication.processEvents()
