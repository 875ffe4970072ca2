"""Decision boundary of 2-D sets (moons, circles, spirals, blobs), redrawn each epoch:
the predicted class over the plane, paler where the network is unsure, and the
validation points coloured by their true class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.analysis.run_history import BoundaryGrid, RunHistory
from app.ui import theme
from app.ui.training.plots.base import COLOURS, PlotPanel, plot_widget

NOT_2D = ("The decision boundary is drawn for data with two input features (moons, "
          "circles, spirals, blobs): train on one of those to see how the network splits "
          "the plane. Image data has too many inputs to draw this way.")
WAITING = "The decision boundary appears after the first epoch."


def class_image(grid: BoundaryGrid, background: str = "#ffffff") -> np.ndarray:
    """RGBA image: class colour blended with the background by (1 - confidence)."""
    palette = np.array([QColor(c).getRgbF()[:3] for c in COLOURS])
    bg = np.array(QColor(background).getRgbF()[:3])
    rgb = palette[grid.classes % len(palette)]
    # confidence runs from 1/classes to 1; map that to 0.15..0.6 of the colour
    k = grid.classes.max() + 1 if grid.classes.size else 2
    strength = 0.15 + 0.45 * np.clip((grid.confidence - 1 / max(k, 2)) / (1 - 1 / max(k, 2)),
                                     0, 1)
    out = bg + strength[..., None] * (rgb - bg)
    return (np.dstack([out, np.ones(grid.classes.shape)]) * 255).astype(np.ubyte)


class BoundaryPanel(PlotPanel):
    title = "Decision boundary"
    empty = ("Train the network (F5) to see its decision boundary: how it splits the plane "
             "of data with two input features (moons, circles, spirals, blobs).")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot_widget("", "x₂", "x₁")
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.scatter = pg.ScatterPlotItem(size=6)
        self.plot.addItem(self.scatter)
        self.body.addWidget(self.plot)
        self.grid: BoundaryGrid | None = None

    def key(self, run: RunHistory) -> object:
        return run.evaluation.epoch if run.evaluation else None

    def draw(self, run: RunHistory) -> None:
        ev = run.evaluation
        if ev is None or ev.boundary is None:
            self.grid = None
            self.show_message(WAITING if ev is None and run.running else NOT_2D)
            return
        self.show_content()
        g = self.grid = ev.boundary
        self.image.setImage(class_image(g, theme.current().base))
        dx, dy = g.xs[1] - g.xs[0], g.ys[1] - g.ys[0]
        self.image.setRect(QRectF(g.xs[0] - dx / 2, g.ys[0] - dy / 2,
                                  dx * len(g.xs), dy * len(g.ys)))
        brushes = [pg.mkBrush(COLOURS[int(c) % len(COLOURS)]) for c in g.labels]
        self.scatter.setData(pos=g.points, brush=brushes,
                             pen=pg.mkPen(theme.current().text, width=0.5))
        self.plot.setTitle(f"epoch {ev.epoch}")
        self.note.setText(f"{len(g.points)} validation points; background: predicted class")

    def table(self) -> tuple[list[str], list[list[Any]]]:
        g = self.grid
        if g is None:
            return ["x1", "x2", "predicted", "confidence"], []
        return ["x1", "x2", "predicted", "confidence"], [
            [float(x), float(y), int(g.classes[i, j]), float(g.confidence[i, j])]
            for i, y in enumerate(g.ys) for j, x in enumerate(g.xs)]
