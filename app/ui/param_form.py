"""Editors generated from the Param schema, one per parameter kind, and a form of them.

The inspector lays the editors out itself (showing what auto parameters resolve to); the
data panel, the augmentation editor and the training panel use ParamForm. Every editor
validates with Param.validate before it emits `committed`, and shows the reason inline (red,
under the field) when the value is refused, naming the field. Auto and optional parameters
get a toggle: checked means None (read from the input, or the default).
"""

from __future__ import annotations

import json
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.params import (
    BOOL,
    CHOICE,
    FLOAT,
    FLOATS,
    INT,
    INTS,
    LARGEST,
    MATRIX,
    PATH,
    SHAPE,
    STEPS,
    STR,
    TUPLE,
    Param,
    ParamError,
)
from app.ui import theme


def _spin(p: Param) -> QSpinBox:
    spin = QSpinBox()
    # QSpinBox holds 32-bit ints; the schema refuses larger values anyway.
    spin.setRange(max(-LARGEST, int(p.minimum)) if p.minimum is not None else -LARGEST,
                  min(LARGEST, int(p.maximum)) if p.maximum is not None else LARGEST)
    spin.setKeyboardTracking(False)  # commit on Enter / focus loss / arrows, not per digit
    spin.setAccelerated(True)
    spin.setMinimumWidth(64)
    return spin


def parse_numbers(text: str) -> list[float]:
    """'1, 28, 28', '1×28×28', '[1 28 28]' -> numbers; raises ValueError on anything else."""
    parts = [t for t in re.split(r"[\s,×x*()\[\]]+", text.strip()) if t]
    if not parts:
        raise ValueError("empty")
    return [float(t) for t in parts]


class ParamEditor(QWidget):
    committed = Signal(str, object)  # parameter name, validated value

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.value: Any = None
        self.toggle: QCheckBox | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.field = self._make_field()
        row.addWidget(self.field, 1)
        # A choice that lists None offers it as an item instead ("—").
        if (param.auto or param.optional) and None not in param.choices:
            self.toggle = QCheckBox("auto" if param.auto else "default")
            self.toggle.setToolTip("Leave the value to be read from the input" if param.auto
                                   else "Use the default for this parameter (torch's own)")
            self.toggle.toggled.connect(self._toggled)
            row.addWidget(self.toggle)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.current().error};")
        self.error.hide()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(row)
        outer.addWidget(self.error)
        self.setToolTip(param.help + (f" ({param.describe_range()})"
                                      if param.describe_range() else ""))

    # -- per kind ----------------------------------------------------------------------------
    def _make_field(self) -> QWidget:
        raise NotImplementedError

    def _show(self, value: Any) -> None:
        """Put a value into the field without emitting anything."""
        raise NotImplementedError

    def _read(self) -> Any:
        """The field's current value, raising ValueError when it cannot be parsed."""
        raise NotImplementedError

    def _format_hint(self) -> str:
        return "enter a number"

    # -- shared behaviour --------------------------------------------------------------------
    def set_value(self, value: Any, resolved: Any = None) -> None:
        """Show the document's value; for auto params `resolved` is what the input implies."""
        self.value = value
        self.blockSignals(True)
        shown = value
        if self.toggle is not None:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(value is None)
            self.toggle.blockSignals(False)
            self.field.setEnabled(value is not None)
            if value is None:
                shown = resolved if resolved is not None else self._fallback()
        if shown is not None or self.toggle is None:
            self._show(shown)
        self.blockSignals(False)
        self.set_error("")

    def _fallback(self) -> Any:
        """What a toggled-off field starts from: the default, else a legal number."""
        if self.param.default is not None or self.param.kind not in (INT, FLOAT, TUPLE):
            return self.param.default
        return self.param.minimum if self.param.minimum is not None else 1

    def set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        self.field.setProperty("invalid", bool(text))
        self.field.setStyleSheet(f"border: 1px solid {theme.current().error};" if text else "")

    def _toggled(self, checked: bool) -> None:
        if checked:
            self._commit(None)
        else:
            self.field.setEnabled(True)
            self._commit_field()

    def _commit_field(self) -> None:
        if self.signalsBlocked():
            return
        try:
            raw = self._read()
        except ValueError:
            self.set_error(f"{self.param.name}: {self._format_hint()}")
            return
        self._commit(raw)

    def _commit(self, raw: Any) -> None:
        try:
            value = self.param.validate(raw)
        except ParamError as exc:
            self.set_error(str(exc))
            return
        self.set_error("")
        if value != self.value:
            self.value = value
            self.committed.emit(self.param.name, value)


