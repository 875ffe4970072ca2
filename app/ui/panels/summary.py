"""Summary: a torchinfo-like table (layer, type, output shape, parameters, trainable)
with totals and a memory estimate per sample.

Parameter counts come from building each node's module on the meta device (no memory,
no initialisation), cached by its resolved parameters so an edit recounts one layer.
"""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.catalogue import Role
from app.ui import theme
from app.ui.session import EditorSession

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Trainable")
_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
             "bool": 1}


class ParamCounter:
    """(total, trainable) parameters of one layer, cached by type and resolved values."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int]] = {}

    def count(self, spec: Any, resolved: dict[str, Any]) -> tuple[int, int]:
        if not spec.has_module or not resolved:
            return 0, 0
        key = json.dumps([spec.type, resolved], sort_keys=True, default=str)
        if key not in self._cache:
            from app.core.compiler import count_parameters
            from app.core.execution import build_meta

            self._cache[key] = count_parameters(build_meta(spec, resolved))
        return self._cache[key]


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


class SummaryPanel(QWidget):
    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.counter = ParamCounter()
        self.totals: dict[str, int] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.footer = QLabel()
        self.footer.setWordWrap(True)  # one long line would set the whole dock area's width
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.table)
        layout.addWidget(self.footer)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # one recount per burst of edits
        self._timer.timeout.connect(self.refresh)
        session.resultsChanged.connect(lambda _n: self._timer.start())
        session.documentReplaced.connect(self._timer.start)

    def refresh(self) -> None:
        from app.core.shapes import format_shape

        doc, results = self.session.doc, self.session.results
        names = [n for n in doc.topological_order() if n in results]
        self.table.setRowCount(len(names))
        total = trainable = activations = 0
        for row, name in enumerate(names):
            node, r = doc.node(name), results[name]
            count, train = self.counter.count(node.spec, r.resolved) if r.ok else (0, 0)
            total, trainable = total + count, trainable + train
            if r.ok and node.spec.role is not Role.OUTPUT:
                activations += sum(math.prod(s) * _ITEMSIZE.get(r.dtypes.get(p, ""), 4)
                                   for p, s in r.outputs.items())
            shape = (format_shape(r.shape) if r.ok and r.shape is not None else
                     "waiting" if r.blocked else "error")
            cells = (name, node.type, shape, f"{count:,}" if count else "–",
                     "yes" if train else ("no" if count else "–"))
            for col, text in enumerate(cells):
                self._set_cell(row, col, text, error=bool(r.error))
        self.totals = {"params": total, "trainable": trainable, "activations": activations}
        self._set_footer(total, trainable, activations)

    def _set_cell(self, row: int, col: int, text: str, error: bool) -> None:
        item = QTableWidgetItem(text)
        if col >= 3:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col == 2:
            font = QFont(item.font())
            font.setBold(not error)
            item.setFont(font)
        if error:
            item.setForeground(QColor(theme.current().error))
        self.table.setItem(row, col, item)

    def _set_footer(self, total: int, trainable: int, activations: int) -> None:
        param_bytes = total * 4
        self.footer.setText(
            f"<b>Total parameters:</b> {total:,} &nbsp; <b>Trainable:</b> {trainable:,} &nbsp; "
            f"<b>Non-trainable:</b> {total - trainable:,}<br>"
            f"<b>Memory estimate</b> (float32): parameters {human_bytes(param_bytes)} + "
            f"activations {human_bytes(activations)} per sample "
            f"(about ×2 while training, for the gradients) = "
            f"<b>{human_bytes(param_bytes + activations)}</b> for one sample at inference")
