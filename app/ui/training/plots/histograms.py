"""Weight and gradient histograms of one parameter over time, as an image: one row per
snapshot (time goes up), one column per value bin, brightness = log(count)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter, QWidget

from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import PlotPanel, colour, plot_widget

COLUMNS = 80  # common bins after resampling every snapshot onto one value range


def resample(hists: list[tuple[np.ndarray, np.ndarray]], columns: int = COLUMNS
             ) -> tuple[np.ndarray, float, float]:
    """Each snapshot has its own bin range; put them all on one range so rows line up.

    Counts are spread over the common bins in proportion to overlap (values assumed
    uniform inside a bin), so rows keep their totals and show no gaps where the common
    bins are finer than a snapshot's own."""
    lo = min(float(edges[0]) for _, edges in hists)
    hi = max(float(edges[-1]) for _, edges in hists)
    if hi <= lo:
        hi = lo + 1.0
    common = np.linspace(lo, hi, columns + 1)
    rows = [np.diff(np.interp(common, edges, np.concatenate([[0.0], np.cumsum(counts)])))
            for counts, edges in hists]
    return np.asarray(rows, dtype=np.float64), lo, hi


class HistogramPanel(PlotPanel):
    title = "Histograms"
    empty = ("Train the network (F5) to see how the weights and gradients of each layer "
             "spread out over time; they are recorded a few times per epoch.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.which = QComboBox()
        self.which.addItems(["weights", "gradients"])
        self.which.currentIndexChanged.connect(self.redraw)
        self.param = QComboBox()
        self.param.setMinimumContentsLength(14)
        self.param.currentIndexChanged.connect(self.redraw)
        for w in (QLabel("show"), self.which, QLabel("of"), self.param):
            self.controls.addWidget(w)
        self.map = plot_widget("Distribution over time", "snapshot (time ↑)", "value")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.map.addItem(self.image)
        self.latest = plot_widget("Latest snapshot", "count", "value")
        self.latest_curve: pg.PlotDataItem | None = None  # reused: given new data
        self.steady = (self.steady_view(self.map, zero_y=True),
                       self.steady_view(self.latest, zero_y=True))
        self.shown: tuple = ()  # (weights or gradients, parameter) drawn last
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.map)
        split.addWidget(self.latest)
        split.setSizes([300, 150])
        self.body.addWidget(split)
        self.matrix = np.zeros((0, 0))
        self.range = (0.0, 1.0)

    def _hists(self, run: RunHistory) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        field = "weight_hist" if self.which.currentIndex() == 0 else "grad_hist"
        out: dict[str, list] = {}
        for snap in run.snapshots:
            for name, hist in getattr(snap, field).items():
                out.setdefault(name, []).append(hist)
        return out

    def _sync_names(self, names: list[str]) -> None:
        current = self.param.currentText()
        if [self.param.itemText(i) for i in range(self.param.count())] != names:
            self.param.blockSignals(True)
            self.param.clear()
            self.param.addItems(names)
            self.param.setCurrentIndex(max(0, names.index(current) if current in names else 0))
            self.param.blockSignals(False)

    def key(self, run: RunHistory) -> object:
        return len(run.snapshots)

    def draw(self, run: RunHistory) -> None:
        if not run.snapshots:
            self.show_message("The histograms appear at the first snapshot of the run."
                              if run.running else "This run recorded no snapshot.")
            return
        self.show_content()
        hists = self._hists(run)
        self._sync_names(list(hists))
        chosen = hists.get(self.param.currentText())
        if not chosen:
            self.image.clear()
            self._latest_curve().clear()
            self.note.setText("")
            return
        if (self.which.currentIndex(), self.param.currentText()) != self.shown:
            self.shown = (self.which.currentIndex(), self.param.currentText())
            for view in self.steady:
                view.reset()
        self.matrix, lo, hi = resample(chosen)
        self.range = (lo, hi)
        # transposed: value along x, time along y
        self.image.setImage(np.log1p(self.matrix), autoLevels=True)
        self.image.setRect(QRectF(lo, 0, hi - lo, len(chosen)))
        counts, edges = chosen[-1]
        self._latest_curve().setData(edges, counts)
        self.steady[0].show(x=(lo, hi), y=(0.0, float(len(chosen))))
        self.steady[1].show(x=(float(edges[0]), float(edges[-1])),
                            y=(0.0, float(max(1, counts.max()))))
        self.note.setText(f"{len(chosen)} snapshots, values {lo:.3g} … {hi:.3g}")

    def _latest_curve(self) -> pg.PlotDataItem:
        if self.latest_curve is None:
            self.latest_curve = self.latest.plot(
                stepMode="center", fillLevel=0, brush=pg.mkBrush(colour(0) + "80"),
                pen=pg.mkPen(colour(0)))
        return self.latest_curve

    def theme_changed(self) -> None:
        if self.latest_curve is not None:  # drawn in the theme's first series colour
            self.latest.removeItem(self.latest_curve)
            self.latest_curve = None
        super().theme_changed()

    def table(self) -> tuple[list[str], list[list[Any]]]:
        lo, hi = self.range
        edges = np.linspace(lo, hi, self.matrix.shape[1] + 1) if self.matrix.size else []
        header = ["snapshot", "step"] + [f"{e:.4g}" for e in edges[:-1]]
        steps = [s.step for s in self.run.snapshots] if self.run else []
        rows = [[i, steps[i] if i < len(steps) else "", *row.astype(int).tolist()]
                for i, row in enumerate(self.matrix)]
        return header, rows
