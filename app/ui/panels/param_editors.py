"""Editors generated from the Param schema, one per parameter kind.

Every editor validates with Param.validate before it emits `committed`, and shows the
reason inline (red, under the field) when the value is refused, naming the field.
Auto and optional parameters get a toggle: checked means None (read from the input, or
torch's own default).
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.params import BOOL, CHOICE, FLOAT, INT, INTS, SHAPE, Param, ParamError
from app.ui import theme

BIG = 1_000_000_000


def _spin(p: Param) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(int(p.minimum) if p.minimum is not None else -BIG,
                  int(p.maximum) if p.maximum is not None else BIG)
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
        if param.auto or param.optional:
            self.toggle = QCheckBox("auto" if param.auto else "default")
            self.toggle.setToolTip("Leave the value to be read from the input" if param.auto
                                   else "Use torch's default for this parameter")
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
        """Put a (non-None) value into the field without emitting anything."""
        raise NotImplementedError

    def _read(self) -> Any:
        """The field's current value, raising ValueError when it cannot be parsed."""
        raise NotImplementedError

    # -- shared behaviour --------------------------------------------------------------------
    def set_value(self, value: Any, resolved: Any = None) -> None:
        """Show the document's value; for auto params `resolved` is what the input implies."""
        self.value = value
        self.blockSignals(True)
        if self.toggle is not None:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(value is None)
            self.toggle.blockSignals(False)
        shown = value if value is not None else (resolved if resolved is not None
                                                 else self._fallback())
        self.field.setEnabled(value is not None)
        if shown is not None:
            self._show(shown)
        self.blockSignals(False)
        self.set_error("")

    def _fallback(self) -> Any:
        if self.param.default is not None:
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

    def _format_hint(self) -> str:
        return "enter a number"

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


class FloatEditor(ParamEditor):
    """A text field, so 1e-05 stays readable; parsed and range-checked on Enter."""

    def _make_field(self) -> QWidget:
        line = QLineEdit()
        line.editingFinished.connect(self._commit_field)
        return line

    def _show(self, value: Any) -> None:
        self.field.setText(f"{float(value):g}")

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
            combo.addItem(str(choice), choice)
        combo.activated.connect(lambda _i: self._commit_field())
        return combo

    def _show(self, value: Any) -> None:
        self.field.blockSignals(True)
        self.field.setCurrentIndex(max(0, self.field.findData(value)))
        self.field.blockSignals(False)

    def _read(self) -> Any:
        return self.field.currentData()


class IntsEditor(ParamEditor):
    """One spin box per dimension (kernel 5 × 5); equal values are stored as one int."""

    def _make_field(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        self.spins = []
        for i in range(self.param.length):
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
        values = value if isinstance(value, list) else [value] * self.param.length
        for spin, v in zip(self.spins, values):
            spin.blockSignals(True)
            spin.setValue(int(v))
            spin.blockSignals(False)

    def _read(self) -> Any:
        values = [s.value() for s in self.spins]
        return values[0] if len(set(values)) == 1 else values


class ShapeEditor(ParamEditor):
    """Free text '1, 28, 28' for shapes of any length."""

    def _make_field(self) -> QWidget:
        line = QLineEdit()
        line.setPlaceholderText("e.g. 1, 28, 28")
        line.editingFinished.connect(self._commit_field)
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


_EDITORS = {INT: IntEditor, FLOAT: FloatEditor, BOOL: BoolEditor, CHOICE: ChoiceEditor,
            INTS: IntsEditor, SHAPE: ShapeEditor}


def editor_for(param: Param, parent: QWidget | None = None) -> ParamEditor:
    return _EDITORS[param.kind](param, parent)
