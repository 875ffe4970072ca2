"""Saliency in the Evaluate mode: after a run, which pixels of a validation sample or a
drawn digit the classifier looks at (Grad-CAM, vanilla gradient, SmoothGrad), laid over
the image with an opacity slider."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.data.augment import build_pipeline
from app.data.preview import image_to_display
from app.learn.saliency import METHOD_TITLES, Explanation, SaliencyError, conv_layers, explain
from app.learn.saliency import overlay as blend
from app.ui.training.images import to_pixmap
from app.ui.training.try_model import DrawCanvas

PICTURE = 300
NOT_READY = ("Train an image classifier first: once a run ends, its saliency maps show "
             "here.")


class SaliencyPanel(QWidget):
    title = "Saliency"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.bundle: Any = None
        self.eval_steps: list[dict] = []
        self.layer_names: dict[str, str] = {}
        self.explanation: Explanation | None = None
        self.image: np.ndarray | None = None
        self._build()
        self.set_model(None, None)

    def _build(self) -> None:
        self.source = QComboBox()
        self.source.addItem("a validation sample", "sample")
        self.source.addItem("a drawing", "draw")
        self.source.currentIndexChanged.connect(self._source_changed)
        self.index = QSpinBox()
        self.index.valueChanged.connect(self.update_map)
        self.method = QComboBox()
        for key, title in METHOD_TITLES.items():
            self.method.addItem(title, key)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.layer = QComboBox()
        self.layer.setToolTip("The convolution whose feature maps Grad-CAM weighs; the last "
                              "one sees the most abstract features")
        self.layer.currentIndexChanged.connect(self.update_map)
        self.target = QComboBox()
        self.target.setToolTip("The class whose score is explained")
        self.target.currentIndexChanged.connect(self.update_map)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("0: only the image; 100: only the map")
        self.opacity.valueChanged.connect(self._show)
        form = QFormLayout()
        form.addRow("Explain", self.source)
        form.addRow("Sample", self.index)
        form.addRow("Method", self.method)
        form.addRow("Layer", self.layer)
        form.addRow("Class", self.target)
        form.addRow("Opacity", self.opacity)
        self.canvas = DrawCanvas(self.update_map)
        clear = QPushButton("Clear drawing")
        clear.clicked.connect(self.canvas.clear)
        draw_page = QWidget()
        dp = QVBoxLayout(draw_page)
        dp.setContentsMargins(0, 0, 0, 0)
        dp.addWidget(self.canvas)
        dp.addWidget(clear)
        self.pages = QStackedWidget()
        self.pages.addWidget(QWidget())
        self.pages.addWidget(draw_page)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.pages)
        left.addStretch(1)
        self.picture = QLabel()
        self.overlay = QLabel()
        for label in (self.picture, self.overlay):
            label.setFixedSize(PICTURE, PICTURE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        pictures = QHBoxLayout()
        pictures.addWidget(self.picture)
        pictures.addWidget(self.overlay)
        pictures.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.caption)
        right.addLayout(pictures)
        right.addWidget(self.hint)
        right.addStretch(1)
        outer = QHBoxLayout(self)
        outer.addLayout(left)
        outer.addLayout(right, 1)

    # -- the model ----------------------------------------------------------------------
    def set_model(self, model: Any, bundle: Any, device: Any = None,
                  eval_steps: list[dict] | None = None, network: Any = None) -> None:
        """The trained network, its data and (for node names) its document; None until a
        run has finished. The model is explained on the CPU, on a copy of its weights."""
        self.model = None
        self.bundle = bundle
        self.eval_steps = [s for s in eval_steps or [] if s.get("type") == "Normalize"
                           and s.get("enabled", True)]
        ready = (model is not None and bundle is not None and bundle.task == "classification"
                 and len(bundle.input_shape) == 3)
        if ready:
            import copy

            self.model = copy.deepcopy(model).cpu().eval()
        self.layer_names = self._layer_names(network) if ready else {}
        self._fill_choices()
        val = bundle.val if ready and bundle.val is not None else None
        self.index.setRange(0, max(0, len(val) - 1) if val is not None else 0)
        can_draw = ready and bundle.input_shape[0] == 1
        self.source.model().item(1).setEnabled(can_draw)
        if not can_draw and self.source.currentIndex() == 1:
            self.source.setCurrentIndex(0)
        self.setEnabled(ready)
        self.explanation = None
        if ready:
            self.update_map()
        else:
            self._clear(NOT_READY)

    def _layer_names(self, network: Any) -> dict[str, str]:
        """module path -> the canvas node name (the path itself when no document)."""
        paths = conv_layers(self.model)
        if network is None:
            return {p: p for p in paths}
        from app.training.setup import layer_paths

        by_path = {path: name for name, path in layer_paths(network, self.model).items()}
        return {p: by_path.get(p, p) for p in paths}

    def _fill_choices(self) -> None:
        for box in (self.layer, self.target):
            box.blockSignals(True)
            box.clear()
        for path, name in self.layer_names.items():
            self.layer.addItem(name, path)
        self.layer.setCurrentIndex(self.layer.count() - 1)
        self.target.addItem("the predicted class", None)
        names = (self.bundle.class_names or []) if self.bundle is not None else []
        for i, name in enumerate(names):
            self.target.addItem(name, i)
        for box in (self.layer, self.target):
            box.blockSignals(False)
        self._method_changed()

    def _method_changed(self) -> None:
        grad_cam = self.method.currentData() == "gradcam"
        self.layer.setEnabled(grad_cam and self.layer.count() > 0)
        self.hint.setText({
            "gradcam": "Grad-CAM weighs the chosen convolution's feature maps by how much "
                       "the class score grows with each, and keeps the positive evidence: "
                       "coarse, but it shows where the class was found.",
            "gradient": "|∂score/∂pixel|: how much a tiny change of each pixel moves the "
                        "class score. Sharp, but noisy.",
            "smoothgrad": "The gradient map averaged over 25 noisy copies of the image: "
                          "the noise cancels and the shape of the evidence stays.",
        }[self.method.currentData()])
        self.update_map()

    def _source_changed(self) -> None:
        self.pages.setCurrentIndex(self.source.currentIndex())
        self.index.setEnabled(self.source.currentData() == "sample")
        self.update_map()

    # -- the map ------------------------------------------------------------------------
    def _input(self) -> tuple[torch.Tensor | None, int | None]:
        if self.source.currentData() == "draw":
            if self.canvas.is_blank():
                return None, None
            _, h, w = self.bundle.input_shape
            x = torch.from_numpy(self.canvas.pixels(h, w)).unsqueeze(0)
            if self.eval_steps:
                x = build_pipeline(self.eval_steps, input_kind="float")(x)
            return x, None
        data = self.bundle.val if self.bundle.val is not None else self.bundle.train
        x, y = data[self.index.value()]
        return x, int(y)

    def update_map(self) -> None:
        if self.model is None:
            return
        x, label = self._input()
        if x is None:
            self._clear("Draw a digit in the black square to see what the network looks at.")
            return
        layer = self.layer.currentData() if self.method.currentData() == "gradcam" else None
        try:
            self.explanation = explain(self.model, x.float(), self.method.currentData(),
                                       layer, self.target.currentData())
        except SaliencyError as exc:
            self._clear(str(exc))
            return
        self.image = image_to_display(x)
        names = self.bundle.class_names or [str(i) for i in
                                            range(len(self.explanation.probs))]
        e = self.explanation
        truth = f" · true {names[label]}" if label is not None else ""
        where = f" at {self.layer_names.get(e.layer, e.layer)}" if e.layer else ""
        self.caption.setText(f"Predicted {names[e.predicted]} ({e.probs[e.predicted]:.0%})"
                             f"{truth} — {METHOD_TITLES[e.method]} for "
                             f"{names[e.target]}{where}")
        self._show()

    def _clear(self, message: str) -> None:
        self.explanation = None
        self.picture.clear()
        self.overlay.clear()
        self.caption.setText(message)

    def _show(self) -> None:
        if self.explanation is None or self.image is None:
            return
        self.picture.setPixmap(to_pixmap(self.image, PICTURE))
        self.overlay.setPixmap(to_pixmap(self.blended(), PICTURE))

    def blended(self) -> np.ndarray:
        return blend(self.image, self.explanation.heat, self.opacity.value() / 100)
