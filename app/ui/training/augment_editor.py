"""The augmentation pipeline editor: add steps from the registry, reorder them by drag,
remove, enable/disable and edit them, with a live grid of augmented samples that
follows every edit (debounced), and normalisation presets with "compute mean/std"."""

from __future__ import annotations

import copy
from typing import Any

import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.data.augment import (
    NORMALIZE_PRESETS,
    STEPS,
    build_pipeline,
    fill_dataset_stats,
    needs_dataset_stats,
    normalize_steps,
)
from app.data.datasets import TransformedDataset
from app.data.errors import AugmentError
from app.data.preview import image_to_display
from app.ui import theme
from app.ui.background import run_in_background
from app.ui.param_form import ParamForm
from app.ui.training.images import fill_grid, thumbnail

PREVIEW_SAMPLES = 6
DRAWS = 3  # each sample drawn this many times: random steps show their spread
DEBOUNCE_MS = 250
STATS_LIMIT = 10_000
NO_NORMALISATION = "none"


def raw_samples(bundle: Any, count: int) -> tuple[list[Any], str]:
    """The first `count` training images before any augmentation, and their kind."""
    train = bundle.train
    if isinstance(train, TransformedDataset):
        items = [train.base[train.indices[i]][0] for i in range(min(count, len(train)))]
    else:
        items = [train[i][0] for i in range(min(count, len(train)))]
    kind = "float" if items and isinstance(items[0], torch.Tensor) else "pil"
    return items, kind


def plain_train_set(bundle: Any, kind: str) -> Any:
    """The training images through an empty pipeline (to tensors), for mean/std."""
    train = bundle.train
    if isinstance(train, TransformedDataset):
        return TransformedDataset(train.base, train.indices, build_pipeline([], input_kind=kind))
    return train


