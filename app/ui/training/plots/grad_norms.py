"""Gradient norm per layer over time on a log scale: vanishing gradients sink towards
the bottom, exploding ones shoot up, and the layer is named in the legend."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.analysis.health import layer_of
from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import PlotPanel, add_legend, colour, plot_widget

FLOOR = 1e-12  # log scale: an exactly-zero gradient is drawn at the floor


def layer_norms(run: RunHistory) -> tuple[list[int], dict[str, list[float]]]:
    """Steps and, per layer, the largest gradient norm of its parameters at each step."""
    steps = [s.step for s in run.snapshots]
    layers: dict[str, list[float]] = {}
    for i, snap in enumerate(run.snapshots):
        per_layer: dict[str, float] = {}
        for name, value in snap.grad_norms.items():
            layer = layer_of(name)
            per_layer[layer] = max(per_layer.get(layer, 0.0), value)
        for layer, value in per_layer.items():
            layers.setdefault(layer, [math.nan] * len(steps))[i] = value
    return steps, layers


class GradNormPanel(PlotPanel):
    title = "Gradient norms"
    empty = ("Train the network (F5) to see the gradient norm of each layer over time: "
             "vanishing gradients sink to the bottom, exploding ones shoot up.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot_widget("Gradient norm per layer (log scale)", "‖grad‖", "step")
        self.plot.setLogMode(y=True)
        add_legend(self.plot)
        self.body.addWidget(self.plot)
        self.data: tuple[list[int], dict[str, list[float]]] = ([], {})

    def key(self, run: RunHistory) -> object:
        return len(run.snapshots)

    def draw(self, run: RunHistory) -> None:
        steps, layers = self.data = layer_norms(run)
        if not layers:
            self.show_message("The gradient norms appear at the first snapshot of the run."
                              if run.running else "This run recorded no gradients.")
            return
        self.show_content()
        self.plot.clear()
        x = np.asarray(steps, float)
        for i, (layer, values) in enumerate(layers.items()):
            y = np.maximum(np.asarray(values, float), FLOOR)
            keep = np.isfinite(y)
            self.plot.plot(x[keep], y[keep], pen=pg.mkPen(colour(i), width=2), symbol="o",
                           symbolSize=4, symbolBrush=colour(i), symbolPen=None, name=layer)
        last = {k: v[-1] for k, v in layers.items() if math.isfinite(v[-1])}
        low, high = min(last, key=last.get, default=""), max(last, key=last.get, default="")
        self.note.setText(f"smallest: {low} · largest: {high}" if last else "")

    def table(self) -> tuple[list[str], list[list[Any]]]:
        steps, layers = self.data
        header = ["step", *layers]
        return header, [[s, *(layers[k][i] for k in layers)] for i, s in enumerate(steps)]
