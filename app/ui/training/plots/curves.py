"""Loss, accuracy and learning rate: per batch (smoothed) and per epoch, with earlier
runs overlaid (dashed) for comparison."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QWidget

from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import PlotPanel, colour, plot_widget

SMOOTHING = 0.8  # exponential moving average weight of the past


def smooth(values: list[float], weight: float = SMOOTHING) -> np.ndarray:
    """TensorBoard-style EMA, skipping non-finite values."""
    out = np.empty(len(values))
    last = math.nan
    for i, v in enumerate(values):
        if math.isfinite(v):
            last = v if not math.isfinite(last) else weight * last + (1 - weight) * v
        out[i] = last
    return out


def _xy(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(b)
    return a[keep], b[keep]


class CurvesPanel(PlotPanel):
    title = "Loss and accuracy"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.others: list[RunHistory] = []  # earlier runs to overlay, set by CompareView
        self.raw = QCheckBox("raw batch loss")
        self.raw.setToolTip("Also draw the unsmoothed batch loss")
        self.raw.toggled.connect(self.redraw)
        self.controls.addWidget(self.raw)
        self.loss = plot_widget("Loss", "loss", "epoch")
        self.acc = plot_widget("Accuracy", "accuracy", "epoch")
        self.acc.setYRange(0, 1, padding=0.02)  # a fixed scale reads better and repaints less
        self.lr = plot_widget("Learning rate", "lr", "epoch")
        for w in (self.loss, self.acc):
            w.addLegend(offset=(-10, 10), labelTextColor="#222")
        grid = QGridLayout()
        grid.addWidget(self.loss, 0, 0, 1, 2)
        grid.addWidget(self.acc, 1, 0)
        grid.addWidget(self.lr, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        self.body.addLayout(grid)
        self.items: dict[str, pg.PlotDataItem] = {}

    def _make_items(self) -> None:
        """Curves are created once and updated with setData: clearing and re-adding
        items (and their legend entries) costs tens of milliseconds per redraw."""
        def line(w: pg.PlotWidget, pen: str, name: str | None, width: float = 2,
                 symbol: bool = False) -> pg.PlotDataItem:
            extra = {"symbol": "o", "symbolSize": 6, "symbolBrush": pen, "symbolPen": pen} \
                if symbol else {}
            return w.plot([], [], pen=pg.mkPen(pen, width=width), name=name, **extra)
        self.items = {
            "raw": line(self.loss, "#9ecae1", None, 1),
            "batch": line(self.loss, colour(0), "train (batches, smoothed)", 1.5),
            "train_loss": line(self.loss, colour(0), "train (epoch)", symbol=True),
            "val_loss": line(self.loss, colour(1), "validation", symbol=True),
            "train_acc": line(self.acc, colour(0), "train", symbol=True),
            "val_acc": line(self.acc, colour(1), "validation", symbol=True),
            "lr": line(self.lr, colour(2), None, 1.5)}
        self.overlay_items: list[pg.PlotDataItem] = []
        self.overlaid: tuple[int, ...] = ()

    def draw(self, run: RunHistory) -> None:
        if not self.items:
            self._make_items()
        self._sync_overlays()
        x = run.batch_epochs()
        it = self.items
        it["raw"].setData(*_xy(x, run.batch_loss) if self.raw.isChecked() else ([], []))
        it["batch"].setData(*_xy(x, list(smooth(run.batch_loss))))
        for key, values in (("train_loss", run.train_loss), ("val_loss", run.val_loss),
                            ("train_acc", run.train_acc), ("val_acc", run.val_acc)):
            it[key].setData(*_xy(run.epochs, values))
        it["lr"].setData(*_xy(x, run.lrs))
        self._fix_epoch_axis(run)
        if run.lrs and max(run.lrs) == min(run.lrs):  # constant: a sane range, not ±400
            self.lr.setYRange(0, 2 * run.lrs[0] or 1.0)
        else:
            self.lr.enableAutoRange(axis="y")
        self.note.setText("" if run.last_epoch is None else _summary(run))

    def _fix_epoch_axis(self, run: RunHistory) -> None:
        """The x axis spans the planned epochs: progress reads off the plot, and the axes
        (with their grid, pyqtgraph's costliest part to paint) stay put between updates."""
        planned = run.started.epochs if run.started else 0
        last = max([*run.epochs, *run.batch_epochs(), planned, 1])
        for w in (self.loss, self.acc, self.lr):
            w.setXRange(0, last, padding=0.02)

    def _sync_overlays(self) -> None:
        wanted = tuple(id(r) for r in self.others)
        if wanted == self.overlaid:
            return
        for item in self.overlay_items:
            for w in (self.loss, self.acc):
                if item in w.getPlotItem().items:
                    w.removeItem(item)
        self.overlay_items = []
        for i, other in enumerate(self.others):
            self._overlay(other, i)
        self.overlaid = wanted

    def _overlay(self, other: RunHistory, i: int) -> None:
        pen = pg.mkPen(colour(3 + i), width=1.5, style=Qt.PenStyle.DashLine)
        for w, values, label in ((self.loss, other.val_loss, "val"),
                                 (self.loss, other.train_loss, "train"),
                                 (self.acc, other.val_acc, "val")):
            x, y = _xy(other.epochs, values)
            if len(x):
                self.overlay_items.append(w.plot(x, y, pen=pen, name=f"{other.name} {label}"))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        run = self.run
        header = ["kind", "epoch", "step", "train_loss", "val_loss", "train_accuracy",
                  "val_accuracy", "lr"]
        if run is None:
            return header, []
        rows: list[list[Any]] = [["batch", f"{x:.4f}", s, loss, "", "", "", lr]
                                 for x, s, loss, lr in zip(run.batch_epochs(), run.steps,
                                                           run.batch_loss, run.lrs)]
        rows += [["epoch", e, st, tl, _cell(vl), _cell(ta), _cell(va), lr]
                 for e, st, tl, vl, ta, va, lr in zip(run.epochs, run.epoch_steps,
                                                      run.train_loss, run.val_loss,
                                                      run.train_acc, run.val_acc,
                                                      run.epoch_lr)]
        return header, rows


def _cell(v: float) -> Any:
    return v if math.isfinite(v) else ""


def _summary(run: RunHistory) -> str:
    e = run.last_epoch
    parts = [f"epoch {e.epoch}", f"train loss {e.train_loss:.4f}"]
    if e.val_loss is not None:
        parts.append(f"val loss {e.val_loss:.4f}")
    if e.val_accuracy is not None:
        parts.append(f"val acc {e.val_accuracy:.1%}")
    return " · ".join(parts)