class AugmentEditor(QWidget):
    changed = Signal()  # the pipelines changed and are valid

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pipelines: dict[str, list[dict]] = {"train": [], "eval": []}
        self.stats: tuple[list[float], list[float]] | None = None
        self.bundle: Any = None
        self.raw: list[Any] = []
        self.kind = "pil"
        self.seed = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_preview)
        self._build()

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.which = QComboBox()
        self.which.addItem("Training pipeline (random augmentation)", "train")
        self.which.addItem("Evaluation pipeline (validation and test)", "eval")
        self.which.currentIndexChanged.connect(self._show_pipeline)
        self.steps = QListWidget()
        self.steps.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.steps.setToolTip("Drag to reorder; untick to disable a step")
        self.steps.model().rowsMoved.connect(self._reordered)
        self.steps.itemChanged.connect(self._enabled_changed)
        self.steps.currentRowChanged.connect(self._select_step)
        self.steps.setMaximumHeight(150)
        self.add_type = QComboBox()
        for spec in STEPS.values():
            self.add_type.addItem(spec.title, spec.type)
            self.add_type.setItemData(self.add_type.count() - 1, spec.help,
                                      Qt.ItemDataRole.ToolTipRole)
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.add_step(self.add_type.currentData()))
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self.remove_step)
        row = QHBoxLayout()
        row.addWidget(self.add_type, 1)
        row.addWidget(add)
        row.addWidget(self.remove)
        self.form = ParamForm()
        self.form.changed.connect(self._params_changed)
        self.step_help = QLabel()
        self.step_help.setWordWrap(True)
        theme.mute(self.step_help)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.which)
        lay.addWidget(self.steps)
        lay.addLayout(row)
        lay.addWidget(self.step_help)
        lay.addWidget(self.form)
        lay.addLayout(self._normalisation_row())
        lay.addLayout(self._preview_area())

    def _normalisation_row(self) -> QHBoxLayout:
        self.norm = QComboBox()
        self.norm.addItem("no normalisation", NO_NORMALISATION)
        for name, (mean, std) in NORMALIZE_PRESETS.items():
            self.norm.addItem(f"{name} (mean {', '.join(f'{m:g}' for m in mean)})", name)
        self.norm.addItem("this dataset (compute mean/std)", "dataset")
        self.norm.setToolTip("Adds one Normalize step at the end of both pipelines")
        self.norm.currentIndexChanged.connect(self._preset_chosen)
        self.compute = QPushButton("Compute mean/std")
        self.compute.setToolTip("Per-channel mean and std of the training images")
        self.compute.clicked.connect(self.compute_stats)
        self.stats_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(QLabel("normalise"))
        row.addWidget(self.norm, 1)
        row.addWidget(self.compute)
        return row

    def _preview_area(self) -> QVBoxLayout:
        head = QHBoxLayout()
        self.preview_title = QLabel("Augmented samples")
        self.preview_title.setStyleSheet("font-weight: bold;")
        shuffle = QPushButton("New draw")
        shuffle.setToolTip("Draw the random augmentations again")
        shuffle.clicked.connect(self._new_draw)
        head.addWidget(self.preview_title, 1)
        head.addWidget(shuffle)
        self.preview_error = QLabel()
        self.preview_error.setWordWrap(True)
        self.preview_error.setForegroundRole(QPalette.ColorRole.BrightText)  # the error red
        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        box = QVBoxLayout()
        box.addLayout(head)
        box.addWidget(self.stats_label)
        box.addWidget(self.preview_error)
        box.addWidget(self.grid_widget)
        return box

    # -- data ---------------------------------------------------------------------------
    def set_bundle(self, bundle: Any) -> None:
        """A (transform-free) bundle of the current source: the preview's raw images."""
        self.bundle = bundle
        self.raw, self.kind = raw_samples(bundle, PREVIEW_SAMPLES)
        self.schedule_preview()

    def set_pipelines(self, train: list[dict] | None, evaluation: list[dict] | None) -> None:
        self.pipelines = {"train": copy.deepcopy(train or []),
                          "eval": copy.deepcopy(evaluation or [])}
        self._sync_norm_combo()
        self._show_pipeline()

    def current(self) -> list[dict]:
        return self.pipelines[self.which.currentData()]

    # -- list editing ---------------------------------------------------------------------
    def _show_pipeline(self) -> None:
        self.steps.blockSignals(True)
        self.steps.clear()
        for step in self.current():
            spec = STEPS.get(step.get("type"))
            item = QListWidgetItem(spec.title if spec else str(step.get("type")))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            item.setCheckState(Qt.CheckState.Checked if step.get("enabled", True)
                               else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, step)
            self.steps.addItem(item)
        self.steps.blockSignals(False)
        self.steps.setCurrentRow(0 if self.current() else -1)
        self._select_step(self.steps.currentRow())
        self.schedule_preview()

    def add_step(self, step_type: str) -> None:
        step = normalize_steps([{"type": step_type}])[0]
        self.current().append(step)
        self._show_pipeline()
        self.steps.setCurrentRow(len(self.current()) - 1)
        self._edited()

    def remove_step(self) -> None:
        row = self.steps.currentRow()
        if 0 <= row < len(self.current()):
            del self.current()[row]
            self._show_pipeline()
            self._edited()

    def move_step(self, row: int, to: int) -> None:
        """What a drag does (also callable directly)."""
        steps = self.current()
        steps.insert(to, steps.pop(row))
        self._show_pipeline()
        self.steps.setCurrentRow(to)
        self._edited()

    def set_enabled(self, row: int, enabled: bool) -> None:
        self.steps.item(row).setCheckState(Qt.CheckState.Checked if enabled
                                           else Qt.CheckState.Unchecked)

    def _reordered(self, *_args: Any) -> None:
        """After a drag the list order is the truth: read the steps back from it."""
        order = [self.steps.item(i).data(Qt.ItemDataRole.UserRole)
                 for i in range(self.steps.count())]
        self.pipelines[self.which.currentData()][:] = order
        self._edited()

    def _enabled_changed(self, item: QListWidgetItem) -> None:
        row = self.steps.row(item)
        if 0 <= row < len(self.current()):
            self.current()[row]["enabled"] = item.checkState() == Qt.CheckState.Checked
            self._edited()

    def _select_step(self, row: int) -> None:
        steps = self.current()
        self.remove.setEnabled(0 <= row < len(steps))
        if not 0 <= row < len(steps):
            self.form.set_params([])
            self.step_help.setText("Add a step from the list above." if not steps else "")
            return
        spec = STEPS[steps[row]["type"]]
        self.step_help.setText(spec.help)
        self.form.set_params(spec.params, steps[row])

    def _params_changed(self) -> None:
        row = self.steps.currentRow()
        if 0 <= row < len(self.current()):
            self.current()[row].update(self.form.values())
            self._edited()

    # -- normalisation ----------------------------------------------------------------------
    def _normalize_step(self, steps: list[dict]) -> dict | None:
        return next((s for s in steps if s.get("type") == "Normalize"), None)

    def _sync_norm_combo(self) -> None:
        step = self._normalize_step(self.pipelines["train"])
        preset = step.get("preset", "custom") if step else NO_NORMALISATION
        self.norm.blockSignals(True)
        self.norm.setCurrentIndex(max(0, self.norm.findData(preset)))
        self.norm.blockSignals(False)
        self._show_stats(step)

    def _show_stats(self, step: dict | None) -> None:
        if step and step.get("mean") is not None:
            mean = ", ".join(f"{v:.4f}" for v in step["mean"])
            std = ", ".join(f"{v:.4f}" for v in step["std"])
            self.stats_label.setText(f"Normalize: mean [{mean}], std [{std}]")
        elif step and step.get("preset") == "dataset":
            self.stats_label.setText("Normalize: press Compute mean/std to measure the "
                                     "training images")
        else:
            self.stats_label.setText("")

    def _preset_chosen(self) -> None:
        preset = self.norm.currentData()
        for steps in self.pipelines.values():
            steps[:] = [s for s in steps if s.get("type") != "Normalize"]
            if preset != NO_NORMALISATION:
                values = {"type": "Normalize", "preset": preset}
                if preset == "dataset" and self.stats is not None:
                    values.update(mean=list(self.stats[0]), std=list(self.stats[1]))
                steps.append(normalize_steps([values])[0])
        self._sync_norm_combo()
        self._show_pipeline()
        self._edited()
        if preset == "dataset" and self.stats is None:
            self.compute_stats()

    def compute_stats(self) -> None:
        if self.bundle is None:
            self.preview_error.setText("Load a data source first")
            return
        dataset = plain_train_set(self.bundle, self.kind)
        self.compute.setEnabled(False)
        self.compute.setText("Computing…")
        from app.data.stats import compute_mean_std

        run_in_background(lambda: compute_mean_std(dataset, limit=STATS_LIMIT),
                          self._stats_ready, self._stats_failed, owner=self)

    def _stats_ready(self, stats: tuple[list[float], list[float]]) -> None:
        self.compute.setEnabled(True)
        self.compute.setText("Compute mean/std")
        self.stats = stats
        if self.norm.currentData() != "dataset":
            # the numbers were asked for: use them (this rebuilds both Normalize steps)
            self.norm.setCurrentIndex(self.norm.findData("dataset"))
            return
        for key in self.pipelines:
            self.pipelines[key] = fill_dataset_stats(self.pipelines[key], *stats)
        self._sync_norm_combo()
        self._show_pipeline()
        self._edited()

    def _stats_failed(self, message: str) -> None:
        self.compute.setEnabled(True)
        self.compute.setText("Compute mean/std")
        self.preview_error.setText(f"Could not compute mean/std: {message}")

    # -- validation and live preview --------------------------------------------------------
    def problem(self) -> str:
        """'' when both pipelines compile, else the first error in words."""
        for key, label in (("train", "training"), ("eval", "evaluation")):
            try:
                build_pipeline(self.pipelines[key], input_kind=self.kind, stats=self._stats())
            except AugmentError as exc:
                return f"{label} pipeline: {exc}"
        return ""

    def _stats(self) -> tuple | None:
        if self.stats is not None:
            return self.stats
        # a 'dataset' preset without numbers yet: preview with neutral statistics
        return ([0.0], [1.0]) if any(needs_dataset_stats(s) for s in self.pipelines.values()) \
            else None

    def _edited(self) -> None:
        self.schedule_preview()
        if not self.problem():
            self.changed.emit()

    def _new_draw(self) -> None:
        self.seed += 1
        self.refresh_preview()

    def schedule_preview(self) -> None:
        self._timer.start()

    def refresh_preview(self) -> None:
        """Apply the shown pipeline to a few training images, DRAWS times each."""
        self._timer.stop()
        problem = self.problem()
        self.preview_error.setText(problem)
        if problem or not self.raw:
            fill_grid(self.grid, [], 1)
            return
        pipeline = build_pipeline(self.current(), input_kind=self.kind, stats=self._stats())
        widgets = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for i, image in enumerate(self.raw):
                for d in range(DRAWS):
                    x = pipeline(image)
                    caption = f"#{i}" if d == 0 else ""
                    widgets.append(thumbnail(image_to_display(x), caption, 56,
                                             f"sample {i}, draw {d + 1}: {tuple(x.shape)}"))
        fill_grid(self.grid, widgets, DRAWS * 2)
        self.preview_title.setText(f"Augmented samples ({self.which.currentText().split(' (')[0]}"
                                   f", {DRAWS} draws each)")
        self.previewed = len(widgets)
