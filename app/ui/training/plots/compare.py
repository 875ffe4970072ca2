"""Compare runs: tick runs to see their results side by side (final metrics and overlaid
curves), and what differs between two runs in their settings and in their networks."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
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
from app.ui import theme
from app.ui.training.plots.base import PlotPanel, add_legend, colour, plot_widget
from app.ui.training.plots.curves import dashed, finite_xy

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


METRICS = ("status", "epochs", "train loss", "val loss", "val accuracy", "best val accuracy")


def final_metrics(run: RunHistory) -> dict[str, str]:
    """The numbers a student compares runs by, as table cells ('–' where a run has none)."""
    def last(values: list[float], fmt: str) -> str:
        finite = [v for v in values if math.isfinite(v)]
        return format(finite[-1], fmt) if finite else "–"
    finite_acc = [v for v in run.val_acc if math.isfinite(v)]
    return {"status": run.status.replace("_", " "), "epochs": str(len(run.epochs)),
            "train loss": last(run.train_loss, ".4f"), "val loss": last(run.val_loss, ".4f"),
            "val accuracy": last(run.val_acc, ".1%"),
            "best val accuracy": format(max(finite_acc), ".1%") if finite_acc else "–"}


class CompareView(PlotPanel):
    """Runs side by side: a final-metrics table and their curves overlaid (each run its
    own colour, training solid, validation dashed), then what differs between two runs."""

    title = "Compare runs"
    empty = ("Train the network (F5), change something, and train again: every run is "
             "listed here with its final metrics and curves side by side, and what differs "
             "between two runs in their settings and networks.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunHistory] = []
        self.list = QListWidget()
        self.list.setToolTip("Tick the runs to show side by side")
        self.list.itemChanged.connect(self._overlays_changed)
        self.left = QComboBox()
        self.right = QComboBox()
        for combo in (self.left, self.right):
            combo.currentIndexChanged.connect(self._show_diff)
        self.controls.addWidget(QLabel("differences:"))
        self.controls.addWidget(self.left)
        self.controls.addWidget(QLabel("with"))
        self.controls.addWidget(self.right)
        self.metrics = self._table(["run", *METRICS])
        self.metrics.horizontalHeader().setStretchLastSection(False)
        self.loss = plot_widget("Loss", "loss", "epoch")
        self.acc = plot_widget("Accuracy", "accuracy (%)", "epoch")
        self.acc.setYRange(0, 100, padding=0.02)
        for w in (self.loss, self.acc):
            w.setMinimumSize(180, 150)
        add_legend(self.loss)
        add_legend(self.acc).anchor((1, 1), (1, 1), offset=(-6, -6))
        self.curves: list[pg.PlotDataItem] = []
        self.settings = self._table(["setting", "left", "right"])
        self.graph = self._table(["layer", "left", "right"])
        self.settings_title = QLabel("Settings that differ")
        self.graph_title = QLabel("Network differences")
        self.body.addWidget(self._layout())
        self.rows: list[Difference] = []
        self.shown: list[RunHistory] = []

    def _layout(self) -> QSplitter:
        runs = QSplitter(Qt.Orientation.Vertical)
        runs.addWidget(_titled("Runs (tick to compare)", self.list))
        runs.addWidget(_titled("Final metrics", self.metrics))
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss)
        plots.addWidget(self.acc)
        diffs = QWidget()
        lay = QVBoxLayout(diffs)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.settings_title, self.settings, self.graph_title, self.graph):
            lay.addWidget(w)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(plots)
        right.addWidget(diffs)
        right.setSizes([300, 200])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(runs)
        split.addWidget(right)
        split.setSizes([320, 700])
        return split

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
        for i, run in enumerate(self.runs):
            item = QListWidgetItem(describe(run))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if id(run) in ticked
                               else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, id(run))
            item.setIcon(_swatch(run_colour(i)))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.runs:
            self.show_content()
        else:
            self.show_message(self.empty)
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
        self._show_results()

    def _pair(self) -> tuple[RunHistory, RunHistory] | None:
        a, b = self.left.currentData(), self.right.currentData()
        if a is None or b is None or not self.runs:
            return None
        return self.runs[a], self.runs[b]

    def shown_runs(self) -> list[RunHistory]:
        """The ticked runs; with none ticked, the two whose differences are listed."""
        ticked = self.overlays()
        if ticked:
            return ticked
        pair = self._pair()
        if pair is None:
            return []
        return [pair[0]] if pair[0] is pair[1] else list(pair)

    def _show_results(self) -> None:
        self.shown = self.shown_runs()
        for item in self.curves:
            for w in (self.loss, self.acc):
                if item in w.getPlotItem().items:
                    w.removeItem(item)
        self.curves = []
        self.metrics.setRowCount(len(self.shown))
        for row, run in enumerate(self.shown):
            c = run_colour(self.runs.index(run))
            name = QTableWidgetItem(_swatch(c), run.name)
            self.metrics.setItem(row, 0, name)
            for col, key in enumerate(METRICS, start=1):
                cell = QTableWidgetItem(final_metrics(run)[key])
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                self.metrics.setItem(row, col, cell)
            self._plot(run, c)
        self.metrics.resizeColumnsToContents()

    def _plot(self, run: RunHistory, c: str) -> None:
        for w, values, scale, label, pen in (
                (self.loss, run.train_loss, 1, "train", pg.mkPen(c, width=2)),
                (self.loss, run.val_loss, 1, "val", dashed(c)),
                (self.acc, run.train_acc, 100, "train", pg.mkPen(c, width=2)),
                (self.acc, run.val_acc, 100, "val", dashed(c))):
            x, y = finite_xy(run.epochs, values)
            if len(x):
                self.curves.append(w.plot(x, y * scale, pen=pen, name=f"{run.name} {label}"))

    def _show_diff(self) -> None:
        self._show_results()
        pair = self._pair()
        if pair is None or pair[0] is pair[1]:
            self._fill(self.settings, [])
            self._fill(self.graph, [])
            self.settings_title.setText("Change a setting or a layer and train again to see "
                                        "here what differs between two runs" if pair else "")
            self.graph_title.setText("")
            self.rows = []
            self.note.setText("")
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
                background = CHANGE_COLOURS[d.change]
                item.setBackground(QBrush(QColor(background)))
                item.setForeground(QBrush(QColor(theme.readable_text(background))))
                table.setItem(i, j, item)
        table.resizeColumnToContents(0)

    def key(self, run: RunHistory) -> object:
        return run.status

    def draw(self, run: RunHistory) -> None:
        """The current run's status changes its line in the list and its results."""
        for i, r in enumerate(self.runs):
            if r is run and i < self.list.count():
                self.list.item(i).setText(describe(r))
        self._show_results()

    def clear_view(self) -> None:
        """The page follows the project's stored runs, not the current one."""

    def theme_changed(self) -> None:
        self.set_runs(self.runs)

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return ["what", "change", "left", "right"], [[d.what, d.change, d.left, d.right]
                                                     for d in self.rows]


def run_colour(i: int) -> str:
    """Run i of the project keeps one colour in the list, the table and the curves."""
    return colour(i)


def _swatch(c: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(c))
    return QIcon(pixmap)


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold;")
    lay.addWidget(label)
    lay.addWidget(widget)
    return box
