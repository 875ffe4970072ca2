"""The optimizer playground window: optimizers race over a heat map of a 2-D function.

Each optimizer is a real torch.optim optimizer stepping a 2-element parameter
(app.learn.optim_playground.Runner); the animation advances them a few steps per timer
tick, so changing a setting restarts at once instead of recomputing whole runs.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.learn.optim_playground import (
    OPTIMIZERS,
    SURFACES,
    Runner,
    Surface,
    default_lr,
    grid,
    nearest_minimum,
    surface,
)
from app.ui.training.plots.base import add_legend, colour, plot_widget

TICK_MS = 40
REACHED = 0.05  # within this distance of a minimum, the optimizer has reached it
ISO_LEVELS = 12


def _point(p: tuple[float, float]) -> str:
    return f"({p[0]:.3g}, {p[1]:.3g})"


class OptimizerRow:
    """One optimizer's controls (on/off, learning rate) and its outcome label."""

    def __init__(self, name: str, index: int) -> None:
        self.name = name
        self.colour = QColor(colour(index))
        self.enabled = QCheckBox(name)
        self.enabled.setChecked(True)
        self.enabled.setToolTip(OPTIMIZERS[name].help)
        self.enabled.setStyleSheet(f"QCheckBox {{ color: {self.colour.name()}; "
                                   f"font-weight: bold; }}")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 10.0)
        self.lr.setSingleStep(0.001)
        self.lr.setToolTip(f"{name}'s learning rate")
        self.outcome = QLabel("")
        self.outcome.setMinimumWidth(110)


