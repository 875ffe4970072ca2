"""File > Fine-tune Pretrained…: start the network on screen from pretrained weights.

The student picks the weights (torchvision's published ones, downloaded with a progress
dialog only when they press Download, or a local .pth file), the number of classes of the
new head, the blocks to freeze and the head's learning rate. The edits (head size, Input
size, data pipeline, training section) are one undoable step (app.training.pretrained
plans them); the weights are checked against the planned network before anything changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.project import Project
from app.training import pretrained as pt
from app.ui.background import run_in_background
from app.ui.commands import CompoundCommand, SetParamsCommand, SetSectionCommand
from app.ui.weights_export import WEIGHTS_FILTER


def data_classes(project: Project) -> int | None:
    """The class count of an image-folder data source (its sub-folders), if there is one."""
    if project.data.get("source") != "image_folder":
        return None
    root = Path(str(project.data.get("params", {}).get("root", ""))).expanduser()
    if not root.is_dir():
        return None
    return sum(1 for d in root.iterdir() if d.is_dir()) or None


class FineTuneDialog(QDialog):
    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Fine-tune pretrained weights")
        project: Project = window.project
        doc = project.network
        self.head = pt.head_layer(doc)
        self.arch = pt.architecture_of(project.name)
        intro = QLabel("Start from weights trained on ImageNet: a new classifier head for "
                       "your classes, the blocks you freeze keep their weights, the rest "
                       "trains.")
        intro.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self._weights_box())
        lay.addWidget(self._head_box(doc, project))
        lay.addWidget(self._freeze_box(doc))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Set Up Fine-tuning")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self._update_source()
        self.resize(620, self.sizeHint().height())

    # -- the sections --------------------------------------------------------------------
    def _weights_box(self) -> QGroupBox:
        box = QGroupBox("Weights")
        form = QVBoxLayout(box)
        self.published = QRadioButton("Published by torchvision")
        self.local = QRadioButton("Local file")
        group = QButtonGroup(box)
        group.addButton(self.published)
        group.addButton(self.local)
        self.names = QComboBox()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download…")
        self.download_button.clicked.connect(self.download)
        row = QHBoxLayout()
        row.addWidget(self.published)
        row.addWidget(self.names, 1)
        row.addWidget(self.download_button)
        form.addLayout(row)
        form.addWidget(self.status)
        self.path = QLineEdit()
        self.path.setPlaceholderText("a state_dict saved with torch.save (.pth / .pt)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.local)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addLayout(row)
        self.preprocess = QCheckBox()
        form.addWidget(self.preprocess)
        if self.arch:
            self.names.addItems(pt.published_weights(self.arch))
            self.published.setChecked(True)
        else:
            self.published.setEnabled(False)
            self.names.setEnabled(False)
            self.local.setChecked(True)
        self.published.toggled.connect(self._update_source)
        self.names.currentTextChanged.connect(self._update_source)
        self.path.textChanged.connect(self._update_source)
        return box

    def _head_box(self, doc: Any, project: Project) -> QGroupBox:
        box = QGroupBox(f"Classifier head ({self.head}, {doc.node(self.head).type})")
        form = QFormLayout(box)
        self.replace = QCheckBox("Replace it with a fresh one for my classes")
        self.replace.setChecked(True)
        self.classes = QSpinBox()
        self.classes.setRange(1, 100_000)
        current = doc.node(self.head).params.get(pt.head_width(doc, self.head)) or 10
        self.classes.setValue(data_classes(project) or int(current))
        self.replace.toggled.connect(self.classes.setEnabled)
        self.own_lr = QCheckBox("Own learning rate")
        self.head_lr = QDoubleSpinBox()
        self.head_lr.setDecimals(5)
        self.head_lr.setRange(1e-5, 10.0)
        self.head_lr.setSingleStep(1e-3)
        self.head_lr.setValue(1e-3)
        self.head_lr.setEnabled(False)
        self.own_lr.toggled.connect(self.head_lr.setEnabled)
        lr_row = QHBoxLayout()
        lr_row.addWidget(self.own_lr)
        lr_row.addWidget(self.head_lr, 1)
        form.addRow(self.replace)
        form.addRow("Number of classes", self.classes)
        form.addRow("Learning rate", lr_row)
        return box

    def _freeze_box(self, doc: Any) -> QGroupBox:
        box = QGroupBox("Freeze (weights stay as loaded; batch norm keeps its statistics)")
        lay = QHBoxLayout(box)
        self.blocks = QListWidget()
        self.blocks.setMaximumHeight(130)
        frozen = set(pt.all_but_head(doc))
        for unit in pt.freeze_units(doc):
            item = QListWidgetItem(unit)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if unit in frozen
                               else Qt.CheckState.Unchecked)
            self.blocks.addItem(item)
        side = QVBoxLayout()
        for text, units in (("All but the head", frozen), ("None", set())):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, u=units: self._check_units(u))
            side.addWidget(button)
        side.addStretch(1)
        lay.addWidget(self.blocks, 1)
        lay.addLayout(side)
        return box

    def _check_units(self, units: set[str]) -> None:
        for i in range(self.blocks.count()):
            item = self.blocks.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in units
                               else Qt.CheckState.Unchecked)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Pretrained weights",
                                              self.window_.start_dir(), WEIGHTS_FILTER)
        if path:
            self.path.setText(path)
            self.local.setChecked(True)

    # -- state ---------------------------------------------------------------------------
    def preprocess_name(self) -> str | None:
        if self.published.isChecked():
            return self.names.currentText() or None
        return pt.published_weights(self.arch)[0] if self.arch else None

    def _update_source(self) -> None:
        published = self.published.isChecked()
        name = self.names.currentText()
        cached = bool(name) and pt.cache_path(name).is_file()
        self.download_button.setEnabled(published and not cached)
        if not self.arch:
            self.status.setText("This network is not a torchvision model by name, so only a "
                                "local file can give its weights.")
        elif cached:
            self.status.setText(f"Downloaded: {pt.cache_path(name)}")
        else:
            self.status.setText(f"Not downloaded yet: Download fetches it (needs internet) "
                                f"into torchvision's cache, {pt.cache_path(name).parent}; "
                                f"offline, choose a local file below.")
        prep = self.preprocess_name()
        self.preprocess.setEnabled(prep is not None)
        if prep:
            p = pt.preprocessing(prep)
            self.preprocess.setText(f"Data: the weights' preprocessing (resize {p.resize}, "
                                    f"crop {p.crop}, normalize {_numbers(p.mean)} / "
                                    f"{_numbers(p.std)})")
            self.preprocess.setToolTip(p.note)
            self.preprocess.setChecked(True)
        else:
            self.preprocess.setText("Data: the weights' preprocessing (unknown for this "
                                    "network)")
            self.preprocess.setChecked(False)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok) \
            if hasattr(self, "buttons") else None
        if ok is not None:
            ok.setEnabled(cached if published else bool(self.path.text().strip()))

    def choice(self) -> pt.FineTune:
        frozen = [self.blocks.item(i).text() for i in range(self.blocks.count())
                  if self.blocks.item(i).checkState() == Qt.CheckState.Checked]
        published = self.published.isChecked()
        return pt.FineTune(
            published=self.names.currentText() if published else None,
            file=None if published else self.path.text().strip(),
            num_classes=self.classes.value() if self.replace.isChecked() else None,
            freeze=frozen, head_lr=self.head_lr.value() if self.own_lr.isChecked() else None,
            preprocess=self.preprocess_name() if self.preprocess.isChecked() else None)

    # -- download ------------------------------------------------------------------------
    def download(self) -> None:
        name = self.names.currentText()
        dialog = QProgressDialog(f"Downloading {name}…", "Cancel", 0, 0, self)
        dialog.setWindowTitle("Download weights")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        seen = [0, 0]

        def progress(done: int, total: int) -> bool:  # on the worker thread
            seen[:] = [done, total]
            return not dialog.wasCanceled()

        def show() -> None:
            done, total = seen
            if total:
                dialog.setMaximum(total // 1024)
                dialog.setValue(done // 1024)
            dialog.setLabelText(f"Downloading {name}: {done / 2**20:.1f}"
                                + (f" of {total / 2**20:.1f} MiB" if total else " MiB"))
        timer = QTimer(dialog)
        timer.timeout.connect(show)
        timer.start(100)

        def finished(_: Any) -> None:
            timer.stop()
            dialog.reset()
            self._update_source()

        def failed(message: str) -> None:
            finished(None)
            self.window_.inform("Download failed", message, error=True)
        self.download_button.setEnabled(False)
        run_in_background(lambda: pt.download(name, progress), finished, failed, owner=self)
        dialog.show()


def _numbers(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"


def plan_command(window: Any, plan: pt.FineTunePlan) -> CompoundCommand:
    session = window.session
    command = CompoundCommand(session, "Set up fine-tuning")
    for name, changes in plan.params.items():
        command.add(SetParamsCommand(session, name, changes, mergeable=False))
    command.add(SetSectionCommand(session, "data", plan.data))
    command.add(SetSectionCommand(session, "training", plan.training))
    return command


def apply_finetune(window: Any, choice: pt.FineTune) -> bool:
    """Check the weights against the planned network, then apply the plan as one undo
    step; the run loads the weights when it starts."""
    from app.core.compiler import compile_document

    project: Project = window.project
    try:
        plan = pt.plan_finetune(project, choice)
        trial = Project(project.network.copy(), project.name, plan.data, plan.training)
        pt.apply_plan(trial, plan)
        section = plan.training["pretrained"]
        pt.load_weights(trial.network, compile_document(trial.network), section)
    except (pt.PretrainedError, ValueError) as exc:
        window.inform("Fine-tuning not set up", str(exc), error=True)
        return False
    if not window.session.push(plan_command(window, plan)):
        return False
    frozen = ", ".join(choice.freeze) or "nothing"
    window.statusBar().showMessage(
        f"Fine-tuning set up: weights {pt.source_name(section)}, head {plan.head}, frozen: "
        f"{frozen}. Press Train (F5).", 10000)
    return True


def finetune_dialog(window: Any) -> None:
    try:
        dialog = FineTuneDialog(window)
    except pt.PretrainedError as exc:
        window.inform("Fine-tuning", str(exc), error=True)
        return
    if dialog.exec():
        apply_finetune(window, dialog.choice())
