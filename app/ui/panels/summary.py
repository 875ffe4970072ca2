"""Summary: a torchinfo-like table (layer, type, output shape, parameters, MACs) with
totals, the trainable count and a memory estimate per sample.

Parameter counts are the catalogue's formulas (app.core.param_count), the count `info`,
the exported file and the trainer report too; they need no torch, so the table is
complete from the first paint. MACs come from formulas too (app.core.cost).

The table lives in a ~400 px dock: numbers are compact (50.2K, 1.23M; the exact count in
the tooltip), a frozen layer's count is marked ❄ instead of a column of "yes", and the
name and type columns share what is left, the names elided in the middle (layer1…conv2
keeps both ends) with the full text in the tooltip.
"""

from __future__ import annotations

import math

import networkx as nx
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.catalogue import Role
from app.ui import theme
from app.ui.session import EditorSession

COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs")
LAYER, TYPE, SHAPE, PARAMS, MACS = range(len(COLUMNS))
HEADER_TIPS = {
    SHAPE: "The layer's output for one sample (the batch dimension is left out)",
    PARAMS: "Parameters (weights and biases); ❄ frozen for fine-tuning. Hover for the "
            "exact count",
    MACS: "Multiply-accumulates for one sample. Hover for the exact count",
}
MIN_ROWS = 5  # the table never shrinks below this many visible rows
# Columns that give up width (their cells elide, the tooltip keeps the full text) when the
# dock is too narrow for every column, in this order: the shapes and numbers are what the
# table is for, and a middle-elided name reads better than a cut type. The first also
# takes any spare width.
SHRINKABLE = (LAYER, TYPE)
MIN_SHRUNK_CHARS = 6  # a shrunk column still shows this many characters
FROZEN = "❄ "
_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
             "bool": 1}


def unbroken(html: str) -> str:
    """One 'label: value' of the footer kept on one line (no-break spaces and hyphen): a
    narrow dock wraps between them, never inside ('Non-' / 'trainable: 0' at 1366×768)."""
    return html.replace(" ", "&nbsp;").replace("-", "\u2011")


def human_bytes(n: float) -> str:
    """1024-based, so the units say KiB, MiB, GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def compact_count(n: int) -> str:
    """7850 -> '7,850'; 50240 -> '50.2K'; 122304 -> '122K'; 11176512 -> '11.2M': exact
    below 10,000, else three significant digits, so a cell never needs more than 6
    characters."""
    if n < 10_000:
        return f"{n:,}"
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            value = n / size
            digits = 0 if value >= 99.95 else 1 if value >= 9.995 else 2
            return f"{value:.{digits}f}{unit}"
    return f"{n:,}"  # unreachable: n >= 10_000 has a unit


def shrunk_width(table: QTableWidget) -> int:
    """The narrowest a name or type column gets: MIN_SHRUNK_CHARS average characters and
    the cell's padding."""
    return table.fontMetrics().averageCharWidth() * MIN_SHRUNK_CHARS + 12


