"""Confusion matrix of the validation set (rows: true class, columns: predicted) and a
gallery of misclassified validation samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.analysis.run_history import RunHistory
from app.ui import theme
from app.ui.training.images import fill_grid, thumbnail
from app.ui.training.plots.base import PlotPanel, plot_widget

GALLERY_COLUMNS = 8
MAX_TEXT_CLASSES = 20  # count labels in the cells up to this many classes
# The fullest cell's colour; empty cells are the plot's background, in either theme.
FULL = {"light": "#084594", "dark": "#3b82f6"}


def cell_colours(t: theme.Theme) -> pg.ColorMap:
    return pg.ColorMap([0.0, 1.0], [QColor(t.base), QColor(FULL.get(t.name, FULL["light"]))])


SCORE_COLUMNS = ("class", "precision", "recall", "F1", "samples")


def per_class_scores(m: np.ndarray) -> np.ndarray:
    """Rows of (precision, recall, F1, support) per class from a [true, predicted] count
    matrix, as sklearn's precision_recall_fscore_support computes them (0 where a class
    was never predicted or never present)."""
    m = np.asarray(m, dtype=float)
    hits, predicted, support = np.diag(m), m.sum(axis=0), m.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
        both = precision + recall
        f1 = np.where(both > 0, 2 * precision * recall / both, 0.0)
    return np.stack([precision, recall, f1, support], axis=1)


WAITING = "The confusion matrix appears after the first epoch."
NONE = ("This run has no confusion matrix: it is drawn for classification with a "
        "validation set.")


class ConfusionPanel(PlotPanel):
    title = "Confusion matrix"
    empty = ("Train the network (F5) to see its confusion matrix (true class against "
             "predicted class) and the validation samples it gets wrong.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot_widget("", "true class", "predicted class")
        self.plot.getViewBox().invertY(True)
        self.plot.getViewBox().setAspectLocked(True)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.gallery = QWidget()
        self.grid = QGridLayout(self.gallery)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.gallery)
        self.gallery_title = QLabel("Misclassified validation samples")
        gallery = _titled(self.gallery_title, scroll, top=0)
        # Beside the square matrix, under the gallery: what each row and column of the
        # matrix adds up to, per class (the room a student otherwise sees empty).
        self.scores = QTableWidget(0, len(SCORE_COLUMNS))
        self.scores.setHorizontalHeaderLabels(SCORE_COLUMNS)
        self.scores.verticalHeader().hide()
        self.scores.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.scores.setAlternatingRowColors(True)
        self.scores.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        rows = self.scores.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)  # compact: all in view
        self.scores.setToolTip("Precision: of the samples predicted as this class, the share "
                               "that are. Recall: of the samples of this class, the share "
                               "found. F1: their harmonic mean. Samples: validation "
                               "samples of the class.")
        self.scores_title = QLabel("Per class (validation)")
        scores = _titled(self.scores_title, self.scores, top=4)
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(gallery)
        self.right.addWidget(scores)
        self.right.setSizes([300, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(self.right)
        split.setSizes([400, 400])
        self.body.addWidget(split)
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.texts: list[pg.TextItem] = []
        self.gallery_of: Any = None  # the evaluation the gallery shows (runs restart epochs)

    def key(self, run: RunHistory) -> object:
        return (len(run.epochs), run.evaluation.epoch if run.evaluation else None)

    def draw(self, run: RunHistory) -> None:
        e = run.last_epoch
        if e is None or e.confusion is None:
            self.show_message(WAITING if run.running else NONE)
            return
        self.show_content()
        self._draw_matrix(np.asarray(e.confusion), run.class_names)
        ev = run.evaluation
        if ev is not None and ev is not self.gallery_of:
            self.gallery_of = ev
            self._draw_gallery(ev, run.class_names)

    def _draw_matrix(self, m: np.ndarray, names: list[str] | None) -> None:
        self.matrix = m
        n = len(m)
        colours = cell_colours(theme.current())
        self.image.setColorMap(colours)
        self.image.setImage(m.astype(float), levels=(0, max(1, m.max())))
        self.image.setRect(QRectF(0, 0, n, n))
        for t in self.texts:
            self.plot.removeItem(t)
        self.texts = []
        if n <= MAX_TEXT_CLASSES:
            top = m.max() or 1
            for i in range(n):
                for j in range(n):
                    cell = colours.map(m[i, j] / top, mode="qcolor")
                    t = pg.TextItem(str(int(m[i, j])), anchor=(0.5, 0.5),
                                    color=theme.readable_text(cell))
                    t.setPos(j + 0.5, i + 0.5)
                    self.plot.addItem(t)
                    self.texts.append(t)
        labels = [(i + 0.5, (names or [str(k) for k in range(n)])[i]) for i in range(n)]
        self.plot.getAxis("bottom").setTicks([labels])
        self.plot.getAxis("left").setTicks([labels])
        self.plot.autoRange()
        self._fill_scores(m, names)
        correct = int(np.trace(m))
        total = int(m.sum())
        self.note.setText(f"{total} validation samples, {correct} correct "
                          f"({correct / max(1, total):.1%})")

    def _fill_scores(self, m: np.ndarray, names: list[str] | None) -> None:
        scores = per_class_scores(m)
        macro = [*scores[:, :3].mean(axis=0), scores[:, 3].sum()]
        rows = [*((names[i] if names and i < len(names) else str(i), *row)
                  for i, row in enumerate(scores)), ("mean (macro)", *macro)]
        self.scores.setRowCount(len(rows))
        for r, (name, *values) in enumerate(rows):
            cells = [name, *(f"{v:.1%}" for v in values[:3]), str(int(values[3]))]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.scores.setItem(r, c, item)
        # the table as tall as its rows (at most half the column), the gallery the rest
        need = (self.scores.horizontalHeader().height() + 2 + self.scores_title.sizeHint()
                .height() + len(rows) * self.scores.verticalHeader().defaultSectionSize() + 14)
        total = sum(self.right.sizes())
        self.right.setSizes([total - min(need, total // 2), min(need, total // 2)])

    def _draw_gallery(self, ev: Any, names: list[str] | None) -> None:
        def name(k: int) -> str:
            return names[k] if names and k < len(names) else str(k)
        widgets = []
        for m in ev.misclassified:
            caption = f"{name(m.true)} → {name(m.predicted)}"
            tip = (f"validation sample {m.index}: true {name(m.true)}, predicted "
                   f"{name(m.predicted)} ({m.confidence:.0%} sure)")
            if m.image is not None:
                widgets.append(thumbnail(m.image, caption, 56, tip))
            else:
                label = QLabel(f"#{m.index}: {caption}")
                label.setToolTip(tip + "\n" + np.array2string(m.values, precision=3))
                widgets.append(label)
        fill_grid(self.grid, widgets, GALLERY_COLUMNS if widgets and
                  ev.misclassified[0].image is not None else 2)
        self.gallery_title.setText(
            f"Misclassified validation samples, epoch {ev.epoch}: showing {len(widgets)} "
            f"(of the first {ev.checked} checked)" if widgets else
            f"No misclassified sample among the first {ev.checked} (epoch {ev.epoch})")

    def table(self) -> tuple[list[str], list[list[Any]]]:
        names = (self.run.class_names if self.run else None) or \
            [str(i) for i in range(len(self.matrix))]
        return ["true \\ predicted", *names], [[names[i], *map(int, row)]
                                               for i, row in enumerate(self.matrix)]


def _titled(title: QLabel, body: QWidget, top: int) -> QWidget:
    """`body` under its bold `title`, `top` pixels below what is above."""
    title.setStyleSheet("font-weight: bold;")
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, top, 0, 0)
    lay.addWidget(title)
    lay.addWidget(body)
    return box
