"""Try the model: after training, pick a validation sample or draw a digit, and see the
predicted class probabilities as a bar chart."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.analysis.evaluation import probabilities
from app.data.augment import build_pipeline
from app.data.preview import image_to_display
from app.ui.training.images import to_pixmap
from app.ui.training.plots.base import colour, message_label, plot_widget

CANVAS = 224  # drawing surface in pixels; downsampled to the network's input size
PEN_WIDTH = 18
NO_MODEL = ("Train the network (F5) to try it: pick a validation sample, or draw a digit, "
            "and see the probability it gives each class.")
NOT_CLASSIFIER = "Try the model shows class probabilities: train a classifier to use it."


class DrawCanvas(QWidget):
    """White strokes on black, like MNIST; `pixels(h, w)` gives the downsampled image."""

    def __init__(self, on_change: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(CANVAS, CANVAS)
        self.image = QImage(CANVAS, CANVAS, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self.last: QPoint | None = None
        self.on_change = on_change
        self.setToolTip("Draw with the mouse; the picture is shrunk to the network's input")

    def clear(self) -> None:
        self.image.fill(0)
        self.update()
        self.on_change()

    def stroke(self, points: list[tuple[int, int]]) -> None:
        """Draw a line through canvas points (what the mouse does; also for tests)."""
        painter = QPainter(self.image)
        painter.setPen(QPen(Qt.GlobalColor.white, PEN_WIDTH, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        for a, b in itertools.pairwise(points):
            painter.drawLine(QPoint(*a), QPoint(*b))
        painter.end()
        self.update()
        self.on_change()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.last = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.last is not None:
            point = event.position().toPoint()
            self.stroke([(self.last.x(), self.last.y()), (point.x(), point.y())])
            self.last = point

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.last = None

    def paintEvent(self, event: QPaintEvent) -> None:
        QPainter(self).drawImage(0, 0, self.image)

    def is_blank(self) -> bool:
        """Nothing drawn yet (or cleared): there is nothing to predict."""
        bits = self.image.constBits()
        return not np.frombuffer(bits, np.uint8).any()

    def pixels(self, h: int, w: int) -> np.ndarray:
        """(h, w) floats in [0, 1]; digits are drawn large, shrunk like MNIST's 20-in-28."""
        small = self.image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation)
        ptr = small.constBits()
        rows = np.frombuffer(ptr, np.uint8).reshape(h, small.bytesPerLine())[:, :w]
        return rows.astype(np.float32) / 255.0


class TryModelPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.bundle: Any = None
        self.device = torch.device("cpu")
        self.eval_steps: list[dict] = []
        self.probs = np.zeros(0)
        self._build()
        self.set_model(None, None)

    def _build(self) -> None:
        self.mode = QComboBox()
        self.mode.addItem("a validation sample", "sample")
        self.mode.addItem("a drawing", "draw")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.index = QSpinBox()
        self.index.valueChanged.connect(self.predict)
        self.picture = QLabel()
        self.picture.setFixedSize(CANVAS, CANVAS)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.canvas = DrawCanvas(self.predict)
        clear = QPushButton("Clear drawing")
        clear.clicked.connect(self.canvas.clear)
        sample_page = QWidget()
        sp = QVBoxLayout(sample_page)
        row = QHBoxLayout()
        row.addWidget(QLabel("sample"))
        row.addWidget(self.index)
        sp.addLayout(row)
        sp.addWidget(self.picture)
        draw_page = QWidget()
        dp = QVBoxLayout(draw_page)
        dp.addWidget(self.canvas)
        dp.addWidget(clear)
        self.pages = QStackedWidget()
        self.pages.addWidget(sample_page)
        self.pages.addWidget(draw_page)
        left = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(QLabel("Predict"))
        head.addWidget(self.mode, 1)
        left.addLayout(head)
        left.addWidget(self.pages)
        left.addStretch(1)
        self.chart = plot_widget("", "probability", "class")
        self.chart.setYRange(0, 1)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        self.answer.setStyleSheet("font-size: 13pt; font-weight: bold;")
        right = QVBoxLayout()
        right.addWidget(self.answer)
        right.addWidget(self.chart, 1)
        self.content = QWidget()
        both = QHBoxLayout(self.content)
        both.addLayout(left)
        both.addLayout(right, 1)
        self.message = message_label(NO_MODEL)
        self.views = QStackedWidget()
        self.views.addWidget(self.message)
        self.views.addWidget(self.content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.views)

    def show_message(self, text: str) -> None:
        """No model to try (none trained yet, or the network changed since)."""
        self.message.setText(text)
        self.views.setCurrentWidget(self.message)

    @property
    def showing_message(self) -> bool:
        return self.views.currentWidget() is self.message

    def set_model(self, model: Any, bundle: Any, device: Any = None,
                  eval_steps: list[dict] | None = None) -> None:
        """The trained network and its data; None until a run has finished."""
        self.model, self.bundle = model, bundle
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.eval_steps = [s for s in eval_steps or [] if s.get("type") == "Normalize"
                           and s.get("enabled", True)]
        ready = model is not None and bundle is not None and bundle.task == "classification"
        val = bundle.val if bundle is not None and bundle.val is not None else None
        self.index.setRange(0, max(0, len(val) - 1) if val is not None else 0)
        can_draw = ready and len(bundle.input_shape) == 3 and bundle.input_shape[0] == 1
        self.mode.model().item(1).setEnabled(can_draw)
        if not can_draw and self.mode.currentIndex() == 1:
            self.mode.setCurrentIndex(0)
        self._clear_prediction("")
        if ready:
            self.views.setCurrentWidget(self.content)
            self.predict()
        else:
            self.show_message(NO_MODEL if model is None else NOT_CLASSIFIER)

    def _clear_prediction(self, message: str) -> None:
        """No bars and a message instead of an answer (no model yet, or nothing drawn)."""
        self.probs = np.zeros(0)
        self.chart.clear()
        self.chart.getAxis("bottom").setTicks(None)
        self.answer.setText(message)

    def _mode_changed(self) -> None:
        self.pages.setCurrentIndex(self.mode.currentIndex())
        self.predict()

    def _input(self) -> torch.Tensor | None:
        if self.mode.currentData() == "draw":
            if self.canvas.is_blank():
                self._clear_prediction("Draw a digit first: hold the mouse button down and "
                                       "draw in the black square.")
                return None
            _, h, w = self.bundle.input_shape
            x = torch.from_numpy(self.canvas.pixels(h, w)).unsqueeze(0)
            if self.eval_steps:
                x = build_pipeline(self.eval_steps, input_kind="float")(x)
            return x
        if self.bundle.val is None:
            return None
        x, _ = self.bundle.val[self.index.value()]
        if x.dim() >= 3:
            self.picture.setPixmap(to_pixmap(image_to_display(x), CANVAS - 24))
        else:
            self.picture.setText(np.array2string(x.numpy(), precision=3))
        return x

    def predict(self) -> None:
        if self.model is None or self.bundle is None or self.bundle.task != "classification":
            return
        x = self._input()
        if x is None:
            return
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                self.probs = probabilities(self.model, x.unsqueeze(0).to(self.device))[0] \
                    .cpu().numpy()
        finally:
            self.model.train(was_training)
        self._draw()

    def _draw(self) -> None:
        names = self.bundle.class_names or [str(i) for i in range(len(self.probs))]
        best = int(self.probs.argmax())
        self.chart.clear()
        brushes = [colour(1) if i == best else colour(0) for i in range(len(self.probs))]
        self.chart.addItem(pg.BarGraphItem(x=np.arange(len(self.probs)), height=self.probs,
                                           width=0.7, brushes=brushes))
        self.chart.getAxis("bottom").setTicks([list(enumerate(names))])
        self.chart.setYRange(0, 1)
        truth = ""
        if self.mode.currentData() == "sample" and self.bundle.val is not None:
            truth = f" (true: {names[int(self.bundle.val[self.index.value()][1])]})"
        self.answer.setText(f"Predicted: {names[best]} · {self.probs[best]:.0%}{truth}")