class _ElideDelegate(QStyledItemDelegate):
    """Elides one column's text in the middle instead of the view's right elision."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


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
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(LAYER, _ElideDelegate(self.table))
        for col, tip in HEADER_TIPS.items():
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        for col in (PARAMS, MACS):
            self.table.horizontalHeaderItem(col).setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._fitting = False
        self._user_sized = False  # a column dragged by hand: its widths stay from then on
        header.sectionResized.connect(self._section_resized)
        self.table.viewport().installEventFilter(self)
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
        names = [n for n in self.row_order() if n in results]
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
                     "waiting" if r.blocked else "not connected" if r.unwired else "error")
            layer_macs = node_macs(doc, results, name) or 0
            macs += layer_macs
            error = bool(r.error) and not r.unwired
            self._set_cell(row, LAYER, name, f"{name} ({node.type})", error)
            self._set_cell(row, TYPE, node.type, f"{name} ({node.type})", error)
            self._set_cell(row, SHAPE, shape, r.error or "", error)
            self._set_number(row, PARAMS, params, "parameters", error, name in frozen)
            self._set_number(row, MACS, layer_macs, "multiply-accumulates per sample", error)
        self.fit_columns()
        self.totals = {"params": total, "trainable": trainable, "activations": activations,
                       "macs": macs}
        self._set_footer(total, trainable, activations, macs)

    def row_order(self) -> list[str]:
        """Data-flow order; layers the flow does not order (a branch, or a layer not wired
        yet) come in their top-to-bottom order on the canvas, not by name."""
        doc = self.session.doc
        return list(nx.lexicographical_topological_sort(
            doc.graph, key=lambda n: (doc.node(n).pos[1], doc.node(n).pos[0], n)))

    def _frozen(self) -> set[str]:
        """The layers training.freeze covers (fine-tuning): their weights do not train."""
        entries = self.session.project.training.get("freeze") or []
        if not isinstance(entries, list) or not entries:
            return set()
        from app.training.pretrained import frozen_layers

        return frozen_layers(self.session.doc, [e for e in entries if isinstance(e, str)])

    def fit_columns(self) -> None:
        """Every column in view without scrolling: each as wide as its contents; the
        layer column takes what is left over, and when the viewport is too narrow it
        gives up the difference first (its names elide in the middle, the tooltip keeps
        them), the type column only after it (a type is a word to read, "BatchNor…" is
        not), each down to MIN_SHRUNK_CHARS, so shapes and numbers stay whole. Widths
        the user dragged stay."""
        if self._user_sized:
            return
        table, header = self.table, self.table.horizontalHeader()
        wanted = [max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
                  for c in range(len(COLUMNS))]
        excess = sum(wanted) - table.viewport().width()
        if excess > 0:
            for c in SHRINKABLE:  # in order: the names give up room before the types
                given = max(0, min(excess, wanted[c] - shrunk_width(table)))
                wanted[c] -= given
                excess -= given
        else:
            wanted[SHRINKABLE[0]] -= excess  # the spare width goes to the names
        self._fitting = True
        try:
            for c, width in enumerate(wanted):
                table.setColumnWidth(c, width)
        finally:
            self._fitting = False

    def _section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and self.table.isVisible() \
                and QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            self._user_sized = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def _set_cell(self, row: int, col: int, text: str, tip: str, error: bool) -> None:
        item = QTableWidgetItem(text)
        item.setToolTip(tip)
        if col == SHAPE:
            font = QFont(item.font())
            font.setBold(not error)
            item.setFont(font)
        if error:
            item.setForeground(QColor(theme.current().error))
        self.table.setItem(row, col, item)

    def _set_number(self, row: int, col: int, value: int, unit: str, error: bool,
                    frozen: bool = False) -> None:
        text = compact_count(value) if value else "–"
        tip = f"{value:,} {unit}" if value else ""
        if frozen and value:
            text, tip = FROZEN + text, tip + " (frozen: not trained)"
        self._set_cell(row, col, text, tip, error)
        item = self.table.item(row, col)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if frozen and not error:
            item.setForeground(QColor(theme.current().muted))

    def _set_footer(self, total: int, trainable: int, activations: int, macs: int) -> None:
        from app.core.cost import format_macs

        param_bytes = total * 4
        counts = " &nbsp; ".join(unbroken(pair) for pair in (
            f"<b>Total parameters:</b> {total:,}", f"<b>Trainable:</b> {trainable:,}",
            f"<b>Non-trainable:</b> {total - trainable:,}"))
        self.footer.setText(" &nbsp;·&nbsp; ".join((
            counts, unbroken(f"<b>MACs</b> (one sample): <b>{format_macs(macs)}</b>"),
            unbroken(f"<b>Memory</b> (float32, one sample): "
                     f"<b>{human_bytes(param_bytes + activations)}</b>"))))
        self.footer.setToolTip(
            f"{macs:,} multiply-accumulates per sample (about {format_macs(2 * macs)} FLOPs); "
            "activations, pooling and merges count 0.\n"
            f"Parameters {human_bytes(param_bytes)} + activations {human_bytes(activations)} "
            "per sample at inference; training needs about twice as much for the gradients.")
