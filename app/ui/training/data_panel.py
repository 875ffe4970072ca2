"""The Data panel: choose a source and its settings (a form generated from the source's
parameter specs), the split, see samples (images with labels, a table, or a scatter for
2-D sets), the split sizes and iterations per epoch, and edit the augmentation.

The project's "data" section is the truth: {"source", "params", "split",
"train_transforms", "eval_transforms"}. The preview data loads on Qt's thread pool.
"""

from __future__ import annotations

import copy
import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.params import LARGEST
from app.data.loading import LoaderConfig, describe_iterations
from app.data.preview import preview
from app.data.sources import SOURCES
from app.data.splits import SPLIT, SplitConfig
from app.training.errors import ConfigError
from app.training.sections import check_data_section
from app.ui import theme
from app.ui.background import run_in_background
from app.ui.modes import keep_form_whole
from app.ui.param_form import ParamForm, vertical_scroll
from app.ui.training.augment_editor import AugmentEditor
from app.ui.training.images import fill_grid, thumbnail
from app.ui.training.plots.base import COLOURS, plot_widget

PREVIEW_COUNT = 16
LOAD_DELAY_MS = 300


def canonical(section: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(source id, params) of a data section."""
    return section.get("source") or "", dict(section.get("params") or {})


class DataPanel(QWidget):
    changed = Signal()  # the data section changed (and is valid)
    bundleLoaded = Signal(object)  # the transform-free DatasetBundle of the current source

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.section: dict[str, Any] = {}
        self.bundle: Any = None
        self.loader = LoaderConfig()
        self._generation = 0
        self._loading_ui = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LOAD_DELAY_MS)
        self._timer.timeout.connect(self.load_now)
        self._build()

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        """Two columns, each scrolling on its own: what the data is (source, split,
        samples) on the left, what training does to it (augmentation, preview) on the
        right; on a narrow window the splitter stacks nothing, it just scrolls."""
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.addWidget(self._source_group())
        lay.addWidget(self._split_group())
        lay.addWidget(self._samples_group())
        lay.addStretch(1)
        right = QWidget()
        rlay = QVBoxLayout(right)
        self.augment_group = QGroupBox("Augmentation and normalisation (image data)")
        box = QVBoxLayout(self.augment_group)
        self.augment = AugmentEditor()
        self.augment.changed.connect(self._augment_changed)
        box.addWidget(self.augment)
        rlay.addWidget(self.augment_group)
        rlay.addStretch(1)
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.columns.setObjectName("data_columns")  # its sizes are saved with the mode
        self.columns.setChildrenCollapsible(False)
        self.columns.addWidget(keep_form_whole(vertical_scroll(left)))
        self.columns.addWidget(keep_form_whole(vertical_scroll(right)))
        self.columns.setStretchFactor(0, 1)
        self.columns.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.columns)

    def _source_group(self) -> QGroupBox:
        box = QGroupBox("Source")
        lay = QVBoxLayout(box)
        self.source = QComboBox()
        for spec in SOURCES.values():
            self.source.addItem(spec.title, spec.id)
        self.source.currentIndexChanged.connect(self._source_chosen)
        self.help = QLabel()
        self.help.setWordWrap(True)
        theme.mute(self.help)
        self.params = ParamForm()
        self.params.changed.connect(self._params_changed)
        self.status = QLabel()
        self.status.setWordWrap(True)
        for w in (self.source, self.help, self.params, self.status):
            lay.addWidget(w)
        return box

    def _split_group(self) -> QGroupBox:
        box = QGroupBox("Split")
        f = QFormLayout(box)
        self.val_fraction = QDoubleSpinBox()
        self.test_fraction = QDoubleSpinBox()
        self.split_seed = QSpinBox()
        for w, p in zip((self.val_fraction, self.test_fraction, self.split_seed), SPLIT):
            w.setRange(p.minimum, p.maximum if p.maximum is not None else LARGEST)
            w.setToolTip(p.help)
        for w in (self.val_fraction, self.test_fraction):
            w.setSingleStep(0.05)
            w.valueChanged.connect(self._split_changed)
        self.split_seed.valueChanged.connect(self._split_changed)
        self.sizes = QLabel()
        self.iterations = QLabel()
        f.addRow("validation", self.val_fraction)
        f.addRow("test", self.test_fraction)
        f.addRow("shuffle seed", self.split_seed)
        f.addRow(self.sizes)
        f.addRow(self.iterations)
        return box

    def _samples_group(self) -> QGroupBox:
        box = QGroupBox("Samples")
        lay = QVBoxLayout(box)
        self.samples = QStackedWidget()
        self.image_grid_widget = QWidget()
        self.image_grid = QGridLayout(self.image_grid_widget)
        self.image_grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(220)
        self.scatter_plot = plot_widget("", "x₂", "x₁")
        self.scatter_plot.setMinimumHeight(260)
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#222", width=0.5))
        self.scatter_plot.addItem(self.scatter)
        for w in (self.image_grid_widget, self.table, self.scatter_plot):
            self.samples.addWidget(w)
        lay.addWidget(self.samples)
        return box

    # -- the project's section <-> widgets ---------------------------------------------------
    def load_section(self, section: dict[str, Any]) -> None:
        """Show a project's data section (called when a project is opened); an invalid
        section is refused with its error and the defaults are shown instead."""
        try:
            check_data_section(section)
            problem = ""
        except ConfigError as exc:
            problem, section = str(exc), {}
        self.section = copy.deepcopy(section or {})
        source, params = canonical(self.section)
        self._loading_ui = True
        try:
            index = self.source.findData(source)
            self.source.setCurrentIndex(max(0, index))
            spec = SOURCES[self.source.currentData()]
            self.params.set_params(spec.params, params if index >= 0 else {})
            self.help.setText(spec.help)
            split = SplitConfig(**self.section.get("split") or {})
            self.val_fraction.setValue(split.val_fraction)
            self.test_fraction.setValue(split.test_fraction)
            self.split_seed.setValue(split.seed)
            self.augment.set_pipelines(self.section.get("train_transforms"),
                                       self.section.get("eval_transforms"))
            if not source:
                self._store()  # what the panel shows is what will train
        finally:
            self._loading_ui = False
        if problem:
            self.status.setText(f"<span style='color:{theme.current().error}'>The project's "
                                f"data settings are not valid ({html.escape(problem)}); the defaults are "
                                f"shown instead.</span>")
            return
        self.schedule_load()

    def _store(self) -> None:
        source = self.source.currentData()
        self.section["source"] = source
        self.section["params"] = {k: v for k, v in self.params.values().items()
                                  if v != _default(source, k)}
        self.section["split"] = {"val_fraction": round(self.val_fraction.value(), 4),
                                 "test_fraction": round(self.test_fraction.value(), 4),
                                 "seed": self.split_seed.value()}

    def _source_chosen(self) -> None:
        if self._loading_ui:
            return
        spec = SOURCES[self.source.currentData()]
        self.help.setText(spec.help)
        self.params.set_params(spec.params)
        self._store()
        self.changed.emit()
        self.schedule_load()

    def _params_changed(self) -> None:
        if not self._loading_ui:
            self._store()
            self.changed.emit()
            self.schedule_load()

    def _split_changed(self) -> None:
        self._params_changed()

    def _augment_changed(self) -> None:
        if self._loading_ui:
            return
        self.section["train_transforms"] = copy.deepcopy(self.augment.pipelines["train"])
        self.section["eval_transforms"] = copy.deepcopy(self.augment.pipelines["eval"])
        self.changed.emit()

    def set_loader(self, batch_size: int, drop_last: bool = False) -> None:
        self.loader = LoaderConfig(batch_size=batch_size, drop_last=drop_last)
        self._show_sizes()

    # -- loading and showing ---------------------------------------------------------------
    def schedule_load(self) -> None:
        self._timer.start()

    def load_now(self) -> None:
        """Load the source (without augmentation) off the GUI thread."""
        self._timer.stop()
        if not self.params.check():
            return
        self._generation += 1
        generation = self._generation
        section = {k: v for k, v in self.section.items()
                   if k in ("source", "params", "split")}
        section.setdefault("source", self.source.currentData())
        self.status.setText("Loading…")
        from app.training.data import load_data

        run_in_background(lambda: load_data(section),
                          lambda bundle: self._loaded(generation, bundle),
                          lambda message: self._failed(generation, message), owner=self)

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.bundle = None
            self.status.setText(f"<span style='color:{theme.current().error}'>{message}</span>")

    def _loaded(self, generation: int, bundle: Any) -> None:
        if generation != self._generation:
            return  # a newer setting is loading
        self.bundle = bundle
        shape = "×".join(map(str, bundle.input_shape))
        classes = f", {bundle.num_classes} classes" if bundle.num_classes else ""
        self.status.setText(f"{bundle.task}, samples of shape {shape}{classes}")
        self._show_sizes()
        self._show_samples()
        image = len(bundle.input_shape) >= 3
        self.augment_group.setVisible(image)
        if image:
            self.augment.set_bundle(bundle)
        self.bundleLoaded.emit(bundle)

    def _show_sizes(self) -> None:
        b = self.bundle
        if b is None:
            return
        n = [len(d) if d is not None else 0 for d in (b.train, b.val, b.test)]
        self.sizes.setText(f"train {n[0]} · validation {n[1]} · test {n[2]}")
        self.iterations.setText(describe_iterations(n[0], self.loader))

    def _show_samples(self) -> None:
        p = preview(self.bundle, PREVIEW_COUNT, seed=0)
        if p.kind == "image":
            widgets = [thumbnail(it.data, it.label_name or f"{it.label:g}", 56,
                                 f"sample {it.index}") for it in p.items]
            fill_grid(self.image_grid, widgets, 8)
            self.samples.setCurrentWidget(self.image_grid_widget)
        elif p.kind == "point":
            everything = preview(self.bundle, len(self.bundle.train), seed=0)
            pos = np.array([it.data for it in everything.items])
            brushes = [pg.mkBrush(COLOURS[int(it.label) % len(COLOURS)])
                       for it in everything.items]
            self.scatter.setData(pos=pos, brush=brushes)
            self.samples.setCurrentWidget(self.scatter_plot)
        else:
            self._fill_table(p)
            self.samples.setCurrentWidget(self.table)

    def _fill_table(self, p: Any) -> None:
        width = max((it.data.size for it in p.items), default=0)
        names = p.feature_names or [f"x{i}" for i in range(width)]
        self.table.setColumnCount(width + 1)
        self.table.setHorizontalHeaderLabels(["label", *names[:width]])
        self.table.setRowCount(len(p.items))
        for r, it in enumerate(p.items):
            self.table.setItem(r, 0, QTableWidgetItem(it.label_name or f"{it.label:.4g}"))
            for c, v in enumerate(it.data.reshape(-1)):
                self.table.setItem(r, c + 1, QTableWidgetItem(f"{float(v):.4g}"))
        self.table.resizeColumnsToContents()


def _default(source: str, name: str) -> Any:
    spec = next((p for p in SOURCES[source].params if p.name == name), None)
    return spec.default if spec is not None else None
