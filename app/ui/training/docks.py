"""install_training_docks(window): the Data, Training and Plots docks and a Training menu.

TrainingDocks is the controller: it keeps the project's "data" and "training" sections
in step with the panels, runs the TrainingWorker, records its events in a RunHistory
(appends only), and redraws the plots from a 10 Hz timer when something changed.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget, QWidget

from app.training.config import TrainConfig
from app.training.events import RunFailed, RunFinished, RunStarted
from app.ui.training.data_panel import DataPanel
from app.ui.training.evaluation import probe_layers
from app.ui.training.health import flags_by_node
from app.ui.training.plots.activations import ActivationPanel
from app.ui.training.plots.base import PlotPanel
from app.ui.training.plots.boundary import BoundaryPanel
from app.ui.training.plots.compare import CompareView
from app.ui.training.plots.confusion import ConfusionPanel
from app.ui.training.plots.curves import CurvesPanel
from app.ui.training.plots.grad_norms import GradNormPanel
from app.ui.training.plots.health_view import HealthView
from app.ui.training.plots.histograms import HistogramPanel
from app.ui.training.run_history import RunHistory
from app.ui.training.run_store import RunStore
from app.ui.training.training_panel import TrainingPanel, clock
from app.ui.training.try_model import TryModelPanel
from app.ui.worker import TrainingWorker

REFRESH_MS = 250  # plots redraw at most 4 times a second, never per event
STOP_WAIT_MS = 15_000


class TrainingDocks(QObject):
    healthChanged = Signal(dict)  # {node name: message}; {} when all is well
    runEnded = Signal(object)  # RunFinished | RunFailed, after the panels are updated

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.store = RunStore()
        self.run: RunHistory | None = None
        self.worker: TrainingWorker | None = None
        self._health: dict[str, str] = {}
        self._started_wall = 0.0
        self._build_panels()
        self._build_docks()
        self._build_menu()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        window.session.documentReplaced.connect(self.project_opened)
        window.installEventFilter(self)
        self.project_opened()

    # -- construction ---------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.data_panel = DataPanel()
        self.training_panel = TrainingPanel()
        self.curves = CurvesPanel()
        self.histograms = HistogramPanel()
        self.grad_norms = GradNormPanel()
        self.activations = ActivationPanel()
        self.confusion = ConfusionPanel()
        self.boundary = BoundaryPanel()
        self.health = HealthView()
        self.compare = CompareView()
        self.try_model = TryModelPanel()
        self.plots: list[PlotPanel] = [self.curves, self.histograms, self.grad_norms,
                                       self.activations, self.confusion, self.boundary,
                                       self.health, self.compare]
        self.tabs = QTabWidget()
        for panel in self.plots:
            self.tabs.addTab(panel, panel.title)
        self.tabs.addTab(self.try_model, "Try the model")
        self.tabs.currentChanged.connect(lambda _i: self.refresh(force=True))
        # Tabbed with the Summary under the canvas: the plots' own minimum would take half
        # the window from the network before any training has happened.
        self.tabs.setMinimumHeight(140)
        self.tabs.setUsesScrollButtons(True)  # nine tabs must not set the window's width
        self.data_panel.changed.connect(self._data_changed)
        self.training_panel.changed.connect(self._training_changed)
        self.training_panel.startRequested.connect(self.start)
        self.training_panel.pauseRequested.connect(self.pause)
        self.training_panel.resumeRequested.connect(self.resume)
        self.training_panel.stopRequested.connect(self.stop)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(title.lower().replace(" ", "_") + "_dock")
        dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.data_dock = self._dock("Data", self.data_panel, right)
        self.training_dock = self._dock("Training", self.training_panel, right)
        self.plots_dock = self._dock("Plots", self.tabs, Qt.DockWidgetArea.BottomDockWidgetArea)
        anchor = getattr(self.window, "history_dock", None)
        if anchor is not None:
            self.window.tabifyDockWidget(anchor, self.data_dock)
        self.window.tabifyDockWidget(self.data_dock, self.training_dock)
        summary = getattr(self.window, "summary_dock", None)
        if summary is not None:
            self.window.tabifyDockWidget(summary, self.plots_dock)

    def _build_menu(self) -> None:
        w = self.window
        self.act_start = QAction("&Start Training", w)
        self.act_start.setShortcut(QKeySequence("F5"))
        self.act_start.triggered.connect(self.start)
        self.act_pause = QAction("&Pause / Resume", w)
        self.act_pause.setShortcut(QKeySequence("F6"))
        self.act_pause.triggered.connect(self.toggle_pause)
        self.act_stop = QAction("S&top Training", w)
        self.act_stop.setShortcut(QKeySequence("Shift+F5"))
        self.act_stop.triggered.connect(self.stop)
        menu = w.menuBar().addMenu("&Training")
        help_action = next((a for a in w.menuBar().actions()
                            if a.text().replace("&", "") == "Help"), None)
        if help_action is not None:  # keep Help last, where people look for it
            w.menuBar().insertMenu(help_action, menu)
        menu.addActions([self.act_start, self.act_pause, self.act_stop])
        menu.addSeparator()
        for dock in (self.data_dock, self.training_dock, self.plots_dock):
            menu.addAction(dock.toggleViewAction())
        self.menu = menu
        self._set_state("idle")

    # -- project sections -------------------------------------------------------------------
    def project_opened(self) -> None:
        project = self.window.project
        if self.running:
            self.stop()
        self.data_panel.load_section(project.data)
        self.training_panel.load_config(project.training)
        self.data_panel.set_loader(self.training_panel.batch.value())
        self.store.open(getattr(self.window, "path", None))
        self.compare.set_runs(self.store.runs)
        if self.store.error:
            self.training_panel.append_log(self.store.error)

    def _mark_modified(self) -> None:
        # Settings are not undoable edits, but they are unsaved changes: the title's "*"
        # and the autosaver both read the undo stack's clean state.
        self.window.session.stack.resetClean()

    def _data_changed(self) -> None:
        self.window.project.data = copy.deepcopy(self.data_panel.section)
        self._mark_modified()

    def _training_changed(self) -> None:
        cfg = self.training_panel.config()
        if cfg is not None:
            self.window.project.training = cfg.to_dict()
            self.data_panel.set_loader(cfg.batch_size, cfg.drop_last)
            self._mark_modified()

    # -- run control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _set_state(self, state: str) -> None:
        self.training_panel.set_state(state)
        self.act_start.setEnabled(state == "idle")
        self.act_pause.setEnabled(state in ("running", "paused"))
        self.act_stop.setEnabled(state in ("running", "paused"))

    def start(self) -> bool:
        """Start a run with the panels' settings; False (with the reason shown) if not."""
        if self.running:
            return False
        config = self.training_panel.config()
        if config is None:
            return False
        run_config = copy.deepcopy(config)
        doc = self.window.session.doc
        if run_config.probes.activation_layers is None:
            run_config.probes.activation_layers = probe_layers(doc)
        data = copy.deepcopy(self.window.project.data)
        self.run = RunHistory(self.store.next_name(), config.to_dict(), data, doc.to_dict())
        self.store.add(self.run)
        self.compare.set_runs(self.store.runs)
        self.health.set_network({n.name: n.type for n in doc.nodes},
                                [n.name for n in doc.nodes if n.type == "Output"])
        self.try_model.set_model(None, None)
        self.worker = self._make_worker(doc, data, run_config)
        self.training_panel.show_error("")
        self.training_panel.append_log(f"{self.run.name}: starting ({config.epochs} epochs, "
                                       f"batch {config.batch_size}, {config.optimizer.name})")
        self._started_wall = time.perf_counter()
        self._set_state("running")
        self.plots_dock.raise_()
        self.training_dock.raise_()
        self.worker.start()
        self._timer.start()
        return True

    def _make_worker(self, doc: Any, data: dict, config: TrainConfig) -> TrainingWorker:
        worker = TrainingWorker(doc, data, config,
                                snapshots_per_epoch=self.training_panel.snapshots.value())
        run = self.run
        for signal in (worker.runStarted, worker.batchEnded, worker.epochEnded,
                       worker.snapshotTaken):
            signal.connect(run.add)  # append only; drawing waits for the timer
        worker.evaluated.connect(run.set_evaluation)
        worker.status.connect(self.training_panel.append_log)
        worker.dataReady.connect(lambda bundle: setattr(run, "class_names",
                                                        bundle.class_names))
        worker.runStarted.connect(self._run_started)
        worker.ended.connect(self._run_ended)
        return worker

    def pause(self) -> None:
        if self.running:
            self.worker.pause()
            self._set_state("paused")
            self.training_panel.append_log("paused")

    def resume(self) -> None:
        if self.running:
            self.worker.resume()
            self._set_state("running")
            self.training_panel.append_log("resumed")

    def toggle_pause(self) -> None:
        (self.resume if self.training_panel.state == "paused" else self.pause)()

    def stop(self) -> None:
        if self.running:
            self.worker.stop()
            self._set_state("stopping")
            self.training_panel.append_log("stopping after the current batch…")

    def shutdown(self) -> None:
        """Stop a run and wait for its thread (the window is going away)."""
        if self.running:
            self.worker.stop()
            self.worker.wait(STOP_WAIT_MS)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Close:
            # the close may still be refused (unsaved changes): check once it settled
            QTimer.singleShot(0, lambda: None if self.window.isVisible() else self.shutdown())
        return False

    # -- run events ---------------------------------------------------------------------------
    def _run_started(self, event: RunStarted) -> None:
        notes = "".join(f"\nnote: {n}" for n in event.notes)
        self.training_panel.append_log(
            f"training on {event.device}: {event.parameters:,} parameters, "
            f"{event.steps_per_epoch} batches per epoch{notes}")
        self._started_wall = time.perf_counter()

    def _run_ended(self, result: RunFinished | RunFailed) -> None:
        self._timer.stop()
        run, worker = self.run, self.worker
        if run is not None:
            run.add(result)
        if isinstance(result, RunFailed):
            where = f" (epoch {result.epoch}, batch {result.batch})" if result.epoch else ""
            self.training_panel.show_error(f"Training stopped: {result.reason}{where}")
            self.training_panel.append_log(f"failed: {result.reason}")
        else:
            self.training_panel.append_log(_finished_line(result))
        if worker is not None and worker.model is not None and worker.bundle is not None:
            self.try_model.set_model(worker.model, worker.bundle, worker.trainer.device,
                                     (worker.data or {}).get("eval_transforms")
                                     if isinstance(worker.data, dict) else None)
        self._set_state("idle")
        self.refresh(force=True, everything=True)
        self.compare.set_runs(self.store.runs)
        self.store.save(getattr(self.window, "path", None))
        self.runEnded.emit(result)

    # -- drawing ------------------------------------------------------------------------------
    def refresh(self, force: bool = False, everything: bool = False) -> None:
        """Redraw the visible plot (all of them when `everything`), the health checks and
        the progress line, if the run changed since the last time."""
        run = self.run
        if run is None:
            return
        current = self.tabs.currentWidget()
        for panel in self.plots:
            if everything or panel is current or panel is self.health:
                panel.refresh(run, force)
        self._emit_health()
        self._show_progress(run)

    def _emit_health(self) -> None:
        flags = flags_by_node(self.health.flags)
        if flags != self._health:
            self._health = flags
            self.healthChanged.emit(flags)

    def _show_progress(self, run: RunHistory) -> None:
        b, s = run.last_batch, run.started
        if b is None or s is None:
            return
        per = max(1, s.steps_per_epoch)
        done = (b.epoch - 1) * per + b.batch - s.start_epoch * per
        remaining = s.epochs * per - (b.epoch - 1) * per - b.batch
        elapsed = time.perf_counter() - self._started_wall
        eta = remaining * elapsed / done if done > 0 else float("nan")
        self.training_panel.show_progress(b.epoch, s.epochs, b.batch, per, b.samples_per_s,
                                          eta)


def _finished_line(result: RunFinished) -> str:
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()
                        if isinstance(v, float))
    best = f", best epoch {result.best_epoch}" if result.best_epoch else ""
    return f"{result.reason} after {result.epochs_done} epochs{best}: {metrics}"


def install_training_docks(window: QMainWindow) -> TrainingDocks:
    """Add the Data, Training and Plots docks and the Training menu to the editor window.

    Needs from the window: `session` (EditorSession: .doc, .stack, documentReplaced),
    `project` (Project with .data and .training dicts, replaced on open), `path` (the
    project file or None), and optionally `history_dock` / `summary_dock` to tab beside.
    """
    docks = TrainingDocks(window)
    window.training_docks = docks
    return docks


__all__ = ["TrainingDocks", "clock", "install_training_docks"]
