"""install_training_docks(window): fills the Data, Train and Evaluate modes and drives
the toolbar's run controls.

TrainingDocks is the controller: it keeps the project's "data" and "training" sections
in step with the panels, runs the TrainingWorker, records its events in a RunHistory
(appends only), and redraws the visible plots from a 4 Hz timer when something changed.
The trained model belongs to the network it was trained on: an edit to the network
(other than moving layers) retires it, so "Try the model" and "Save trained weights"
never use weights that no longer match the canvas.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QSplitter, QTabWidget

from app.analysis.health import flags_by_node
from app.analysis.run_history import RunHistory
from app.analysis.run_store import RunStore
from app.core.catalogue import Role
from app.core.graph import Change
from app.core.shapes import Problem, errors
from app.training.config import TrainConfig
from app.training.errors import ConfigError
from app.training.events import RunFailed, RunFinished, RunStarted
from app.ui.learn.saliency_panel import SaliencyPanel
from app.ui.training.data_panel import DataPanel
from app.ui.training.plots.activations import ActivationPanel
from app.ui.training.plots.base import PlotPanel
from app.ui.training.plots.boundary import BoundaryPanel
from app.ui.training.plots.compare import CompareView
from app.ui.training.plots.confusion import ConfusionPanel
from app.ui.training.plots.curves import CurvesPanel
from app.ui.training.plots.grad_norms import GradNormPanel
from app.ui.training.plots.health_view import HealthView
from app.ui.training.plots.histograms import HistogramPanel
from app.ui.training.training_panel import TrainingPanel, clock
from app.ui.training.try_model import TryModelPanel
from app.ui.worker import TrainingWorker

REFRESH_MS = 250  # plots redraw at most 4 times a second, never per event


class TrainingDocks(QObject):
    healthChanged = Signal(dict)  # {node name: message}; {} when all is well
    runEnded = Signal(object)  # RunFinished | RunFailed, after the panels are updated

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.store = RunStore()
        self.run: RunHistory | None = None
        self.worker: TrainingWorker | None = None
        self.trained: Any = None  # the model of the last finished run, while it matches
        self._health: dict[str, str] = {}
        self._started_wall = 0.0
        self._paused_total = 0.0  # seconds paused in this run: not part of the ETA
        self._paused_at: float | None = None
        self._reported: tuple[Any, float] = (None, 0.0)  # last batch report, its clock
        self._build_panels()
        self._build_pages()
        self._build_menu()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        window.session.documentReplaced.connect(self.project_opened)
        window.session.documentChanged.connect(self._network_changed)
        window.session.sectionChanged.connect(self._section_changed)
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
        self.saliency = SaliencyPanel()
        self.plots: list[PlotPanel] = [self.curves, self.histograms, self.grad_norms,
                                       self.activations, self.confusion, self.boundary,
                                       self.health, self.compare]
        # Train mode: how the run goes; Evaluate mode: what the trained network does.
        self.tabs = self._tab_widget([self.curves, self.histograms, self.grad_norms,
                                      self.activations, self.health])
        self.eval_tabs = self._tab_widget([self.confusion, self.try_model, self.saliency,
                                           self.boundary, self.compare])
        self.data_panel.changed.connect(self._data_changed)
        self.data_panel.bundleLoaded.connect(self._data_loaded)
        self.training_panel.changed.connect(self._training_changed)
        self.training_panel.startRequested.connect(self.start)
        self.training_panel.pauseRequested.connect(self.pause)
        self.training_panel.resumeRequested.connect(self.resume)
        self.training_panel.stopRequested.connect(self.stop)

    def _tab_widget(self, panels: list[Any]) -> QTabWidget:
        tabs = QTabWidget()
        for panel in panels:
            tabs.addTab(panel, "Try the model" if panel is self.try_model else panel.title)
        tabs.setUsesScrollButtons(True)  # many tabs must not set the window's width
        tabs.currentChanged.connect(lambda _i: self.refresh())
        return tabs

    def _build_pages(self) -> None:
        """Each mode page gets its panels, then the layout the student left it in."""
        workspace = self.window.workspace
        workspace.page("data").setCentralWidget(self.data_panel)
        train = workspace.page("train")
        self.train_split = QSplitter(Qt.Orientation.Horizontal)
        self.train_split.setObjectName("settings_plots")
        self.train_split.setChildrenCollapsible(False)
        self.train_split.addWidget(self.training_panel)
        self.train_split.addWidget(self.tabs)
        self.train_split.setStretchFactor(1, 1)
        train.setCentralWidget(self.train_split)
        workspace.page("evaluate").setCentralWidget(self.eval_tabs)
        settings = self.window.settings
        if not train.restore_layout(settings):
            width = max(self.training_panel.minimumSizeHint().width(),
                        min(420, int(self.window.width() * 0.3)))
            self.train_split.setSizes([width, max(1, self.window.width() - width)])
        for mode in ("data", "evaluate"):
            workspace.page(mode).restore_layout(settings)

    def _build_menu(self) -> None:
        w = self.window
        self.act_start, self.act_pause, self.act_stop = w.act_train, w.act_pause, w.act_stop
        self.menu = w.training_menu
        self._set_state("idle")

    # -- project sections -------------------------------------------------------------------
    def project_opened(self) -> None:
        project = self.window.project
        if self.running:
            self.finish_run()
        self._retire_model("")
        self.run = None  # the last run's plots belonged to the network just replaced
        for panel in self.plots:
            panel.refresh(None)
        self.data_panel.load_section(project.data)
        if not project.data:
            # A blank network's empty section shows the first source: store it, so what
            # the panel shows is what trains (not an edit: the title's "*" stays off).
            project.data = copy.deepcopy(self.data_panel.section)
        self.training_panel.load_config(project.training)
        self.data_panel.set_loader(self.training_panel.batch.value())
        self.curves.show_plan(self.training_panel.epochs.value())
        self.store.open(getattr(self.window, "path", None))
        self.compare.set_runs(self.store.runs)
        if self.store.error:
            self.training_panel.append_log(self.store.error)

    def _data_changed(self) -> None:
        """A Data-mode edit: one undoable step (the panel re-stating what is stored is
        none)."""
        self.window.session.set_section("data", self.data_panel.section, "Change the data")

    def _training_changed(self) -> None:
        cfg = self.training_panel.config()
        if cfg is not None:
            self.data_panel.set_loader(cfg.batch_size, cfg.drop_last)
            self.curves.show_plan(cfg.epochs)
            if cfg.to_dict() != _normalised(self.window.project.training):
                self.window.session.set_section("training", cfg.to_dict())

    def _data_loaded(self, bundle: Any) -> None:
        source = self.window.project.data.get("source", "the")
        self.window.session.set_data_sample(bundle.input_shape, bundle.input_dtype,
                                            f"the {source} data")

    def _section_changed(self, name: str) -> None:
        """Undo / redo of a section: the panel shows the stored value again."""
        project = self.window.project
        if name == "data" and project.data != self.data_panel.section:
            self.data_panel.load_section(project.data)
        elif name == "training":
            shown = self.training_panel.config()
            if shown is not None and shown.to_dict() == _normalised(project.training):
                return
            self.training_panel.load_config(project.training)
            self.data_panel.set_loader(self.training_panel.batch.value())

    # -- the trained model ------------------------------------------------------------------
    def _network_changed(self, change: Change) -> None:
        if change.kind != "node_moved" and self.trained is not None:
            self._retire_model("The network changed since the last run: train it again to "
                               "try it or to save its weights.")

    def _retire_model(self, why: str) -> None:
        self.trained = None
        self.try_model.set_model(None, None)
        self.saliency.set_model(None, None)
        if why:
            self.try_model.show_message(why)

    def adopt_model(self, model: Any, bundle: Any = None, device: Any = None,
                    eval_steps: list[dict] | None = None) -> None:
        """The network on screen now has these weights (a finished run or loaded ones)."""
        self.trained = model
        bundle = bundle if bundle is not None else self.data_panel.bundle
        self.try_model.set_model(model, bundle, device, eval_steps)
        self.saliency.set_model(model, bundle, device, eval_steps, self.window.project.network)

    # -- run control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _set_state(self, state: str) -> None:
        self.training_panel.set_state(state)
        self.act_start.setEnabled(state == "idle")
        self.act_pause.setEnabled(state in ("running", "paused"))
        self.act_pause.setText("Resume" if state == "paused" else "Pause")
        self.act_stop.setEnabled(state in ("running", "paused"))
        self.window.set_network_locked(state != "idle")
        if state == "paused":
            self._paused_at = time.perf_counter()
        elif self._paused_at is not None:
            self._paused_total += time.perf_counter() - self._paused_at
            self._paused_at = None

    def start(self) -> bool:
        """Start a run with the panels' settings; False (with the reason shown) if not."""
        if self.running or self._refuse_network_errors():
            return False
        config = self.training_panel.config()
        if config is None:
            return False
        run_config = copy.deepcopy(config)
        doc = self.window.session.doc
        data = copy.deepcopy(self.window.project.data)
        self.run = RunHistory(self.store.next_name(), config.to_dict(), data, doc.to_dict())
        self.store.add(self.run)
        self.compare.set_runs(self.store.runs)
        self.health.set_network({n.name: n.type for n in doc.nodes},
                                doc.ends(Role.OUTPUT))
        self._retire_model("")
        self.worker = self._make_worker(doc, data, run_config)
        self.training_panel.show_error("")
        self.training_panel.append_log(f"{self.run.name}: starting ({config.epochs} epochs, "
                                       f"batch {config.batch_size}, {config.optimizer.name})")
        self._started_wall = time.perf_counter()
        self._paused_total, self._paused_at = 0.0, None
        self._reported = (None, 0.0)
        self._set_state("running")
        if self.window.workspace.mode in ("design", "data"):
            self.window.set_mode("train")  # F5, then watch the plots
        self.window.run_progress.setRange(0, 0)  # busy until the first batch reports
        self.window.run_status.setText("loading data…")
        self.training_panel.show_starting()
        self.worker.start()
        self._timer.start()
        return True

    def _refuse_network_errors(self) -> bool:
        """True (with the first error named on the Train page, in the status bar and
        selected in Problems) if the network on the canvas cannot be compiled."""
        session = self.window.session
        if session.pending:
            session.infer_now()
        found = errors(session.problems)
        if not found:
            return False
        message = cannot_train_message(found)
        self.training_panel.show_error(message)
        self.training_panel.progress_text.setText("Not started: the network has errors")
        self.window.statusBar().showMessage(message, 15000)
        if found[0].node:
            self.window.select_node(found[0].node)
        self.window.problems_dock.raise_()
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
        worker.ended.connect(lambda result: self._run_ended(result, worker))
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

    def finish_run(self) -> None:
        """Stop the run and wait for it to end (the network on screen is being replaced)."""
        worker = self.worker
        if worker is None or not worker.isRunning():
            return
        worker.stop_and_wait(self.window.statusBar().showMessage)
        if worker.result is not None:
            self._run_ended(worker.result, worker)  # its queued `ended` is then ignored

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Stop a run and wait for its thread (the window is going away), at most
        `timeout_s`; True when no run is left."""
        if not self.running:
            return True
        self._timer.stop()
        return self.worker.stop_and_wait(self.window.statusBar().showMessage, timeout_s)

    # -- run events ---------------------------------------------------------------------------
    def _run_started(self, event: RunStarted) -> None:
        notes = "".join(f"\nnote: {n}" for n in event.notes)
        self.training_panel.append_log(
            f"training on {event.device}: {event.parameters:,} parameters, "
            f"{event.steps_per_epoch} batches per epoch{notes}")
        if self.run is not None and self.run.last_batch is None:
            self.training_panel.show_starting("Training: the first batch is on its way…")
        self._started_wall = time.perf_counter()
        self._paused_total = 0.0

    def _run_ended(self, result: RunFinished | RunFailed, worker: TrainingWorker) -> None:
        if worker is not self.worker or getattr(worker, "handled", False):
            return  # finish_run() has dealt with it already
        worker.handled = True
        self._timer.stop()
        run = self.run
        if run is not None:
            run.add(result)
        if isinstance(result, RunFailed):
            where = f" (epoch {result.epoch}, batch {result.batch})" if result.epoch else ""
            self.training_panel.show_error(f"Training stopped: {result.reason}{where}")
            self.training_panel.append_log(f"failed: {result.reason}")
        else:
            self.training_panel.append_log(_finished_line(result))
        if worker.model is not None and worker.bundle is not None:
            self.adopt_model(worker.model, worker.bundle, worker.trainer.device,
                             (worker.data or {}).get("eval_transforms")
                             if isinstance(worker.data, dict) else None)
        self._set_state("idle")
        self.refresh(force=True, everything=True)
        if run is None or run.last_batch is None:
            self.training_panel.show_no_batches(
                "Failed before the first batch" if isinstance(result, RunFailed)
                else "Stopped before the first batch")
        self._show_result(result)
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
        for panel in self.plots:
            if everything or panel.isVisible() or panel is self.health:
                panel.refresh(run, force)
        self._emit_health()
        if self.running or everything:  # afterwards the toolbar shows the run's result
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
        clock_now = self._training_clock()
        if b is not self._reported[0]:  # a new report: the rate is measured up to here
            self._reported = (b, clock_now)
        at_report = self._reported[1]
        # the estimate made at the last report, counting down until the next one
        eta = (max(0.0, remaining * at_report / done - (clock_now - at_report))
               if done > 0 else float("nan"))
        self.training_panel.show_progress(b.epoch, s.epochs, b.batch, per, b.samples_per_s,
                                          eta)
        bar = self.window.run_progress
        bar.setRange(0, max(1, s.epochs * per))
        bar.setValue(min(bar.maximum(), (b.epoch - 1) * per + b.batch))
        self.window.run_status.setText(f"epoch {b.epoch}/{s.epochs} · ETA {clock(eta)}")

    def _training_clock(self) -> float:
        """Seconds this run has trained: wall time since the start, pauses excluded."""
        now = time.perf_counter()
        paused = self._paused_total + (now - self._paused_at
                                       if self._paused_at is not None else 0.0)
        return now - self._started_wall - paused

    def _show_result(self, result: RunFinished | RunFailed) -> None:
        """The toolbar's summary of the run that just ended."""
        bar = self.window.run_progress
        if bar.maximum() == 0:
            bar.setRange(0, 1)
        if isinstance(result, RunFailed):
            self.window.run_status.setText("failed: see Train")
            self.window.run_status.setToolTip(result.reason)
            return
        acc = result.metrics.get("val_accuracy", result.metrics.get("train_accuracy"))
        score = f" · acc {acc:.1%}" if isinstance(acc, float) else ""
        self.window.run_status.setText(f"{result.reason}{score}")
        self.window.run_status.setToolTip(_finished_line(result))
        if result.reason == "completed":
            bar.setValue(bar.maximum())