class OptimizerPlayground(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Optimizer playground")
        self.runners: dict[str, Runner] = {}
        self.paths: dict[str, pg.PlotDataItem] = {}
        self.heads: dict[str, pg.ScatterPlotItem] = {}
        self.loss_curves: dict[str, pg.PlotDataItem] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._build()
        self._surface_changed()
        self.resize(1320, 700)

    # -- construction -------------------------------------------------------------------
    def _build(self) -> None:
        self.function = QComboBox()
        for s in SURFACES.values():
            self.function.addItem(s.title.split(" (")[0], s.id)
        self.function.currentIndexChanged.connect(self._surface_changed)
        self.condition = QDoubleSpinBox()
        self.condition.setRange(1.0, 1000.0)
        self.condition.setValue(10.0)
        self.condition.setToolTip("Condition number κ: the ratio of the steepest to the "
                                  "flattest curvature")
        self.condition.valueChanged.connect(self._surface_changed)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.start_x, self.start_y = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.start_x, self.start_y):
            spin.setRange(-100, 100)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.valueChanged.connect(self.reset)
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(500)
        self.steps.setToolTip("How many steps each optimizer takes")
        form = QFormLayout()
        form.addRow("Function", self.function)
        form.addRow("", self.formula)
        form.addRow("Condition κ", self.condition)
        start = QHBoxLayout()
        start.addWidget(self.start_x)
        start.addWidget(self.start_y)
        form.addRow("Start x, y", start)
        form.addRow("Steps", self.steps)

        table = QGridLayout()
        table.addWidget(QLabel("<b>optimizer</b>"), 0, 0)
        table.addWidget(QLabel("<b>lr</b>"), 0, 1)
        table.addWidget(QLabel("<b>reaches</b>"), 0, 2)
        self.rows = {name: OptimizerRow(name, i) for i, name in enumerate(OPTIMIZERS)}
        for i, row in enumerate(self.rows.values(), start=1):
            table.addWidget(row.enabled, i, 0)
            table.addWidget(row.lr, i, 1)
            table.addWidget(row.outcome, i, 2)
            row.enabled.toggled.connect(self.reset)
            row.lr.valueChanged.connect(self.reset)

        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One step of every optimizer")
        self.step_button.clicked.connect(lambda: self.advance(1))
        reset = QPushButton("Reset")
        reset.clicked.connect(self.reset)
        buttons = QHBoxLayout()
        for b in (self.play_button, self.step_button, reset):
            buttons.addWidget(b)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(1, 50)
        self.speed.setValue(5)
        self.speed.setToolTip("Steps per animation frame")
        speed = QHBoxLayout()
        speed.addWidget(QLabel("Speed"))
        speed.addWidget(self.speed, 1)
        self.status = QLabel()

        controls = QWidget()
        left = QVBoxLayout(controls)
        left.addLayout(form)
        left.addWidget(self.note)
        left.addLayout(table)
        left.addLayout(buttons)
        left.addLayout(speed)
        left.addWidget(self.status)
        left.addWidget(QLabel("Click the map to start from there."))
        left.addStretch(1)
        controls.setMaximumWidth(430)

        self.map = plot_widget("", "y", "x")
        self.map.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.map.addItem(self.image)
        self.isocurves: list[pg.IsocurveItem] = []
        self.minima = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush("w"),
                                         pen=pg.mkPen("k", width=1.2))
        self.map.addItem(self.minima)
        self.minimum_labels: list[pg.TextItem] = []
        self.start_mark = pg.ScatterPlotItem(symbol="x", size=14, pen=pg.mkPen("w", width=3))
        self.map.addItem(self.start_mark)
        self.map.scene().sigMouseClicked.connect(self._map_clicked)
        self.loss = plot_widget("Loss per step", "f(x, y) − f*", "step")
        add_legend(self.loss)
        for name, row in self.rows.items():
            pen = pg.mkPen(row.colour, width=2.5)
            self.paths[name] = self.map.plot([], [], pen=pen)
            self.heads[name] = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(row.colour),
                                                  pen=pg.mkPen("w", width=1.5))
            self.map.addItem(self.heads[name])
            self.loss_curves[name] = self.loss.plot([], [], pen=pen, name=name)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(controls)
        split.addWidget(self.map)
        split.addWidget(self.loss)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # -- settings -----------------------------------------------------------------------
    def current_surface(self) -> Surface:
        return surface(self.function.currentData(), self.condition.value())

    def _surface_changed(self) -> None:
        self.pause()
        s = self.current_surface()
        self.surface = s
        self.condition.setEnabled(s.id == "bowl")
        self.formula.setText(f"f(x, y) = {s.formula}")
        self.note.setText(s.note)
        for name, row in self.rows.items():
            row.lr.blockSignals(True)
            row.lr.setValue(default_lr(s, name))
            row.lr.blockSignals(False)
        for spin, value in ((self.start_x, s.start[0]), (self.start_y, s.start[1])):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._draw_map(s)
        self.reset()

    def _draw_map(self, s: Surface) -> None:
        g = grid(s)
        shaded = g.shaded()
        self.image.setImage(shaded.T)  # row-major: rows are y
        self.image.setColorMap(pg.colormap.get("viridis"))
        x0, x1 = s.x_range
        y0, y1 = s.y_range
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        for iso in self.isocurves:
            iso.setParentItem(None)
            self.map.removeItem(iso)
        self.isocurves = []
        for level in np.linspace(shaded.min(), shaded.max(), ISO_LEVELS + 2)[1:-1]:
            iso = pg.IsocurveItem(data=shaded.T, level=float(level),
                                  pen=pg.mkPen((255, 255, 255, 90), width=1))
            iso.setParentItem(self.image)
            self.isocurves.append(iso)
        self.minima.setData([m[0] for m in s.minima], [m[1] for m in s.minima])
        for label in self.minimum_labels:
            self.map.removeItem(label)
        self.minimum_labels = []
        for m in s.minima:
            label = pg.TextItem(_point(m), color="w", anchor=(0.5, -0.4))
            label.setPos(*m)
            self.map.addItem(label)
            self.minimum_labels.append(label)
        self.map.setRange(xRange=s.x_range, yRange=s.y_range, padding=0.02)
        self.loss.setLogMode(y=bool(s.minima))
        self.loss.setLabel("left", "f(x, y) − f*  (log scale)" if s.minima else "f(x, y)")

    @property
    def start(self) -> tuple[float, float]:
        return self.start_x.value(), self.start_y.value()

    def set_start(self, x: float, y: float) -> None:
        for spin, value in ((self.start_x, x), (self.start_y, y)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.reset()

    def _map_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.map.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.set_start(round(p.x(), 3), round(p.y(), 3))

    # -- running ------------------------------------------------------------------------
    def reset(self) -> None:
        """Every checked optimizer back at the start point, with its learning rate."""
        self.runners = {name: Runner(self.surface.fn, name, row.lr.value(), self.start)
                        for name, row in self.rows.items() if row.enabled.isChecked()}
        self.start_mark.setData([self.start[0]], [self.start[1]])
        self._draw_runs()

    def advance(self, steps: int) -> None:
        limit = self.steps.value()
        for runner in self.runners.values():
            for _ in range(min(steps, limit - runner.steps)):
                if not runner.step():
                    break
        self._draw_runs()

    @property
    def done(self) -> bool:
        limit = self.steps.value()
        return all(r.steps >= limit or r.diverged for r in self.runners.values())

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
        else:
            if self.done:
                self.reset()
            self.timer.start()
            self.play_button.setText("Pause")

    def pause(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def _tick(self) -> None:
        self.advance(self.speed.value())
        if self.done:
            self.pause()

    def _draw_runs(self) -> None:
        floor = min((float(self.surface.value(*m)) for m in self.surface.minima), default=0.0)
        for name, row in self.rows.items():
            runner = self.runners.get(name)
            if runner is None or not runner.points:
                self.paths[name].setData([], [])
                self.heads[name].setData([], [])
                self.loss_curves[name].setData([], [])
                row.outcome.setText("")
                continue
            pts = np.asarray(runner.points)
            self.paths[name].setData(pts[:, 0], pts[:, 1])
            self.heads[name].setData([pts[-1, 0]], [pts[-1, 1]])
            losses = np.asarray(runner.losses) - floor
            if self.surface.minima:
                losses = np.maximum(losses, 1e-16)  # log scale: f* itself is 10⁻¹⁶
            self.loss_curves[name].setData(np.arange(len(losses)), losses)
            row.outcome.setText(self.outcome(runner))
        steps = max((r.steps for r in self.runners.values()), default=0)
        self.status.setText(f"step {steps} / {self.steps.value()}")

    def outcome(self, runner: Runner) -> str:
        """Which minimum the optimizer sits on now, or why it does not."""
        if runner.diverged:
            return "diverged"
        end = runner.points[-1]
        (x0, x1), (y0, y1) = self.surface.x_range, self.surface.y_range
        if not (x0 <= end[0] <= x1 and y0 <= end[1] <= y1):
            return "left the map"
        found = nearest_minimum(self.surface.minima, end, REACHED)
        if found is not None:
            return _point(self.surface.minima[found])
        return "on its way" if math.isfinite(end[0]) else "diverged"
