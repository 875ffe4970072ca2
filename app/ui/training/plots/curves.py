"""Loss, accuracy and learning rate of the current run: per batch (smoothed) and per epoch.
Training lines are solid, validation lines dashed, here and in Compare runs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen, QResizeEvent
from PySide6.QtWidgets import QCheckBox, QGridLayout, QWidget

from app.analysis.run_history import RunHistory
from app.training.losses import LOSSES
from app.ui.training.plots.base import (
    PlotPanel,
    add_legend_row,
    colour,
    plot_widget,
)

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


def dashed(colour_: str, width: float = 2) -> QPen:
    """Validation lines: dashed, so they differ from training lines without colour."""
    return pg.mkPen(colour_, width=width, style=Qt.PenStyle.DashLine)


def finite_xy(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(b)
    return a[keep], b[keep]


def loss_label(run: RunHistory | None) -> str:
    """'loss (CrossEntropyLoss)': the axis names the quantity and, as its unit, the torch
    loss the run's config (TrainConfig.to_dict) chose."""
    name = (run.config.get("loss") or {}).get("name") if run is not None else None
    spec = LOSSES.get(name) if isinstance(name, str) else None
    return f"loss ({spec.torch_name})" if spec else "loss"


def epoch_plot(title: str, left: str) -> pg.PlotWidget:
    w = plot_widget(title, left, "epoch")
    w.setMinimumSize(160, 140)
    return w


WAITING = "Press Train (F5): loss, accuracy and learning rate are drawn here as it trains."


