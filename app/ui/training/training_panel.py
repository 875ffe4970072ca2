"""Training settings (loss, optimizer, schedule, init, regularisation, early stopping,
epochs, batch, seed, device), Start / Pause / Stop, progress and a log.

A view: it turns its widgets into a TrainConfig dict and reports button presses as
signals; TrainingDocks runs the worker and calls show_* with what happened.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.core.params import Param
from app.training.config import TrainConfig
from app.training.devices import list_devices
from app.training.errors import ConfigError
from app.training.init import INITS
from app.training.losses import LOSSES
from app.training.optimizers import OPTIMIZERS
from app.training.schedulers import MONITORS, SCHEDULERS
from app.ui.modes import keep_form_whole
from app.ui.param_form import ParamForm, vertical_scroll

ERROR_STYLE = "background: #ffebee; color: #b71c1c; padding: 6px; border-radius: 4px;"
INIT_TYPES = "Linear, Conv2d"


def clock(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class TrainingPanel(QWidget):
    changed = Signal()  # a setting changed and the config is valid
    startRequested = Signal()
    pauseRequested = Signal()
    resumeRequested = Signal()
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.base: dict[str, Any] = TrainConfig().to_dict()  # fields not shown here
        self.problem = ""
        self._loading = False
        self._build()
        self.load_config({})

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        form = QWidget()
        lay = QVBoxLayout(form)
        lay.addWidget(self._run_group())
        lay.addWidget(self._loss_group())
        lay.addWidget(self._optimizer_group())
        lay.addWidget(self._schedule_group())
        lay.addWidget(self._init_group())
        lay.addWidget(self._regularisation_group())
        lay.addWidget(self._early_group())
        lay.addStretch(1)
        # The form is never laid out shorter than its rows need: the groups' rows are
        # filled after the page exists, and the scroll area kept the older, shorter
        # height, squeezing the Run and Loss rows to 10 px when a run started.
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        outer = QVBoxLayout(self)
        # the settings get the height; the log shows about ten lines and scrolls
        outer.addWidget(keep_form_whole(vertical_scroll(form)), 3)
        outer.addLayout(self._buttons())
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.progress_text = QLabel("Not started")
        self.progress_text.setSizePolicy(QSizePolicy.Policy.Ignored,
                                         QSizePolicy.Policy.Preferred)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("The run's log appears here")
        for w in (self.progress, self.progress_text, self.error):
            outer.addWidget(w)
        outer.addWidget(self.log, 1)

    def _spin(self, low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.valueChanged.connect(self._changed)
        return box

    def _run_group(self) -> QGroupBox:
        box = QGroupBox("Run")
        f = QFormLayout(box)
        self.epochs = self._spin(1, 100_000, 10)
        self.batch = self._spin(1, 65_536, 64)
        self.seed = self._spin(0, 2**31 - 1, 0)
        self.device = QComboBox()
        self.device.addItem("Automatic (best available)", "auto")
        for d in list_devices():
            self.device.addItem(d.name, d.id)
        self.device.setToolTip("The devices found on this computer")
        self.device.currentIndexChanged.connect(self._changed)
        self.snapshots = self._spin(1, 50, 4)
        self.snapshots.setToolTip("How often per epoch histograms, gradient norms and "
                                  "activations are recorded")
        for label, w in (("epochs", self.epochs), ("batch size", self.batch),
                         ("seed", self.seed), ("device", self.device),
                         ("snapshots per epoch", self.snapshots)):
            f.addRow(label, w)
        return box

    def _registry_group(self, title: str, names: list[Any], labels: list[str]
                        ) -> tuple[QGroupBox, QComboBox, ParamForm, QFormLayout]:
        box = QGroupBox(title)
        f = QFormLayout(box)
        combo = QComboBox()
        for name, label in zip(names, labels):
            combo.addItem(label, name)
        form = ParamForm()
        form.changed.connect(self._changed)
        f.addRow("type", combo)
        f.addRow(form)
        return box, combo, form, f

    def _loss_group(self) -> QGroupBox:
        box, self.loss, self.loss_form, _ = self._registry_group(
            "Loss", list(LOSSES), list(LOSSES))
        for i, spec in enumerate(LOSSES.values()):
            self.loss.setItemData(i, spec.help, 3)  # tooltip role
        self.loss.currentIndexChanged.connect(lambda _i: self._registry_changed(
            self.loss_form, LOSSES[self.loss.currentData()].params))
        return box

    def _optimizer_group(self) -> QGroupBox:
        box, self.optimizer, self.optimizer_form, f = self._registry_group(
            "Optimizer", list(OPTIMIZERS), list(OPTIMIZERS))
        self.lr = QLineEdit()
        self.lr.setPlaceholderText("torch's default")
        self.lr.setToolTip("learning rate; empty: torch's default for this optimizer")
        self.lr.editingFinished.connect(self._changed)
        f.insertRow(1, "learning rate", self.lr)
        self.optimizer.currentIndexChanged.connect(self._optimizer_changed)
        return box

    def _schedule_group(self) -> QGroupBox:
        box, self.scheduler, self.scheduler_form, _ = self._registry_group(
            "Learning-rate schedule", [None, *SCHEDULERS], ["constant", *SCHEDULERS])
        self.scheduler.currentIndexChanged.connect(lambda _i: self._registry_changed(
            self.scheduler_form, SCHEDULERS[self.scheduler.currentData()].params
            if self.scheduler.currentData() else ()))
        return box

    def _init_group(self) -> QGroupBox:
        box, self.init, self.init_form, f = self._registry_group(
            "Weight initialisation", [None, *INITS], ["torch default", *INITS])
        self.init_types = QLineEdit(INIT_TYPES)
        self.init_types.setToolTip("layer types the scheme applies to, comma separated")
        self.init_types.editingFinished.connect(self._changed)
        f.insertRow(1, "layer types", self.init_types)
        self.init.currentIndexChanged.connect(lambda _i: self._registry_changed(
            self.init_form, INITS[self.init.currentData()].params
            if self.init.currentData() else ()))
        return box

    def _regularisation_group(self) -> QGroupBox:
        box = QGroupBox("Regularisation")
        f = QFormLayout(box)
        self.l1 = QLineEdit("0")
        self.l1.setToolTip("adds l1 × Σ|w| to the loss; weight decay (L2) is an optimizer "
                           "parameter above")
        self.l1.editingFinished.connect(self._changed)
        self.clip = QComboBox()
        for label, value in (("no clipping", None), ("clip gradient norm", "norm"),
                             ("clip gradient values", "value")):
            self.clip.addItem(label, value)
        self.clip.currentIndexChanged.connect(self._changed)
        self.clip_value = QLineEdit("1.0")
        self.clip_value.editingFinished.connect(self._changed)
        f.addRow("L1", self.l1)
        f.addRow("gradients", self.clip)
        f.addRow("clip at", self.clip_value)
        return box

    def _early_group(self) -> QGroupBox:
        box = QGroupBox("Early stopping")
        f = QFormLayout(box)
        self.early = QCheckBox("stop when the monitored metric stops improving")
        self.early.toggled.connect(self._changed)
        self.monitor = QComboBox()
        self.monitor.addItems(list(MONITORS))
        self.monitor.currentIndexChanged.connect(self._changed)
        self.patience = self._spin(0, 10_000, 5)
        f.addRow(self.early)
        f.addRow("monitor", self.monitor)
        f.addRow("patience (epochs)", self.patience)
        return box

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start = QPushButton("Start")
        self.start.setToolTip("Train the network on the data chosen in the Data panel")
        self.pause = QPushButton("Pause")
        self.stop = QPushButton("Stop")
        self.start.clicked.connect(self.startRequested)
        self.pause.clicked.connect(self._pause_clicked)
        self.stop.clicked.connect(self.stopRequested)
        icons = QStyle.StandardPixmap
        for b, icon in ((self.start, icons.SP_MediaPlay), (self.pause, icons.SP_MediaPause),
                        (self.stop, icons.SP_MediaStop)):
            b.setIcon(self.style().standardIcon(icon))
            row.addWidget(b)
        self.set_state("idle")
        return row

    # -- state --------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """idle | running | paused | stopping"""
        self.state = state
        self.start.setEnabled(state == "idle")
        self.pause.setEnabled(state in ("running", "paused"))
        self.pause.setText("Resume" if state == "paused" else "Pause")
        self.stop.setEnabled(state in ("running", "paused"))

    def _pause_clicked(self) -> None:
        (self.resumeRequested if self.state == "paused" else self.pauseRequested).emit()

    # -- config <-> widgets -----------------------------------------------------------------
    def _registry_changed(self, form: ParamForm, params: tuple[Param, ...],
                          values: dict | None = None) -> None:
        form.set_params(list(params), values)
        self._changed()

    def _optimizer_changed(self) -> None:
        spec = OPTIMIZERS[self.optimizer.currentData()]
        self.lr.setPlaceholderText(f"torch's default: {spec.lr:g}")
        self._registry_changed(self.optimizer_form, spec.params)

    def load_config(self, data: dict[str, Any]) -> None:
        """Show a project's training section; invalid sections fall back to defaults and
        the problem is shown."""
        try:
            cfg = TrainConfig.from_dict(data or {})
            self.show_error("")
        except ConfigError as exc:
            cfg = TrainConfig()
            self.show_error(f"The project's training settings were not valid ({exc}); "
                            f"the defaults are shown instead.")
        self.base = cfg.to_dict()
        self._loading = True
        try:
            self._show(cfg)
        finally:
            self._loading = False
        self.problem = ""

    def _select(self, combo: QComboBox, value: Any) -> None:
        combo.blockSignals(True)
        combo.setCurrentIndex(max(0, combo.findData(value)))
        combo.blockSignals(False)

    def _show(self, cfg: TrainConfig) -> None:
        for box, value in ((self.epochs, cfg.epochs), (self.batch, cfg.batch_size),
                           (self.seed, cfg.seed), (self.patience, cfg.early_stopping.patience)):
            box.setValue(value)
        self._select(self.device, cfg.device)
        self._select(self.loss, cfg.loss.name)
        self.loss_form.set_params(list(LOSSES[cfg.loss.name].params), cfg.loss.params)
        self._select(self.optimizer, cfg.optimizer.name)
        spec = OPTIMIZERS[cfg.optimizer.name]
        self.lr.setPlaceholderText(f"torch's default: {spec.lr:g}")
        self.lr.setText("" if cfg.optimizer.lr is None else f"{cfg.optimizer.lr:g}")
        self.optimizer_form.set_params(list(spec.params), cfg.optimizer.params)
        self._select(self.scheduler, cfg.scheduler.name)
        self.scheduler_form.set_params(list(SCHEDULERS[cfg.scheduler.name].params)
                                      if cfg.scheduler.name else [], cfg.scheduler.params)
        rule = cfg.init[0] if cfg.init else None
        self._select(self.init, rule.scheme if rule else None)
        self.init_types.setText(", ".join(rule.layer_types) if rule else INIT_TYPES)
        self.init_form.set_params(list(INITS[rule.scheme].params) if rule else [],
                                 rule.params if rule else {})
        reg = cfg.regularisation
        self.l1.setText(f"{reg.l1:g}")
        self._select(self.clip, reg.clip)
        self.clip_value.setText(f"{reg.clip_value:g}")
        self.early.setChecked(cfg.early_stopping.enabled)
        self.monitor.setCurrentText(cfg.early_stopping.monitor)

    def _number(self, edit: QLineEdit, name: str) -> Any:
        text = edit.text().strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}: must be a number, got {text!r}") from None

    def _init_rules(self) -> list[dict[str, Any]]:
        scheme = self.init.currentData()
        if not scheme:
            return []
        types = [t.strip() for t in self.init_types.text().split(",") if t.strip()]
        return [{"layer_types": types, "scheme": scheme, "params": self.init_form.values()}]

    def config_dict(self) -> dict[str, Any]:
        """The widgets' settings over the fields this panel does not show; may be invalid."""
        d = dict(self.base)
        d.update(epochs=self.epochs.value(), batch_size=self.batch.value(),
                 seed=self.seed.value(), device=self.device.currentData())
        d["loss"] = {"name": self.loss.currentData(), "params": self.loss_form.values()}
        d["optimizer"] = {"name": self.optimizer.currentData(),
                          "lr": self._number(self.lr, "learning rate"),
                          "params": self.optimizer_form.values()}
        name = self.scheduler.currentData()
        d["scheduler"] = {"name": name, "params": self.scheduler_form.values()
                          if name else {}}
        d["init"] = self._init_rules()
        d["regularisation"] = {**d.get("regularisation", {}),
                               "l1": self._number(self.l1, "L1") or 0.0,
                               "clip": self.clip.currentData(),
                               "clip_value": self._number(self.clip_value, "clip at") or 1.0}
        d["early_stopping"] = {**d.get("early_stopping", {}),
                               "enabled": self.early.isChecked(),
                               "monitor": self.monitor.currentText(),
                               "patience": self.patience.value()}
        return d

    def config(self) -> TrainConfig | None:
        """A validated TrainConfig, or None with the problem shown in the panel."""
        try:
            cfg = TrainConfig.from_dict(self.config_dict())
        except ConfigError as exc:
            self.problem = str(exc)
            self.show_error(f"Setting not valid: {exc}")
            return None
        self.problem = ""
        return cfg

    def _changed(self, *_args: Any) -> None:
        if self._loading:
            return
        if self.config() is not None:
            self.show_error("")
            self.changed.emit()

    # -- feedback ----------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {line}")

    def show_starting(self, text: str = "Starting: loading the data…") -> None:
        """A run was started: busy until its first batch reports (loading the data can
        take a while)."""
        self.progress.setRange(0, 0)
        self.progress_text.setText(text)

    def show_no_batches(self, text: str) -> None:
        """The run ended before its first batch: the busy bar stops."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_text.setText(text)

    def show_progress(self, epoch: int, epochs: int, batch: int, per_epoch: int,
                      rate: float, eta: float) -> None:
        total = max(1, epochs * per_epoch)
        done = (epoch - 1) * per_epoch + batch
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        self.progress_text.setText(f"epoch {epoch}/{epochs} · batch {batch}/{per_epoch} · "
                                   f"{rate:,.0f} samples/s · ETA {clock(eta)}")
