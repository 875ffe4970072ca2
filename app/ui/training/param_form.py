"""A form generated from parameter specs (data sources, augmentation steps, losses...).

Works with both ParamSpec flavours (app.data.params and app.training.specs): it reads
name, kind, default, help, minimum, maximum, choices and nullable/optional. Each value
is validated as typed by `validate(spec, value)`; the first error is shown under the
form in words, and `values()` returns only values that passed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

Validator = Callable[[Any, Any], Any]  # (spec, value) -> normalised value, raises ValueError
INT_LIMIT = 2**31 - 1


def _nullable(spec: Any) -> bool:
    return bool(getattr(spec, "nullable", False) or getattr(spec, "optional", False))


def _bound(value: Any, fallback: float) -> float:
    return fallback if value is None or not math.isfinite(value) else float(value)


class ParamForm(QWidget):
    changed = Signal()  # a value changed and the whole form is valid

    def __init__(self, validate: Validator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.validate = validate
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.specs: list[Any] = []
        self.readers: dict[str, Callable[[], Any]] = {}
        self.problem = ""

    def set_specs(self, specs: list[Any], values: dict[str, Any] | None = None) -> None:
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.specs = list(specs)
        self.readers = {}
        values = values or {}
        for spec in self.specs:
            widget, reader = self._editor(spec, values.get(spec.name, spec.default))
            widget.setToolTip(spec.help)
            label = QLabel(spec.name.replace("_", " "))
            label.setToolTip(spec.help)
            self.layout_.addRow(label, widget)
            self.readers[spec.name] = reader
        self.layout_.addRow(self.error)
        self.error.hide()

    # -- editors per kind -----------------------------------------------------------------
    def _editor(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        kind = spec.kind
        if kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(self._emit)
            return box, box.isChecked
        if kind == "choice":
            return self._choice(spec, value)
        if kind == "int" and not _nullable(spec) and value is not None:
            return self._int(spec, value)
        if kind == "float" and not _nullable(spec) and value is not None and \
                spec.maximum is not None and spec.minimum is not None:
            return self._float(spec, value)
        if kind == "path":
            return self._path(spec, value)
        return self._text(spec, value)

    def _choice(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        combo = QComboBox()
        for choice in spec.choices or ():
            combo.addItem("—" if choice is None else str(choice), choice)
        index = combo.findData(value)
        combo.setCurrentIndex(max(0, index))
        combo.currentIndexChanged.connect(self._emit)
        return combo, combo.currentData

    def _int(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        box = QSpinBox()
        box.setRange(int(max(-INT_LIMIT, _bound(spec.minimum, -INT_LIMIT))),
                     int(min(INT_LIMIT, _bound(spec.maximum, INT_LIMIT))))
        box.setValue(int(value))
        box.valueChanged.connect(self._emit)
        return box, box.value

    def _float(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        box = QDoubleSpinBox()
        box.setDecimals(4)
        box.setRange(float(spec.minimum), float(spec.maximum))
        box.setSingleStep(max((spec.maximum - spec.minimum) / 100, 1e-4))
        box.setValue(float(value))
        box.valueChanged.connect(self._emit)
        return box, box.value

    def _text(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        edit = QLineEdit(_format(value))
        if _nullable(spec):
            edit.setPlaceholderText("empty = none")
        edit.editingFinished.connect(self._emit)
        return edit, lambda: _parse(edit.text(), spec)

    def _path(self, spec: Any, value: Any) -> tuple[QWidget, Callable[[], Any]]:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(str(value or ""))
        edit.editingFinished.connect(self._emit)
        browse = QPushButton("…")
        browse.setToolTip("Choose a folder or file")

        def choose() -> None:
            path = QFileDialog.getExistingDirectory(self, spec.help or spec.name, edit.text())
            if path:
                edit.setText(path)
                self._emit()
        browse.clicked.connect(choose)
        layout.addWidget(edit, 1)
        layout.addWidget(browse)
        return row, edit.text

    # -- values -------------------------------------------------------------------------------
    def _emit(self, *_args: Any) -> None:
        if self.check():
            self.changed.emit()

    def raw_values(self) -> dict[str, Any]:
        return {name: read() for name, read in self.readers.items()}

    def check(self) -> bool:
        """Validate every field; show the first problem in words."""
        self.problem = ""
        for spec in self.specs:
            try:
                self.validate(spec, self.readers[spec.name]())
            except ValueError as exc:
                self.problem = f"{spec.name}: {exc}"
                break
        self.error.setText(self.problem)
        self.error.setVisible(bool(self.problem))
        return not self.problem

    def values(self) -> dict[str, Any]:
        """The validated values (call check() first; invalid fields keep their default)."""
        out = {}
        for spec in self.specs:
            try:
                out[spec.name] = self.validate(spec, self.readers[spec.name]())
            except ValueError:
                out[spec.name] = spec.default
        return out


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_format(v) for v in value) if not any(
            isinstance(v, list | tuple) for v in value) else json.dumps(value)
    return str(value)


def _parse(text: str, spec: Any) -> Any:
    """'2, -3.4' or '[2, -3.4]' -> [2.0, -3.4]; '15' -> 15; '' -> None. Numbers stay
    numbers and everything else text, so the validator can name what is wrong."""
    text = text.strip()
    if not text:
        return None
    if spec.kind in ("str", "path"):
        return text
    try:
        value = json.loads(text if text.startswith("[") or "," not in text else f"[{text}]")
    except json.JSONDecodeError:
        return text
    if spec.kind in ("ints", "floats", "matrix") and isinstance(value, list | int | float):
        return value
    return value
