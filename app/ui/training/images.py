"""numpy images -> Qt pixmaps, and small captioned thumbnails for sample grids."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget


def to_pixmap(image: np.ndarray, size: int = 64) -> QPixmap:
    """H x W x C (C = 1 or 3) float in [0, 1] -> a pixmap `size` pixels on its longer side,
    scaled without smoothing so individual pixels of small digits stay visible."""
    a = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    a = np.ascontiguousarray((a[:, :, :3] * 255).astype(np.uint8))
    h, w = a.shape[:2]
    qimage = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


def thumbnail(image: np.ndarray, caption: str, size: int = 64, tip: str = "") -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(1)
    picture = QLabel()
    picture.setPixmap(to_pixmap(image, size))
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    text = QLabel(caption)
    text.setAlignment(Qt.AlignmentFlag.AlignCenter)
    text.setStyleSheet("font-size: 8pt;")
    layout.addWidget(picture)
    layout.addWidget(text)
    box.setToolTip(tip or caption)
    return box


def clear_layout(layout: QGridLayout | QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()


def fill_grid(layout: QGridLayout, widgets: list[QWidget], columns: int) -> None:
    clear_layout(layout)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, i // columns, i % columns)
