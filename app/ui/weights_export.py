"""Weights out and in, and the export dialog: model code, training script, weights.

A weights file is the model's plain `state_dict` (tensors only, saved atomically), so it
loads with `torch.load(..., weights_only=True)` and `build_model().load_state_dict(...)`
(strict) into the exported file: the exported attribute names are the compiled module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.fileio import write_atomic
from app.core.graph import NetworkDocument
from app.training.checkpoints import save_checkpoint
from app.training.weights import WeightsError, compile_with, read_state_dict

WEIGHTS_FILTER = "PyTorch weights (*.pt *.pth);;All files (*)"


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    return save_checkpoint({k: v.detach().cpu().clone()
                            for k, v in model.state_dict().items()}, path)


def load_weights(doc: NetworkDocument, path: str | Path) -> torch.nn.Module:
    """The network on screen, compiled, with the file's weights (strict: every key fits)."""
    return compile_with(doc, read_state_dict(path), Path(path).name).eval()


def file_stem(title: str) -> str:
    return re.sub(r"\W+", "_", title.lower()).strip("_") or "model"


@dataclass
class ExportChoice:
    model_path: Path
    train_script: bool = False
    weights: bool = False
    written: list[Path] = field(default_factory=list)

    @property
    def script_path(self) -> Path:
        return self.model_path.with_name(f"train_{self.model_path.stem}.py")

    @property
    def weights_path(self) -> Path:
        return self.model_path.with_suffix(".pt")


def export_files(window: Any, choice: ExportChoice) -> list[Path]:
    """Write the model code and, as chosen, the training script and the trained weights.
    Raises ValueError (code or script generation) or OSError with a readable message."""
    from app.core.codegen import generate_code

    doc = window.session.doc
    code = generate_code(doc, window.project.name)
    script = None
    if choice.train_script:
        from app.training.script import generate_train_script

        script = generate_train_script(window.project, choice.model_path.stem)
    model = trained_model(window)
    if choice.weights and model is None:
        raise ValueError("there are no trained weights for this network: train it first")
    write_atomic(choice.model_path, code.encode("utf-8"))
    choice.written = [choice.model_path]
    if script is not None:
        write_atomic(choice.script_path, script.encode("utf-8"))
        choice.written.append(choice.script_path)
    if choice.weights:
        save_weights(model, choice.weights_path)
        choice.written.append(choice.weights_path)
    window.remember_dir(str(choice.model_path))
    return choice.written


def trained_model(window: Any) -> torch.nn.Module | None:
    docks = getattr(window, "training_docks", None)
    return docks.trained if docks is not None else None


class ExportDialog(QDialog):
    """Where to write the model and what else to write beside it."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Export PyTorch code")
        stem = file_stem(window.project.name)
        self.path = QLineEdit(str(Path(window.start_dir()) / f"{stem}.py"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.script = QCheckBox("a training script beside it (train_<name>.py): the data, "
                                "loss, optimizer and schedule set in the app")
        self.script.setChecked(True)
        self.weights = QCheckBox("the trained weights beside it (<name>.pt), loadable with "
                                 "build_model().load_state_dict(torch.load(...))")
        has_weights = trained_model(window) is not None
        self.weights.setChecked(has_weights)
        self.weights.setEnabled(has_weights)
        if not has_weights:
            self.weights.setToolTip("Train the network first (F5), or load weights")
        form = QFormLayout()
        form.addRow("Model file", row)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("Also write:"))
        lay.addWidget(self.script)
        lay.addWidget(self.weights)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(640, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PyTorch code", self.path.text(),
                                              "Python files (*.py)")
        if path:
            self.path.setText(path)

    def choice(self) -> ExportChoice:
        path = Path(self.path.text().strip()).expanduser()
        if path.suffix != ".py":
            path = path.with_name(path.name + ".py")
        return ExportChoice(path, self.script.isChecked(), self.weights.isChecked())


def export_dialog(window: Any) -> None:
    dialog = ExportDialog(window)
    if not dialog.exec():
        return
    export_chosen(window, dialog.choice())


def export_chosen(window: Any, choice: ExportChoice) -> bool:
    """Write what was chosen and confirm it (or say in one line why not)."""
    try:
        written = export_files(window, choice)
    except (ValueError, OSError) as exc:
        window.inform("Export failed", f"Nothing was exported: {exc}", error=True)
        return False
    names = "\n".join(f"  {p}" for p in written)
    window.inform("Exported", f"Wrote {len(written)} file(s):\n{names}")
    return True


def export_onnx_dialog(window: Any) -> None:
    start = Path(window.start_dir()) / f"{file_stem(window.project.name)}.onnx"
    path, _ = QFileDialog.getSaveFileName(window, "Export ONNX", str(start),
                                          "ONNX models (*.onnx)")
    if path:
        export_onnx_to(window, path if path.endswith(".onnx") else path + ".onnx")


def export_onnx_to(window: Any, path: str) -> bool:
    """The network on screen as ONNX: the last run's weights when there are some."""
    from app.core.onnx_export import export_onnx

    model = trained_model(window)
    try:
        export_onnx(window.session.doc, path, model)
    except (ValueError, OSError) as exc:  # CompileError and OnnxExportError are ValueErrors
        window.inform("ONNX export failed", f"Nothing was exported: {exc}", error=True)
        return False
    window.remember_dir(path)
    weights = "the trained weights" if model is not None else "freshly initialised weights"
    window.inform("Exported", f"Wrote {path} (ONNX, {weights})")
    return True


def save_weights_dialog(window: Any) -> None:
    model = trained_model(window)
    if model is None:
        window.inform("No trained weights", "Train the network first (F5): its weights can "
                      "be saved once a run has ended.")
        return
    start = Path(window.start_dir()) / f"{file_stem(window.project.name)}.pt"
    path, _ = QFileDialog.getSaveFileName(window, "Save trained weights", str(start),
                                          WEIGHTS_FILTER)
    if path:
        save_weights_to(window, path)


def save_weights_to(window: Any, path: str) -> bool:
    model = trained_model(window)
    try:
        if model is None:
            raise ValueError("there are no trained weights: train the network first")
        save_weights(model, path)
    except (ValueError, OSError) as exc:
        window.inform("Weights not saved", f"Cannot save {path}: {exc}", error=True)
        return False
    window.remember_dir(path)
    window.statusBar().showMessage(f"Saved the trained weights to {path}", 6000)
    return True


def load_weights_dialog(window: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Load weights", window.start_dir(),
                                          WEIGHTS_FILTER)
    if path:
        load_weights_from(window, path)


def load_weights_from(window: Any, path: str) -> bool:
    """Give the network on screen these weights: Try the model and Save use them."""
    docks = getattr(window, "training_docks", None)
    if docks is None:
        return False
    try:
        model = load_weights(window.session.doc, path)
    except (WeightsError, ValueError) as exc:
        window.inform("Weights not loaded", str(exc), error=True)
        return False
    docks.adopt_model(model)
    window.remember_dir(path)
    window.statusBar().showMessage(f"Loaded the weights of {Path(path).name}", 6000)
    return True


def inform(parent: QWidget, title: str, text: str, error: bool = False) -> None:
    (QMessageBox.warning if error else QMessageBox.information)(parent, title, text)
