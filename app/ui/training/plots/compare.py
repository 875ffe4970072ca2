"""Compare runs: pick earlier runs to overlay on the loss curves, and see two runs side
by side: what differs in their settings and in their networks."""

from __future__ import annotations

import datetime
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.analysis.run_diff import Difference, graph_diff, settings_diff
from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import PlotPanel

CHANGE_COLOURS = {"added": "#e8f5e9", "removed": "#ffebee", "changed": "#fff8e1"}


def describe(run: RunHistory) -> str:
    when = datetime.datetime.fromtimestamp(run.started_at).strftime("%H:%M")
    metric = ""
    valid = [v for v in run.val_acc if math.isfinite(v)]
    if valid:
        metric = f", val acc {valid[-1]:.1%}"
    elif run.val_loss and math.isfinite(run.val_loss[-1]):
        metric = f", val loss {run.val_loss[-1]:.4f}"
    return f"{run.name} ({when}, {run.status}, {len(run.epochs)} epochs{metric})"


class CompareView(PlotPanel):
    title = "Compare runs"
    overlaysChanged = Signal(list)  # the RunHistory objects to overlay on the curves

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunHistory] = []
        self.list = QListWidget()
        self.list.setToolTip("Tick runs to overlay their curves (dashed) on Loss and accuracy")
        self.list.itemChanged.connect(self._overlays_changed)
        self.left = QComboBox()
        self.right = QComboBox()
        for combo in (self.left, self.right):
            combo.currentIndexChanged.connect(self._show_diff)
        self.controls.addWidget(QLabel("compare"))
        self.controls.addWidget(self.left)
        self.controls.addWidget(QLabel("with"))
        self.controls.addWidget(self.right)
        self.settings = self._table(["setting", "left", "right"])
        self.graph = self._table(["layer", "left", "right"])
        right = QWidget()
        lay = QVBoxLayout(right)
        lay.setContentsMargins(0, 0, 0, 0)
        self.settings_title = QLabel("Settings that differ")
        self.graph_title = QLabel("Network differences")
        for w in (self.settings_title, self.settings, self.graph_title, self.graph):
            lay.addWidget(w)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([260, 600])
        self.body.addWidget(split)
        self.rows: list[Difference] = []

    @staticmethod
    def _table(header: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(header))
        t.setHorizontalHeaderLabels(header)
        t.horizontalHeader().setStretchLastSection(True)
        t.verticalHeader().hide()
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        return t

    def set_runs(self, runs: list[RunHistory]) -> None:
        """The project's runs, oldest first; keeps ticks and the chosen pair."""
        ticked = {id(r) for r in self.overlays()}
        pair = (self.left.currentData(), self.right.currentData())
        if len(runs) != len(self.runs):
            pair = (None, None)  # a new run: compare the last two
        self.runs = list(runs)
        self.list.blockSignals(True)
        self.list.clear()
        for run in self.runs:
            item = QListWidgetItem(describe(run))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if id(run) in ticked
                               else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, id(run))
            self.list.addItem(item)
        self.list.blockSignals(False)
        for combo, keep, default in ((self.left, pair[0], -2), (self.right, pair[1], -1)):
            combo.blockSignals(True)
            combo.clear()
            for i, run in enumerate(self.runs):
                combo.addItem(run.name, i)
            if keep is not None and keep < len(self.runs):
                combo.setCurrentIndex(keep)
            else:
                combo.setCurrentIndex(max(0, len(self.runs) + default))
            combo.blockSignals(False)
        self._show_diff()

    def overlays(self) -> list[RunHistory]:
        out = []
        for i in range(self.list.count()):
            if self.list.item(i).checkState() == Qt.CheckState.Checked and i < len(self.runs):
                out.append(self.runs[i])
        return out

    def _overlays_changed(self, _item: QListWidgetItem) -> None:
        self.overlaysChanged.emit(self.overlays())

    def _pair(self) -> tuple[RunHistory, RunHistory] | None:
        a, b = self.left.currentData(), self.right.currentData()
        if a is None or b is None or not self.runs:
            return None
        return self.runs[a], self.runs[b]

    def _show_diff(self) -> None:
        pair = self._pair()
        if pair is None:
            self.note.setText("finish a run to compare it with the next one")
            return
        a, b = pair
        settings = settings_diff({"training": a.config, "data": a.data},
                                 {"training": b.config, "data": b.data})
        graph = graph_diff(a.graph, b.graph)
        self._fill(self.settings, settings)
        self._fill(self.graph, graph)
        self.settings_title.setText(f"Settings that differ: {len(settings)}"
                                    if settings else "Same settings")
        self.graph_title.setText(f"Network differences: {len(graph)}" if graph
                                 else "Same network")
        self.rows = settings + graph
        self.note.setText(f"{a.name} ↔ {b.name}")

    @staticmethod
    def _fill(table: QTableWidget, rows: list[Difference]) -> None:
        table.setRowCount(len(rows))
        for i, d in enumerate(rows):
            label = d.what if d.change == "changed" else f"{d.what} ({d.change})"
            for j, text in enumerate((label, d.left, d.right)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setBackground(QBrush(QColor(CHANGE_COLOURS[d.change])))
                table.setItem(i, j, item)
        table.resizeColumnToContents(0)

    def key(self, run: RunHistory) -> object:
        return run.status

    def draw(self, run: RunHistory) -> None:
        """The current run's status changes its line in the list."""
        for i, r in enumerate(self.runs):
            if r is run and i < self.list.count():
                self.list.item(i).setText(describe(r))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return ["what", "change", "left", "right"], [[d.what, d.change, d.left, d.right]
                                                     for d in self.rows]
