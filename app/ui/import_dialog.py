"""File > Import Model…: a torchvision model by name, or a model class in a .py file, traced
into a new project (app.core.importer; the same import as `python -m app import`).

Listing torchvision's models and tracing import torch, so both run off the GUI thread
(run_in_background). A refused import leaves its one-line reason in the dialog and the
network on screen untouched. Cancel closes the dialog at once, tracing or not: fx cannot be
interrupted, so a trace still running finishes in the background and its result is dropped.
The imported network opens with its blocks collapsed, as the ResNet-18 template does.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.grouping import opening_canvas
from app.core.project import Project
from app.ui.background import Job, run_in_background

DEFAULT_SHAPE = "3,224,224"
SHAPE_HINT = "channels,height,width (e.g. 3,224,224); two inputs: 4;4"
FILE_SHAPE_HINT = "empty: the file's INPUT_SHAPE"
# Two threads importing torchvision at once can each see the other's half-initialised
# package (ImportError on torchvision.ops); the listing and the import take turns.
_TORCH_IMPORT = threading.Lock()


def parse_shapes(text: str) -> list[tuple[int, ...]] | None:
    """'3,32,32' (one input) or '4;4' (two inputs); None when empty. ValueError: one line."""
    text = text.strip()
    if not text:
        return None
    try:
        shapes = [tuple(int(d) for d in part.split(",")) for part in text.split(";")]
    except ValueError:
        raise ValueError(f"Input shape: numbers like 3,224,224 (got {text!r})") from None
    if any(d <= 0 for shape in shapes for d in shape):
        raise ValueError(f"Input shape: every size must be positive (got {text!r})")
    return shapes


def _torchvision_names() -> list[str]:
    with _TORCH_IMPORT:
        from app.core.importer import torchvision_names

        return torchvision_names()


def run_import(torchvision_name: str | None, path: str, class_name: str,
               shapes: list[tuple[int, ...]] | None) -> Any:
    """The import itself (background thread): an ImportResult, or ModelImportError."""
    with _TORCH_IMPORT:
        from app.core.importer import ModelImportError, import_file, import_torchvision

    if torchvision_name:
        if shapes is not None and len(shapes) != 1:
            raise ModelImportError("A torchvision model takes one input shape.")
        return import_torchvision(torchvision_name, *(shapes or []))
    return import_file(path, class_name or None, shapes)


class ImportDialog(QDialog):
    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.result_: Any = None  # the ImportResult once an import succeeded
        self.job: Job | None = None
        self.cancelled = False  # a trace still running when Cancel was pressed is dropped
        self.setWindowTitle("Import model")
        self.setMinimumWidth(520)

        self.from_torchvision = QRadioButton("A &torchvision model (built without weights)")
        self.from_file = QRadioButton("A model class in a &Python file")
        self.from_torchvision.setChecked(True)
        self.names = QComboBox()
        self.names.addItem("Loading torchvision's models…")
        self.names.setEnabled(False)
        self.path = QLineEdit()
        self.path.setPlaceholderText("model.py")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("empty: build_model() or class Net")
        self.shape = QLineEdit(DEFAULT_SHAPE)
        self.shape.setToolTip(SHAPE_HINT)
        self.file_widgets = (self.path, browse, self.class_name)

        form = QFormLayout()
        form.addRow(self.from_torchvision)
        form.addRow("Model:", self.names)
        form.addRow(self.from_file)
        form.addRow("File:", file_row)
        form.addRow("Class:", self.class_name)
        form.addRow("Input shape:", self.shape)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: tracing reports no progress
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #c0392b;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton(
            "&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)

        self.from_torchvision.toggled.connect(self._source_changed)
        self._source_changed()
        run_in_background(_torchvision_names, self._names_loaded, self._names_failed,
                          owner=self)

    # -- choices ---------------------------------------------------------------------------
    def _names_loaded(self, names: list[str]) -> None:
        self.names.clear()
        self.names.addItems(names)
        if "resnet18" in names:
            self.names.setCurrentText("resnet18")
        self._source_changed()

    def _names_failed(self, message: str) -> None:
        self.names.setItemText(0, "torchvision's models are not available")
        self.status.setText(message)

    def _source_changed(self, _: bool = False) -> None:
        torchvision = self.from_torchvision.isChecked()
        self.names.setEnabled(torchvision and self.names.count() > 1)
        for widget in self.file_widgets:
            widget.setEnabled(not torchvision)
        if torchvision and not self.shape.text().strip():
            self.shape.setText(DEFAULT_SHAPE)
        elif not torchvision and self.shape.text().strip() == DEFAULT_SHAPE:
            self.shape.clear()
        self.shape.setPlaceholderText("" if torchvision else FILE_SHAPE_HINT)
        self.status.clear()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model from a Python file",
                                              self.window_.start_dir(), "Python (*.py)")
        if path:
            self.path.setText(path)
            self.window_.remember_dir(path)

    # -- the import ------------------------------------------------------------------------
    def start_import(self) -> None:
        """Check the fields, then trace in the background; the dialog closes on success."""
        if self.job is not None and self.job.running:
            return
        try:
            shapes = parse_shapes(self.shape.text())
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        name = self.names.currentText() if self.from_torchvision.isChecked() else None
        if name is not None and not self.names.isEnabled():
            self.status.setText("torchvision's models are still loading.")
            return
        path = self.path.text().strip()
        if name is None and not path:
            self.status.setText("Choose the .py file that defines the model.")
            return
        self.status.clear()
        self.cancelled = False
        self._set_busy(True)
        self.job = run_in_background(
            lambda: run_import(name, path, self.class_name.text().strip(), shapes),
            self._imported, self._failed, owner=self)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.import_button.setEnabled(not busy)
        for widget in (self.from_torchvision, self.from_file, self.shape):
            widget.setEnabled(not busy)
        self.names.setEnabled(not busy and self.from_torchvision.isChecked()
                              and self.names.count() > 1)
        for widget in self.file_widgets:
            widget.setEnabled(not busy and self.from_file.isChecked())

    def _imported(self, result: Any) -> None:
        self._set_busy(False)
        if self.cancelled:
            return
        self.result_ = result
        self.accept()

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        if not self.cancelled:
            self.status.setText(message)

    def reject(self) -> None:
        """Cancel (or Esc, or closing the window) ends the dialog even while a trace runs."""
        self.cancelled = self.job is not None and self.job.running
        super().reject()


def open_imported(window: Any, result: Any) -> None:
    """The imported network as a new, unsaved project titled after the model."""
    project = Project(result.doc, name=result.title,
                      canvas=opening_canvas(result.doc))
    window.load(project.network, project, None)
    message = f"Imported {result.title}: {len(result.doc.nodes)} layers"
    if result.unmapped:
        message += (f"; {len(result.unmapped)} weights are not used by forward(): "
                    f"{', '.join(result.unmapped[:5])}")
    window.statusBar().showMessage(message, 15000)


def import_model_dialog(window: Any) -> None:
    if not window.may_replace_network():
        return
    dialog = ImportDialog(window)
    if dialog.exec() and dialog.result_ is not None:
        open_imported(window, dialog.result_)