class CurvesPanel(PlotPanel):
    title = "Loss and accuracy"
    empty = None  # the empty axes show where each curve will be; the note says when
    WIDE = 2.0  # width / height above which the three plots stand in one row
    SHORT = 420  # below this height they always do: two rows would squash them

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw = QCheckBox("raw batch loss")
        self.raw.setToolTip("Also draw the unsmoothed batch loss")
        self.raw.toggled.connect(self.redraw)
        self.controls.addWidget(self.raw)
        self.loss = epoch_plot("Loss", "loss")
        self.acc = epoch_plot("Accuracy", "accuracy (%)")
        self.acc.setYRange(0, 100, padding=0.02)  # a fixed scale reads better, repaints less
        self.lr = epoch_plot("Learning rate", "learning rate")
        # 0.001 reads better to a student than pyqtgraph's "(x0.001)" prefix on the title
        self.lr.getAxis("left").enableAutoSIPrefix(False)
        add_legend_row(self.loss)
        add_legend_row(self.acc)
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        self.body.addLayout(self.grid, 1)
        self.wide: bool | None = None
        self._arrange(wide=False)
        self.items: dict[str, pg.PlotDataItem] = {}
        # What the last draw set, so an unchanged curve costs no repaint and an unchanged
        # label or range no axis relayout.
        self._axes_state: tuple = ()
        self._shown: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.steady = {"loss": self.steady_view(self.loss, zero_y=True),
                       "lr": self.steady_view(self.lr, zero_y=True)}
        self._make_items()  # the legends name the curves before the first run
        self.note.setText(WAITING)

    def show_plan(self, epochs: int) -> None:
        """Before a run the epoch axes span the epochs it will train (not 0…1)."""
        if self.run is None:
            for w in (self.loss, self.acc, self.lr):
                w.setXRange(0, max(1, epochs), padding=0.02)

    def clear_view(self) -> None:
        for item in self.items.values():
            item.setData([], [])
        self._axes_state = ()
        self._shown.clear()
        for view in self.steady.values():
            view.reset()
        self.note.setText(WAITING)

    def _arrange(self, wide: bool) -> None:
        """Short and wide (a strip under the canvas): one row; otherwise loss on top, the
        other two below. Either way each plot keeps room for its labels."""
        if wide == self.wide:
            return
        self.wide = wide
        for w in (self.loss, self.acc, self.lr):
            self.grid.removeWidget(w)
        for i in range(3):
            self.grid.setRowStretch(i, 0)
            self.grid.setColumnStretch(i, 0)
        if wide:
            for col, w in enumerate((self.loss, self.acc, self.lr)):
                self.grid.addWidget(w, 0, col)
            self.grid.setColumnStretch(0, 3)
            self.grid.setColumnStretch(1, 2)
            self.grid.setColumnStretch(2, 2)
            self.grid.setRowStretch(0, 1)
        else:
            self.grid.addWidget(self.loss, 0, 0, 1, 2)
            self.grid.addWidget(self.acc, 1, 0)
            self.grid.addWidget(self.lr, 1, 1)
            # equal rows: at 1366×768 each plot still gets over 300 px
            self.grid.setRowStretch(0, 1)
            self.grid.setRowStretch(1, 1)
            self.grid.setColumnStretch(0, 1)
            self.grid.setColumnStretch(1, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        size = event.size()
        self._arrange(wide=size.height() < self.SHORT
                      or size.width() >= self.WIDE * max(1, size.height()))
        super().resizeEvent(event)

    def _make_items(self) -> None:
        """Curves are created once and updated with setData: clearing and re-adding
        items (and their legend entries) costs tens of milliseconds per redraw."""
        def line(w: pg.PlotWidget, pen: QPen, name: str | None, symbol: bool = False
                 ) -> pg.PlotDataItem:
            extra = {"symbol": "o", "symbolSize": 6, "symbolBrush": pen.color(),
                     "symbolPen": pen.color()} if symbol else {}
            return w.plot([], [], pen=pen, name=name, **extra)
        train, val = colour(0), colour(1)
        faint = QColor(train)
        faint.setAlpha(90)
        self.items = {
            "raw": line(self.loss, pg.mkPen(faint, width=1), None),
            "batch": line(self.loss, pg.mkPen(train, width=1.5), "train (batches, smoothed)"),
            "train_loss": line(self.loss, pg.mkPen(train, width=2), "train (epoch)", True),
            "val_loss": line(self.loss, dashed(val), "validation", True),
            "train_acc": line(self.acc, pg.mkPen(train, width=2), "train", True),
            "val_acc": line(self.acc, dashed(val), "validation", True),
            "lr": line(self.lr, pg.mkPen(colour(2), width=1.5), None)}
        for w in (self.loss, self.acc):  # new entries: as many legend columns as fit
            w.legend_row.fit(w.width())
        for key in ("raw", "batch", "lr"):  # one point per batch: thousands in a long run
            self.items[key].setDownsampling(auto=True, method="peak")
            self.items[key].setClipToView(True)

    def theme_changed(self) -> None:
        for item in self.items.values():
            for w in (self.loss, self.acc, self.lr):
                if item in w.getPlotItem().items:
                    w.removeItem(item)
        self._make_items()
        self._axes_state = ()
        self._shown.clear()
        self.redraw()

    def draw(self, run: RunHistory) -> None:
        x = run.batch_epochs()
        raw = finite_xy(x, run.batch_loss) if self.raw.isChecked() else _EMPTY
        series = {"raw": raw, "batch": finite_xy(x, list(smooth(run.batch_loss))),
                  "lr": finite_xy(x, run.lrs)}
        for key, values, scale in (("train_loss", run.train_loss, 1),
                                   ("val_loss", run.val_loss, 1),
                                   ("train_acc", run.train_acc, 100),
                                   ("val_acc", run.val_acc, 100)):
            ex, ey = finite_xy(run.epochs, values)
            series[key] = (ex, ey * scale)
        for key, (sx, sy) in series.items():
            self._set(key, sx, sy)
        self._fix_axes(run, x)
        if not (run.lrs and max(run.lrs) == min(run.lrs)):
            self._steady_y("lr", [series["lr"][1]])
        self._steady_y("loss", [series[k][1] for k in
                                           ("raw", "batch", "train_loss", "val_loss")])
        self.note.setText("" if run.last_epoch is None else _summary(run))

    def _set(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        """setData only when the curve changed: each call repaints its plot (the accuracy
        curves change once an epoch, the batch curves at each report)."""
        shown = self._shown.get(key)
        if shown is not None and np.array_equal(shown[0], x) and np.array_equal(shown[1], y):
            return
        self._shown[key] = (x, y)
        self.items[key].setData(x, y)

    def _steady_y(self, key: str, values: list[np.ndarray]) -> None:
        data = np.concatenate(values) if values else np.zeros(0)
        if data.size:
            self.steady[key].show(y=(float(data.min()), float(data.max())))

    def _fix_axes(self, run: RunHistory, batch_epochs: list[float]) -> None:
        """The x axis spans the planned epochs: progress reads off the plot, and the axes
        (with their grid, pyqtgraph's costliest part to paint) stay put between updates.
        Labels and ranges are set only when they change: each set lays the axes out anew."""
        planned = run.started.epochs if run.started else 0
        last = max([*run.epochs, *batch_epochs[-1:], planned, 1])
        constant_lr = bool(run.lrs) and max(run.lrs) == min(run.lrs)
        state = (loss_label(run), last, constant_lr and run.lrs[0])
        if state == self._axes_state:
            return
        self._axes_state = state
        self.loss.setLabel("left", state[0])
        for w in (self.loss, self.acc, self.lr):
            w.setXRange(0, last, padding=0.02)
        self.steady["lr"].reset()
        if constant_lr:  # a sane range, not ±400
            self.steady["lr"].y = (0, 2 * run.lrs[0] or 1.0)
            self.lr.setYRange(*self.steady["lr"].y)

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


_EMPTY = (np.zeros(0), np.zeros(0))


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
