"""Gradient norm per layer over time on a log scale: vanishing gradients sink towards
the bottom, exploding ones shoot up, and the layer is named in the legend."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QWidget

from app.analysis.health import layer_of
from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import (
    PlotPanel,
    add_legend,
    colour,
    plot_widget,
    style_plot,
)

FLOOR = 1e-12  # log scale: an exactly-zero gradient is drawn at the floor
LABELLED = (1, 2, 5)  # within a decade only these get a number: all nine overlap


class DecadeAxis(pg.AxisItem):
    """A log axis numbered at 1, 2 and 5 of each decade (0.01, 0.02, 0.05, 0.1...), with
    the other minor ticks left as unlabelled lines."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = super().logTickStrings(values, scale, spacing)
        return [text if round(10 ** (value % 1)) in LABELLED else ""
                for value, text in zip(values, strings)]


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
        self.plot = plot_widget("Gradient norm per layer (log scale)", "gradient norm (L2)",
                                 "training step (batch)")
        label = self.plot.getAxis("left").labelText
        self.plot.getPlotItem().setAxisItems({"left": DecadeAxis("left")})
        self.plot.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.setLabel("left", label)
        style_plot(self.plot)
        self.plot.setLogMode(y=True)
        add_legend(self.plot)
        self.body.addWidget(self.plot)
        self.data: tuple[list[int], dict[str, list[float]]] = ([], {})
        # One curve (and legend entry) per layer, made when the layers change and then
        # only given new points: rebuilding them each snapshot cost ~25 ms of GUI thread.
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.steady = self.steady_view(self.plot, log_y=True)

    def key(self, run: RunHistory) -> object:
        return len(run.snapshots)

    def draw(self, run: RunHistory) -> None:
        steps, layers = self.data = layer_norms(run)
        if not layers:
            self.show_message("The gradient norms appear at the first snapshot of the run."
                              if run.running else "This run recorded no gradients.")
            return
        self.show_content()
        if list(layers) != list(self.curves):
            self._make_curves(list(layers))
        x = np.asarray(steps, float)
        low, high = math.inf, -math.inf
        for layer, values in layers.items():
            y = np.maximum(np.asarray(values, float), FLOOR)
            keep = np.isfinite(y)
            self.curves[layer].setData(x[keep], y[keep])
            if keep.any():
                low, high = min(low, float(y[keep].min())), max(high, float(y[keep].max()))
        # the planned steps from the start: progress reads off the plot, as on the curves
        planned = run.started.epochs * run.started.steps_per_epoch if run.started else 0
        self.steady.fit_x(0.0, float(max(planned, steps[-1], 1)))
        if low <= high:
            self.steady.show(y=(low, high))
        last = {k: v[-1] for k, v in layers.items() if math.isfinite(v[-1])}
        low, high = min(last, key=last.get, default=""), max(last, key=last.get, default="")
        self.note.setText(f"smallest: {low} · largest: {high}" if last else "")

    def _make_curves(self, layers: list[str]) -> None:
        self.plot.clear()
        self.curves = {layer: self.plot.plot([], [], pen=pg.mkPen(colour(i), width=2),
                                             symbol="o", symbolSize=4, symbolBrush=colour(i),
                                             symbolPen=None, name=layer)
                       for i, layer in enumerate(layers)}

    def theme_changed(self) -> None:
        self.curves = {}  # the series colours are the theme's: make them anew
        super().theme_changed()

    def table(self) -> tuple[list[str], list[list[Any]]]:
        steps, layers = self.data
        header = ["step", *layers]
        return header, [[s, *(layers[k][i] for k in layers)] for i, s in enumerate(steps)]
