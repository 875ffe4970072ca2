"""Summary: a torchinfo-like table (layer, type, output shape, parameters, trainable,
MACs) with totals and a memory estimate per sample.

Parameter counts are the catalogue's formulas (app.core.param_count), the count `info`,
the exported file and the trainer report too; they need no torch, so the table is
complete from the first paint. MACs come from formulas too (app.core.cost).
"""

from __future__ import annotations

import math

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

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Trainable", "MACs")
MIN_ROWS = 5  # the table never shrinks below this many visible rows
_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
             "bool": 1}


def human_bytes(n: float) -> str:
    """1024-based, so the units say KiB, MiB, GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


class SummaryPanel(QWidget):
    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.table)
        layout.addWidget(self.footer)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # one recount per burst of edits
        self._timer.timeout.connect(self.refresh)
        session.resultsChanged.connect(lambda _n: self._timer.start())
        session.documentReplaced.connect(self._timer.start)
        session.sectionChanged.connect(lambda name: name == "training" and self._timer.start())

    def refresh(self) -> None:
        from app.core.cost import node_macs
        from app.core.shapes import format_shape

        doc, results = self.session.doc, self.session.results
        names = [n for n in doc.topological_order() if n in results]
        self.table.setRowCount(len(names))
        total = trainable = activations = macs = 0
        frozen = self._frozen()
        for row, name in enumerate(names):
            node, r = doc.node(name), results[name]
            params = node.spec.count(r.resolved) if r.ok and node.spec.count else 0
            total += params
            trainable += 0 if name in frozen else params
            if r.ok and node.spec.role is not Role.OUTPUT:
                activations += sum(math.prod(s) * _ITEMSIZE.get(r.dtypes.get(p, ""), 4)
                                   for p, s in r.outputs.items())
            shape = (format_shape(r.shape) if r.ok and r.shape is not None else
                     "waiting" if r.blocked else "error")
            numbers = (f"{params:,}", "frozen" if name in frozen else "yes") if params \
                else ("–", "–")
            layer_macs = node_macs(doc, results, name)
            macs += layer_macs or 0
            cost = f"{layer_macs:,}" if layer_macs else "–"
            for col, text in enumerate((name, node.type, shape, *numbers, cost)):
                self._set_cell(row, col, text, error=bool(r.error))
        if names and self.table.columnWidth(0) <= self.table.horizontalHeader() \
                .defaultSectionSize():
            self.table.resizeColumnsToContents()  # once: later the user's widths stay
        self.totals = {"params": total, "trainable": trainable, "activations": activations,
                       "macs": macs}
        self._set_footer(total, trainable, activations, macs)

    def _frozen(self) -> set[str]:
        """The layers training.freeze covers (fine-tuning): their weights do not train."""
        entries = self.session.project.training.get("freeze") or []
        if not isinstance(entries, list) or not entries:
            return set()
        from app.training.pretrained import frozen_layers

        return frozen_layers(self.session.doc, [e for e in entries if isinstance(e, str)])

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

    def _set_footer(self, total: int, trainable: int, activations: int, macs: int) -> None:
        from app.core.cost import format_macs

        param_bytes = total * 4
        self.footer.setText(
            f"<b>Total parameters:</b> {total:,} &nbsp; <b>Trainable:</b> {trainable:,} &nbsp; "
            f"<b>Non-trainable:</b> {total - trainable:,} &nbsp;·&nbsp; "
            f"<b>MACs</b> (one sample): <b>{format_macs(macs)}</b> &nbsp;·&nbsp; "
            f"<b>Memory</b> (float32, one sample): "
            f"<b>{human_bytes(param_bytes + activations)}</b>")
        self.footer.setToolTip(
            f"{macs:,} multiply-accumulates per sample (about {format_macs(2 * macs)} FLOPs); "
            "activations, pooling and merges count 0.\n"
            f"Parameters {human_bytes(param_bytes)} + activations {human_bytes(activations)} "
            "per sample at inference; training needs about twice as much for the gradients.")
