"""Loss, accuracy and learning rate: per batch (smoothed) and per epoch, with earlier
runs overlaid (dashed) for comparison."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QWidget

from app.ui.training.plots.base import PlotPanel, colour, plot_widget
from app.ui.training.run_history import RunHistory

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
        self.lr = plot_widget("Learning rate", "lr", "epoch")
        self.acc.setXLink(self.loss)
        self.lr.setXLink(self.loss)
        for w in (self.loss, self.acc):
            w.addLegend(offset=(-10, 10), labelTextColor="#222")
        grid = QGridLayout()
        grid.addWidget(self.loss, 0, 0, 1, 2)
        grid.addWidget(self.acc, 1, 0)
        grid.addWidget(self.lr, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        self.body.addLayout(grid)
        self.items: dict[str, Any] = {}

    def draw(self, run: RunHistory) -> None:
        for w in (self.loss, self.acc, self.lr):
            w.clear()
        for i, other in enumerate(self.others):
            self._overlay(other, i)
        x = run.batch_epochs()
        if self.raw.isChecked():
            self.loss.plot(*_xy(x, run.batch_loss), pen=pg.mkPen("#9ecae1", width=1))
        self.items["batch"] = self.loss.plot(*_xy(x, list(smooth(run.batch_loss))),
                                             pen=pg.mkPen(colour(0), width=1.5),
                                             name="train (batches, smoothed)")
        self._epoch_curve(self.loss, run.epochs, run.train_loss, colour(0), "train (epoch)")
        self._epoch_curve(self.loss, run.epochs, run.val_loss, colour(1), "validation")
        self._epoch_curve(self.acc, run.epochs, run.train_acc, colour(0), "train")
        self._epoch_curve(self.acc, run.epochs, run.val_acc, colour(1), "validation")
        self.lr.plot(*_xy(x, run.lrs), pen=pg.mkPen(colour(2), width=1.5))
        last = run.last_epoch
        self.note.setText("" if last is None else _summary(run))

    @staticmethod
    def _epoch_curve(w: pg.PlotWidget, epochs: list[int], values: list[float], pen: str,
                     name: str) -> None:
        x, y = _xy(epochs, values)
        if len(x):
            w.plot(x, y, pen=pg.mkPen(pen, width=2), symbol="o", symbolSize=6,
                   symbolBrush=pen, symbolPen=pen, name=name)

    def _overlay(self, other: RunHistory, i: int) -> None:
        pen = pg.mkPen(colour(3 + i), width=1.5, style=Qt.PenStyle.DashLine)
        for w, values, label in ((self.loss, other.val_loss, "val"),
                                 (self.loss, other.train_loss, "train"),
                                 (self.acc, other.val_acc, "val")):
            x, y = _xy(other.epochs, values)
            if len(x):
                w.plot(x, y, pen=pen, name=f"{other.name} {label}")

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
