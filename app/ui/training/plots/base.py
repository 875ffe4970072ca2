"""PlotPanel: a plot with its own controls, redrawn from a RunHistory, exportable.

Panels never redraw on events: the docks' timer calls `refresh(run)` at most ~10 times a
second, and only when the run's `version` moved since the last drawing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.analysis.run_history import RunHistory

pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def plot_widget(title: str = "", left: str = "", bottom: str = "") -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    w.setTitle(title, color="#222", size="10pt")
    w.setLabel("left", left)
    w.setLabel("bottom", bottom)
    w.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("left", "bottom"):
        w.getAxis(axis).setTextPen("#333")
        w.getAxis(axis).setPen("#888")
        # The grid is drawn by the axes: uncached it costs ~25 ms per repaint (measured),
        # cached it is redrawn only when the axis range or size changes.
        w.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return w


class PlotPanel(QWidget):
    title = "Plot"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: RunHistory | None = None
        self.drawn_version = -1
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setStyleSheet("color: #666;")
        # a changing text must not change the size hint: that would re-lay out and
        # repaint the whole dock on every refresh
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        png = QPushButton("Save PNG…")
        png.setToolTip("Save this plot as a picture")
        png.clicked.connect(self._save_png_dialog)
        data = QPushButton("Save CSV…")
        data.setToolTip("Save the numbers behind this plot")
        data.clicked.connect(self._save_csv_dialog)
        top = QHBoxLayout()
        top.addLayout(self.controls)
        top.addWidget(self.note, 1)
        top.addWidget(png)
        top.addWidget(data)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(top)
        outer.addLayout(self.body, 1)

    # -- drawing ------------------------------------------------------------------------
    def refresh(self, run: RunHistory | None, force: bool = False) -> None:
        """Redraw when the run changed since the last call (or when forced)."""
        if run is not self.run:
            self.run, force = run, True
        if run is None:
            return
        key = self.key(run)
        if not force and key == self.drawn_version:
            return
        self.drawn_version = key
        self.draw(run)

    def key(self, run: RunHistory) -> object:
        """What this plot depends on; it redraws only when this changes. Most plots
        follow snapshots or epochs, not every batch report."""
        return run.version

    def redraw(self) -> None:
        """A control changed: draw the same run again."""
        if self.run is not None:
            self.draw(self.run)

    def draw(self, run: RunHistory) -> None:
        raise NotImplementedError

    # -- export -------------------------------------------------------------------------
    def table(self) -> tuple[list[str], list[list[Any]]]:
        """(header, rows) of the data on screen."""
        raise NotImplementedError

    def export_target(self) -> QWidget:
        return self

    def save_png(self, path: str | Path) -> bool:
        return self.export_target().grab().save(str(path), "PNG")

    def save_csv(self, path: str | Path) -> int:
        header, rows = self.table()
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return len(rows)

    def _file_name(self) -> str:
        return self.title.lower().replace(" ", "_").replace("/", "_")

    def _save_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", f"{self._file_name()}.png",
                                              "PNG images (*.png)")
        if path:
            self.save_png(path)

    def _save_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot data",
                                              f"{self._file_name()}.csv", "CSV (*.csv)")
        if path:
            self.save_csv(path)
