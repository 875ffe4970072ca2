"""Summary: a torchinfo-like table (layer, type, output shape, parameters, trainable)
with totals and a memory estimate per sample.

Parameter counts come from building each node's module on the meta device (no memory,
no initialisation), cached by its resolved parameters so an edit recounts one layer.
That needs torch: until it is imported (in the background, ~2 s after launch) the table
already shows every layer and its shape, and the counts follow.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
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
from app.ui.background import run_in_background
from app.ui.session import EditorSession

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Trainable")
MIN_ROWS = 5  # the table never shrinks below this many visible rows
COUNTING = "…"
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
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)  # compact: more rows
        self.table.setMinimumHeight(header.sizeHint().height()
                                    + MIN_ROWS * rows.defaultSectionSize() + 4)
        self.footer = QLabel()
        self.footer.setWordWrap(True)  # one long line would set the whole dock area's width
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._torch_loading = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.table)
        layout.addWidget(self.footer)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # one recount per burst of edits
        self._timer.timeout.connect(lambda: self.refresh(count=self._can_count()))
        session.resultsChanged.connect(lambda _n: self._timer.start())
        session.documentReplaced.connect(self._timer.start)

    def refresh(self, count: bool = True) -> None:
        """Fill the table; `count=False` leaves the parameter columns for later (edits
        call it so while torch is still loading)."""
        from app.core.shapes import format_shape

        doc, results = self.session.doc, self.session.results
        names = [n for n in doc.topological_order() if n in results]
        self.table.setRowCount(len(names))
        total = trainable = activations = 0
        for row, name in enumerate(names):
            node, r = doc.node(name), results[name]
            params, train = self.counter.count(node.spec, r.resolved) \
                if r.ok and count else (0, 0)
            total, trainable = total + params, trainable + train
            if r.ok and node.spec.role is not Role.OUTPUT:
                activations += sum(math.prod(s) * _ITEMSIZE.get(r.dtypes.get(p, ""), 4)
                                   for p, s in r.outputs.items())
            shape = (format_shape(r.shape) if r.ok and r.shape is not None else
                     "waiting" if r.blocked else "error")
            if count:
                numbers = (f"{params:,}" if params else "–",
                           "yes" if train else ("no" if params else "–"))
            else:
                numbers = (COUNTING, COUNTING)
            for col, text in enumerate((name, node.type, shape, *numbers)):
                self._set_cell(row, col, text, error=bool(r.error))
        if names and self.table.columnWidth(0) <= self.table.horizontalHeader() \
                .defaultSectionSize():
            self.table.resizeColumnsToContents()  # once: later the user's widths stay
        if count:
            self.totals = {"params": total, "trainable": trainable,
                           "activations": activations}
            self._set_footer(total, trainable, activations)
        else:
            self.totals = {}
            self.footer.setText("Counting parameters…")

    def _can_count(self) -> bool:
        """Counting needs torch; its first import takes seconds, so after an edit it
        happens off the GUI thread and the table refreshes when it is done."""
        if "torch" in sys.modules and "app.core.execution" in sys.modules:
            return True
        if not self._torch_loading:
            self._torch_loading = True
            run_in_background(lambda: importlib.import_module("app.core.execution"),
                              lambda _module: self.refresh(), self.footer.setText, owner=self)
        return False

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
            f"<b>Non-trainable:</b> {total - trainable:,} &nbsp;·&nbsp; "
            f"<b>Memory</b> (float32, one sample): "
            f"<b>{human_bytes(param_bytes + activations)}</b>")
        self.footer.setToolTip(
            f"Parameters {human_bytes(param_bytes)} + activations {human_bytes(activations)} "
            "per sample at inference; training needs about twice as much for the gradients.")
