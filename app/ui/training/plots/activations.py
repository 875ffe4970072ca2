"""Activations of the fixed probe sample: a grid of channel maps for convolutions,
the activation vector for linear layers (and a heat map for sequences)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from app.analysis.run_history import RunHistory
from app.training.events import ProbeSample
from app.ui.training.plots.base import PlotPanel, colour, plot_widget

GAP = 1  # pixels between channel maps in the mosaic


def mosaic(maps: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(C, H, W) -> one image of C maps in a near-square grid, each scaled to [0, 1]
    on its own so weak channels stay visible; gaps are NaN (drawn blank)."""
    c, h, w = maps.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP), np.nan)
    for i, m in enumerate(maps):
        lo, hi = float(m.min()), float(m.max())
        scaled = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        r, col = divmod(i, cols)
        out[r * (h + GAP):r * (h + GAP) + h, col * (w + GAP):col * (w + GAP) + w] = scaled
    return out, rows, cols


def _value(value: float, names: list[str] | None) -> str:
    """A class index by its name when the data names its classes, else the number."""
    if float(value).is_integer():
        k = int(value)
        return names[k] if names and 0 <= k < len(names) else str(k)
    return f"{value:.3g}"


def sample_text(info: ProbeSample | None, names: list[str] | None = None) -> str:
    """'validation sample 0 · label 7 · predicted 3': which input the maps are of."""
    if info is None:
        return "one fixed sample"
    parts = [f"{info.split} sample {info.index}"]
    if info.label is not None:
        parts.append(f"label {_value(info.label, names)}")
    if info.predicted is not None:
        parts.append(f"predicted {_value(info.predicted, names)}")
    return " · ".join(parts)


class ActivationPanel(PlotPanel):
    title = "Activations"
    empty = ("Train the network (F5) to see what each layer makes of one fixed sample: "
             "the feature maps of convolutions, the activation vector of linear layers.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = QComboBox()
        self.layer.setMinimumContentsLength(12)
        self.layer.currentIndexChanged.connect(self.redraw)
        self.controls.addWidget(QLabel("layer"))
        self.controls.addWidget(self.layer)
        self.plot = plot_widget("", "", "")
        self.plot.getViewBox().invertY(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self.body.addWidget(self.plot)
        self.values: np.ndarray = np.zeros(0)
        self.bars: pg.BarGraphItem | None = None  # the activation vector of linear layers
        # (layer, shape) last laid out: a new snapshot of the same layer only swaps the
        # pixels, without a new title, axes or zoom (each costs a relayout)
        self.layout_key: tuple = ()

    def _sync_layers(self, activations: dict[str, np.ndarray]) -> None:
        names = list(activations)
        current = self.layer.currentText()
        if [self.layer.itemText(i) for i in range(self.layer.count())] != names:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(names)
            if current in names:
                self.layer.setCurrentText(current)
            else:  # a feature-map layer is the more telling first view
                maps = [n for n, v in activations.items() if v.ndim == 3]
                self.layer.setCurrentText(maps[0] if maps else names[0])
            self.layer.blockSignals(False)

    def key(self, run: RunHistory) -> object:
        return len(run.snapshots)

    def draw(self, run: RunHistory) -> None:
        snaps = [s for s in run.snapshots if s.activations]
        if not snaps:
            self.show_message("The activations appear at the first snapshot of the run."
                              if run.running else "This run recorded no activations.")
            return
        self.show_content()
        snap = snaps[-1]
        self._sync_layers(snap.activations)
        values = snap.activations.get(self.layer.currentText())
        if values is None:
            return
        self.values = values
        key = (self.layer.currentText(), values.shape, self.theme_name)
        fresh, self.layout_key = key != self.layout_key, key
        if values.ndim == 3:
            self._draw_maps(values, fresh)
        elif values.ndim == 1:
            self._draw_vector(values, fresh)
        else:
            self._draw_matrix(values.reshape(values.shape[0], -1), fresh)
        self.note.setText(f"{sample_text(snap.sample, run.class_names)} · step {snap.step} · shape "
                          f"{tuple(values.shape)} · min {values.min():.3g} "
                          f"max {values.max():.3g}")

    def _remove_bars(self) -> None:
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None

    def _draw_maps(self, values: np.ndarray, fresh: bool) -> None:
        image, rows, cols = mosaic(values)
        self.image.setImage(image, levels=(0, 1))
        if not fresh:
            return
        self._remove_bars()
        self.image.setRect(QRectF(0, 0, image.shape[1], image.shape[0]))
        self.plot.getViewBox().invertY(True)
        self.plot.getViewBox().setAspectLocked(True)  # square pixels: maps look like images
        self._show_axes(False)  # mosaic pixel coordinates mean nothing to a student
        self.plot.setTitle(f"{values.shape[0]} channel maps ({rows} × {cols})")
        self.plot.autoRange()

    def _show_axes(self, shown: bool) -> None:
        for axis in ("left", "bottom"):
            self.plot.showAxis(axis, shown)
        self.plot.showGrid(x=shown, y=shown, alpha=0.25 if shown else 0)

    def _draw_vector(self, values: np.ndarray, fresh: bool) -> None:
        x = np.arange(len(values))
        if not fresh and self.bars is not None:
            self.bars.setOpts(x=x, height=values)
            self.plot.autoRange()  # the values' scale moves from snapshot to snapshot
            return
        self._show_axes(True)
        self.image.clear()
        self.plot.getViewBox().setAspectLocked(False)
        self.plot.getViewBox().invertY(False)
        self._remove_bars()
        self.bars = pg.BarGraphItem(x=x, height=values, width=0.8, brush=colour(0))
        self.plot.addItem(self.bars)
        self.plot.setTitle(f"activation vector ({len(values)} units)")
        self.plot.autoRange()

    def _draw_matrix(self, values: np.ndarray, fresh: bool) -> None:
        lo, hi = float(values.min()), float(values.max())
        self.image.setImage(values, levels=(lo, hi if hi > lo else lo + 1))
        if not fresh:
            return
        self._remove_bars()
        self._show_axes(True)
        self.plot.getViewBox().setAspectLocked(False)
        self.image.setRect(QRectF(0, 0, values.shape[1], values.shape[0]))
        self.plot.setTitle(f"activations {values.shape[0]} × {values.shape[1]}")
        self.plot.autoRange()

    def table(self) -> tuple[list[str], list[list[Any]]]:
        v = self.values
        if v.ndim == 3:
            return ["channel", "row", "col", "value"], [
                [c, r, k, float(v[c, r, k])] for c in range(v.shape[0])
                for r in range(v.shape[1]) for k in range(v.shape[2])]
        flat = v.reshape(len(v), -1) if v.ndim else v.reshape(1, 1)
        return ["unit", *[f"v{j}" for j in range(flat.shape[1])]], [
            [i, *map(float, row)] for i, row in enumerate(flat)]