def _normalised(training: dict[str, Any]) -> dict[str, Any] | None:
    """A training section as the panel would write it (None if it is not valid)."""
    try:
        return TrainConfig.from_dict(training).to_dict()
    except ConfigError:
        return None


def cannot_train_message(found: list[Problem]) -> str:
    """One line naming the first error and its node, e.g. "Cannot train: output — has no
    input: connect a layer's output to it (1 error; see Problems)"."""
    first = found[0]
    text = first.message
    if first.node and text.startswith(first.node + " "):
        text = f"{first.node} — {text[len(first.node) + 1:]}"
    count = f"{len(found)} error" + ("s" if len(found) > 1 else "")
    return f"Cannot train: {text} ({count}; see Problems)"


def _finished_line(result: RunFinished) -> str:
    """e.g. "completed after 3 epochs (best: epoch 3): train loss 1.228 · val accuracy
    86.6%"."""
    metrics = " · ".join(
        f"{k.replace('_', ' ')} " + (f"{v:.1%}" if k.endswith("accuracy") else f"{v:.4g}")
        for k, v in result.metrics.items() if isinstance(v, float))
    epochs = f"{result.epochs_done} epoch" + ("" if result.epochs_done == 1 else "s")
    best = f" (best: epoch {result.best_epoch})" if result.best_epoch else ""
    return f"{result.reason} after {epochs}{best}: {metrics}"


def install_training_docks(window: QMainWindow) -> TrainingDocks:
    """Fill the editor window's Data, Train and Evaluate modes and drive its run controls.

    Needs from the window (app.ui.main_window.MainWindow): `session`, `project` (replaced
    on open), `path`, `settings`, `workspace` (the mode pages), the run actions
    `act_train` / `act_pause` / `act_stop` with `run_progress` / `run_status`, the
    `training_menu`, and `set_network_locked(bool)`.
    """
    docks = TrainingDocks(window)
    window.training_docks = docks
    return docks


__all__ = ["TrainingDocks", "clock", "install_training_docks"]