class IntEditor(ParamEditor):
    def _make_field(self) -> QWidget:
        spin = _spin(self.param)
        spin.valueChanged.connect(lambda _v: self._commit_field())
        return spin

    def _show(self, value: Any) -> None:
        self.field.blockSignals(True)
        self.field.setValue(int(value))
        self.field.blockSignals(False)

    def _read(self) -> Any:
        return self.field.value()


class TextEditor(ParamEditor):
    """A line edit committed on Enter or focus loss; the base of the typed-text editors."""

    def _make_field(self) -> QWidget:
        line = QLineEdit()
        line.editingFinished.connect(self._commit_field)
        return line

    def _show(self, value: Any) -> None:
        self.field.setText(str(value or ""))

    def _read(self) -> Any:
        return self.field.text().strip()


class FloatEditor(TextEditor):
    """A text field, so 1e-05 stays readable; parsed and range-checked on Enter."""

    def _show(self, value: Any) -> None:
        # Short form when it reads back exactly; otherwise every digit, so committing an
        # untouched field (RReLU's upper = 1/3) never changes the value.
        value = float(value)
        short = f"{value:g}"
        self.field.setText(short if float(short) == value else repr(value))

    def _read(self) -> Any:
        return float(self.field.text().strip())


class BoolEditor(ParamEditor):
    def _make_field(self) -> QWidget:
        box = QCheckBox()
        box.toggled.connect(lambda _v: self._commit_field())
        return box

    def _show(self, value: Any) -> None:
        self.field.blockSignals(True)
        self.field.setChecked(bool(value))
        self.field.blockSignals(False)

    def _read(self) -> Any:
        return self.field.isChecked()


class ChoiceEditor(ParamEditor):
    def _make_field(self) -> QWidget:
        combo = QComboBox()
        for choice in self.param.choices:
            combo.addItem("—" if choice is None else str(choice), choice)
        combo.activated.connect(lambda _i: self._commit_field())
        return combo

    def _show(self, value: Any) -> None:
        self.field.blockSignals(True)
        self.field.setCurrentIndex(max(0, self.field.findData(value)))
        self.field.blockSignals(False)

    def _read(self) -> Any:
        return self.field.currentData()


class TupleEditor(ParamEditor):
    """One spin box per dimension (kernel 5 × 5); equal values are stored as one int."""

    def _make_field(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        self.spins = []
        for i in range(self.param.lengths[0]):
            if i:
                times = QLabel("×")
                times.setAlignment(Qt.AlignmentFlag.AlignCenter)
                row.addWidget(times)
            spin = _spin(self.param)
            spin.setMinimumWidth(48)
            spin.valueChanged.connect(lambda _v: self._commit_field())
            self.spins.append(spin)
            row.addWidget(spin, 1)
        return box

    def _show(self, value: Any) -> None:
        values = value if isinstance(value, list) else [value] * len(self.spins)
        for spin, v in zip(self.spins, values):
            spin.blockSignals(True)
            spin.setValue(int(v))
            spin.blockSignals(False)

    def _read(self) -> Any:
        values = [s.value() for s in self.spins]
        return values[0] if len(set(values)) == 1 else values


class ShapeEditor(TextEditor):
    """Free text '1, 28, 28' for shapes of any length."""

    def _make_field(self) -> QWidget:
        line = super()._make_field()
        line.setPlaceholderText("e.g. 1, 28, 28")
        return line

    def _show(self, value: Any) -> None:
        self.field.setText(", ".join(str(v) for v in value))

    def _read(self) -> Any:
        numbers = parse_numbers(self.field.text())
        if any(n != int(n) for n in numbers):
            raise ValueError("not whole")
        return [int(n) for n in numbers]

    def _format_hint(self) -> str:
        return "enter whole numbers separated by commas, e.g. 1, 28, 28"


class ListEditor(TextEditor):
    """Free text for numbers, lists and matrices: '2, -3.4', '[2, -3.4]', '15', '[[1, 0]]'.

    What is not JSON stays text, so the schema can accept a literal ("random") or name
    what is wrong.
    """

    def _show(self, value: Any) -> None:
        self.field.setText(_format(value))

    def _read(self) -> Any:
        text = self.field.text().strip()
        if not text:
            raise ValueError("empty")
        try:
            value = json.loads(text if text.startswith("[") or "," not in text else f"[{text}]")
        except json.JSONDecodeError:
            return text
        # Where a list is required, one number is a list of one (mean_vector "0.5").
        return [value] if isinstance(value, int | float) and not self.param.scalar_ok else value

    def _format_hint(self) -> str:
        return "enter numbers separated by commas, e.g. 0.5, 0.5"


class PathEditor(TextEditor):
    """A text field with a folder browser next to it."""

    def _make_field(self) -> QWidget:
        self.line = super()._make_field()
        browse = QPushButton("…")
        browse.setToolTip("Choose a folder or file")
        browse.clicked.connect(self._browse)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(browse)
        return row

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.param.help or self.param.name,
                                                self.line.text())
        if path:
            self.line.setText(path)
            self._commit_field()

    def _show(self, value: Any) -> None:
        self.line.setText(str(value or ""))

    def _read(self) -> Any:
        return self.line.text().strip()


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        if not value or any(isinstance(v, list | tuple | dict) for v in value):
            return json.dumps(value)  # empty or nested: only JSON reads back unambiguously
        return ", ".join(_format(v) for v in value)
    return str(value)


_EDITORS: dict[str, type[ParamEditor]] = {
    INT: IntEditor, FLOAT: FloatEditor, BOOL: BoolEditor, CHOICE: ChoiceEditor,
    TUPLE: TupleEditor, SHAPE: ShapeEditor, INTS: ListEditor, FLOATS: ListEditor,
    MATRIX: ListEditor, STEPS: ListEditor, STR: TextEditor, PATH: PathEditor,
}


def editor_for(param: Param, parent: QWidget | None = None) -> ParamEditor:
    return _EDITORS[param.kind](param, parent)


class ParamForm(QWidget):
    """One editor per parameter under its name; `changed` fires after an accepted edit
    when no field shows an error."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.params: list[Param] = []
        self.editors: dict[str, ParamEditor] = {}

    def set_params(self, params: list[Param], values: dict[str, Any] | None = None) -> None:
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.params = list(params)
        self.editors = {}
        values = values or {}
        for p in self.params:
            editor = editor_for(p)
            editor.set_value(values.get(p.name, p.default))
            editor.committed.connect(self._committed)
            label = QLabel(p.name.replace("_", " "))
            label.setToolTip(p.help)
            self.layout_.addRow(label, editor)
            self.editors[p.name] = editor

    def _committed(self, *_args: Any) -> None:
        if self.check():
            self.changed.emit()

    @property
    def problem(self) -> str:
        """The first field's error, naming the field; empty when all are valid."""
        return next((e.error.text() for e in self.editors.values() if e.error.text()), "")

    def check(self) -> bool:
        return not self.problem

    def values(self) -> dict[str, Any]:
        """The last accepted value of each field (a refused edit keeps the one before)."""
        return {name: editor.value for name, editor in self.editors.items()}


def vertical_scroll(content: QWidget) -> QScrollArea:
    """A dock form that scrolls down but fits the dock's width: its fields shrink instead
    of hiding their right edge behind a horizontal scroll bar."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    return scroll
