"""The editor window: four whole-window modes (Design, Data, Train, Evaluate; see
app.ui.modes), one toolbar with the mode switch and the run controls, and the menus.

Design mode holds the canvas and the docks for palette, inspector, problems, summary,
code and undo history; the other modes are filled by app.ui.training.docks once the
training tools have loaded. The window wires views to the session and turns menu
actions into commands; it holds no network state of its own beyond the open file's
path and project sections.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, QPointF, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QStyle,
    QToolBar,
    QUndoView,
    QWidget,
)

from app.core.catalogue import CATALOGUE
from app.core.graph import NetworkDocument
from app.core.layout import layered_layout
from app.core.project import Project, ProjectError, load_project, save_project
from app.core.templates import blank_project, get_template
from app.ui import theme
from app.ui.autosave import Autosaver, Recovery, default_dir, find_recoveries, recovery_for
from app.ui.background import join_background_jobs, run_in_background
from app.ui.canvas import clipboard, context_menus
from app.ui.canvas.scene import CanvasScene
from app.ui.canvas.view import CanvasView
from app.ui.commands import (
    AddNodeCommand,
    MoveNodesCommand,
    SetSectionCommand,
    append_layer_command,
    delete_command,
    fix_command,
    free_spot,
    paste_command,
)
from app.ui.modes import MODES, Workspace, placeholder
from app.ui.panels.code_view import CodeViewPanel
from app.ui.panels.inspector import InspectorPanel
from app.ui.panels.palette import PalettePanel
from app.ui.panels.problems import ProblemsPanel
from app.ui.panels.summary import SummaryPanel
from app.ui.session import EditorSession

if TYPE_CHECKING:
    from app.ui.training.docks import TrainingDocks

FILE_FILTER = "TorchCanvas projects (*.torchcanvas *.json);;All files (*)"
SUFFIX = ".torchcanvas"
MAX_RECENT = 8
PALETTE_NAME_MARGIN = 60  # margins, the tree's indentation and its scroll bar
CLOSE_WAIT_S = 10.0  # the longest quitting waits (repainting) for a training batch to end
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def import_training_modules() -> None:
    """torch takes seconds to import; the editor does not need it, so it loads on a pool
    thread after the window appears (no widgets are made). torchvision's transforms come
    too: the Data mode's augmentation preview builds a pipeline as soon as it exists, and
    importing them there froze the window for seconds (1.8 s on 2 cores, longer while a
    run loads its data). scikit-learn loads when a data set needs it (app.core.lazy)."""
    for module in ("torch", "app.training.trainer", "app.data.sources", "app.data.augment",
                   "torchvision.transforms.v2"):
        importlib.import_module(module)


class MainWindow(QMainWindow):
    trainingReady = Signal()  # the Data, Train and Evaluate modes have their panels

    def __init__(self, settings: QSettings | None = None, autosave_dir: Path | None = None,
                 training: bool = True) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.session = EditorSession(parent=self)
        self.path: str | None = None
        self.training_docks: TrainingDocks | None = None
        self.training_enabled = training
        self._training_loading = False  # the import starts once the window shows
        self._start_queued = False  # F5 pressed before the training tools were ready
        self.getting_started: QWidget | None = None  # the Getting Started page, when shown
        self._closing = False  # the student agreed to close; a deferred close does not ask
        self.workspace = Workspace()
        self.setCentralWidget(self.workspace)
        self._build_canvas()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self.context_menus = context_menus.install(self)
        self.autosaver = Autosaver(autosave_dir or default_dir(), self._snapshot,
                                   lambda: not self.session.stack.isClean(), self)
        self._restore_settings()
        self._update_title()

    @property
    def project(self) -> Project:
        """The open project: the session's, the one document every panel edits."""
        return self.session.project

    # -- construction ------------------------------------------------------------------------
    @property
    def design_page(self) -> QMainWindow:
        return self.workspace.page("design")

    def _build_canvas(self) -> None:
        self.scene = CanvasScene(self.session)
        self.scene.setParent(self)
        self.view = CanvasView(self.scene)
        self.design_page.setCentralWidget(self.view)
        waiting = ("The training tools are loading (a few seconds after start-up); "
                   "this mode appears as soon as they are ready.")
        for mode in ("data", "train", "evaluate"):
            self.workspace.page(mode).setCentralWidget(placeholder(waiting))

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        return self.design_page.add_dock(title, widget, area)

    def _build_docks(self) -> None:
        self.palette = PalettePanel()
        self.inspector = InspectorPanel(self.session)
        self.problems = ProblemsPanel(self.session)
        self.summary = SummaryPanel(self.session)
        self.code_view = CodeViewPanel(self.session)
        self.history = QUndoView(self.session.stack)
        self.history.setEmptyLabel("Opened network")
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        page = self.design_page
        self.palette_dock = self._dock("Layers", self.palette, left)
        # A restored layout from a smaller screen must not squeeze the layer names away. Long
        # class names have a short catalogue label, so the widest name stays about
        # MultiheadAttention's and the canvas keeps its width on a 1366-pixel laptop.
        metrics = self.palette.fontMetrics()
        widest = max(metrics.horizontalAdvance(s.palette_name) for s in CATALOGUE.values())
        self.palette.setMinimumWidth(widest + PALETTE_NAME_MARGIN)
        # Everything else in one column on the right: the canvas keeps the full height,
        # which a 768-pixel screen needs to show a 14-layer network at a legible zoom.
        self.inspector_dock = self._dock("Inspector", self.inspector, right)
        self.code_dock = self._dock("Code", self.code_view, right)
        self.history_dock = self._dock("History", self.history, right)
        self.problems_dock = self._dock("Problems", self.problems, right)
        self.summary_dock = self._dock("Summary", self.summary, right)
        page.splitDockWidget(self.inspector_dock, self.problems_dock, Qt.Orientation.Vertical)
        page.tabifyDockWidget(self.inspector_dock, self.code_dock)
        page.tabifyDockWidget(self.code_dock, self.history_dock)
        page.tabifyDockWidget(self.problems_dock, self.summary_dock)
        self.inspector_dock.raise_()
        self.summary_dock.raise_()  # the table is the richer first view; Problems shows a count
        self._default_sizes_pending = True

    def _default_dock_sizes(self) -> None:
        """Only meaningful once the window has its size, hence called from showEvent."""
        page = self.design_page
        right = min(440, max(340, int(self.width() * 0.29)))
        page.resizeDocks([self.palette_dock, self.inspector_dock], [190, right],
                         Qt.Orientation.Horizontal)
        page.resizeDocks([self.inspector_dock, self.problems_dock],
                         [self.height() * 3 // 5, self.height() * 2 // 5],
                         Qt.Orientation.Vertical)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._default_sizes_pending:
            self._default_sizes_pending = False
            self.design_page.restore_on_show(self.settings, self._default_dock_sizes)
        self.load_training_tools()

    def load_training_tools(self) -> None:
        """Import torch & co. on a pool thread, then fill the Data, Train and Evaluate
        modes; F5 pressed meanwhile is queued (see train())."""
        if self.training_docks is None and self.training_enabled and not self._training_loading:
            self._training_loading = True
            run_in_background(import_training_modules, self._install_training,
                              self._training_failed, owner=self)

    def _training_failed(self, message: str) -> None:
        self._training_loading = False
        self._start_queued = False
        self.act_train.setText("Train")
        self.act_train.setEnabled(False)
        self.show_error(f"The training tools could not be loaded: {message}")

    def _install_training(self, _: object = None) -> None:
        """The Data, Train and Evaluate modes, once torch & co. are imported (showEvent)."""
        from app.ui.training.docks import install_training_docks

        self.training_docks = install_training_docks(self)
        self.training_docks.healthChanged.connect(self.scene.show_health)
        self.act_train.setText("Train")
        self.act_train.setToolTip("Train the network on the chosen data (F5)")
        for action in (self.act_save_weights, self.act_load_weights):
            action.setEnabled(True)
        self.trainingReady.emit()
        if self._start_queued:
            self._start_queued = False
            self.train()

    # -- run controls (the toolbar's Train / Pause / Stop) ------------------------------------
    def train(self) -> bool:
        """F5: start a run now, or as soon as the training tools have loaded."""
        self._close_getting_started()  # the student knows what to do: no page over the run
        if self.training_docks is None:
            if self.training_enabled:
                self._start_queued = True
                self.statusBar().showMessage(
                    "Training starts as soon as the training tools have loaded…", 8000)
                self.load_training_tools()
            return False
        return self.training_docks.start()

    def toggle_pause(self) -> None:
        if self.training_docks is not None:
            self.training_docks.toggle_pause()

    def stop_training(self) -> None:
        if self.training_docks is not None:
            self.training_docks.stop()

    @property
    def run_active(self) -> bool:
        return self.training_docks is not None and self.training_docks.running

    @property
    def run_starting(self) -> bool:
        """A run is queued (F5 before the training tools loaded) or under way."""
        return self._start_queued or self.run_active

    def set_mode(self, mode: str) -> None:
        self.workspace.set_mode(mode)

    def _mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)
        self.zoom_status.setVisible(mode == "design")  # the canvas zoom means nothing elsewhere
        if self.training_docks is not None:
            self.training_docks.refresh(force=True)

    def _action(self, text: str, slot: object, shortcut: object = None, tip: str = ""
                ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')}"
                          + (f" ({action.shortcut().toString()})" if shortcut else ""))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        a = self._action
        self.act_new = a("&New from Template…", self.new_from_template, K.New)
        self.act_blank = a("New &Blank Network", self.new_blank, "Ctrl+Shift+N")
        self.act_open = a("&Open…", self.open_dialog, K.Open)
        self.act_import = a("&Import Model…", self.import_model, None,
                            "A torchvision model, or a model class in a .py file, "
                            "as a new network")
        self.act_save = a("&Save", self.save, K.Save)
        self.act_save_as = a("Save &As…", self.save_as, K.SaveAs)
        self.act_export = a("&Export PyTorch Code…", self.export_dialog, "Ctrl+E",
                            "Write the network as a .py file, optionally with a training "
                            "script and the trained weights")
        self.act_export_onnx = a("Export &ONNX…", self.export_onnx, None,
                                 "Write the network (with the trained weights, if any) as an "
                                 ".onnx file for other frameworks and runtimes")
        self.act_export_diagram = a("Export &Diagram…", self.export_diagram, None,
                                    "Save the canvas as an SVG drawing or a PNG picture")
        self.act_save_weights = a("Save Trained &Weights…", self.save_weights, None,
                                  "Save the last run's weights (a state_dict that loads "
                                  "into the exported build_model())")
        self.act_load_weights = a("&Load Weights…", self.load_weights, None,
                                  "Load a state_dict into the network on screen")
        self.act_finetune = a("&Fine-tune Pretrained…", self.finetune, None,
                              "Start from torchvision's published weights or a .pth file: "
                              "new head for your classes, frozen blocks, head learning rate")
        for action in (self.act_save_weights, self.act_load_weights):
            action.setEnabled(False)  # until the training tools have loaded
        self.act_quit = a("&Quit", self.close, K.Quit)
        self.act_undo = self.session.stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(K.Undo))
        self.act_redo = self.session.stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Y")])
        self.act_cut = a("Cu&t", self.cut, K.Cut)
        self.act_copy = a("&Copy", self.copy, K.Copy)
        self.act_paste = a("&Paste", self.paste, K.Paste)
        self.act_duplicate = a("D&uplicate", self.duplicate, "Ctrl+D")
        self.act_delete = a("&Delete", self.delete_selection, K.Delete)
        self.act_delete.setShortcuts([QKeySequence(K.Delete), QKeySequence("Backspace")])
        self.act_select_all = a("Select &All", self.select_all, K.SelectAll)
        self.act_rename = a("&Rename Layer", self.rename_selected, "F2")
        self.act_find = a("&Find Layer in Palette", self.palette.focus_search, K.Find)
        self.act_zoom_in = a("Zoom &In", lambda: self.view.zoom_by(1.25), K.ZoomIn)
        self.act_zoom_out = a("Zoom &Out", lambda: self.view.zoom_by(0.8), K.ZoomOut)
        self.act_zoom_reset = a("&Actual Size", lambda: self.view.set_zoom(1.0), "Ctrl+1")
        self.act_fit = a("&Fit Network to Window", self.view.fit_all, "Ctrl+0")
        self.act_layout = a("Automatic &Layout", self.auto_layout, "Ctrl+L",
                            "Arrange the layers top to bottom in the order data flows")
        self.act_snap = a("&Snap to Grid", self._toggle_snap)
        self.act_snap.setCheckable(True)
        self.act_snap.setChecked(True)
        for action in (self.act_undo, self.act_redo):
            action.setToolTip(f"{action.text().replace('&', '')} "
                              f"({action.shortcut().toString()})")
        self.act_getting_started = a("&Getting Started", self.show_getting_started)
        self.act_about = a("&About TorchCanvas", self.show_about)
        self._build_run_actions()
        self._build_mode_actions()
        self.addActions([self.act_delete, self.act_duplicate, self.act_select_all,
                         self.act_fit, self.act_layout, self.act_train, self.act_pause,
                         self.act_stop])

    def _build_run_actions(self) -> None:
        a = self._action
        self.act_train = a("Loading training tools…" if self.training_enabled else "Train",
                           self.train, "F5",
                           "Train the network on the chosen data; pressed while the "
                           "training tools load, the run starts as soon as they are ready")
        self.act_pause = a("Pause", self.toggle_pause, "F6", "Pause or resume the run")
        self.act_stop = a("Stop", self.stop_training, "Shift+F5",
                          "Stop the run after the current batch")
        self.act_train.setEnabled(self.training_enabled)
        self.act_pause.setEnabled(False)
        self.act_stop.setEnabled(False)
        self.run_progress = QProgressBar()
        self.run_progress.setFixedWidth(130)
        self.run_progress.setRange(0, 1)
        self.run_progress.setValue(0)
        self.run_progress.setFormat("%p%")
        self.run_progress.setToolTip("Progress of the current run")
        self.run_status = QLabel("not trained yet")
        self.run_status.setToolTip("Epoch and time left of the current run")
        self.run_status.setSizePolicy(QSizePolicy.Policy.Ignored,
                                      QSizePolicy.Policy.Preferred)
        self.run_status.setMinimumWidth(150)

    def _build_mode_actions(self) -> None:
        group = QActionGroup(self)
        self.mode_actions: dict[str, QAction] = {}
        for mode in MODES.values():
            action = self._action(mode.title, lambda m=mode.id: self.set_mode(m),
                                  mode.shortcut, mode.tip)
            action.setCheckable(True)
            group.addAction(action)
            self.mode_actions[mode.id] = action
        self.mode_actions["design"].setChecked(True)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.act_new, self.act_blank, self.act_open, self.act_import])
        self.recent_menu = file.addMenu("Open &Recent")
        file.addSeparator()
        file.addActions([self.act_save, self.act_save_as, self.act_export,
                         self.act_export_onnx, self.act_export_diagram])
        file.addSeparator()
        file.addActions([self.act_save_weights, self.act_load_weights, self.act_finetune])
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                         self.act_delete, self.act_select_all])
        edit.addSeparator()
        edit.addActions([self.act_rename, self.act_find])
        view = bar.addMenu("&View")
        view.addActions(list(self.mode_actions.values()))
        view.addSeparator()
        view.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset,
                         self.act_fit])
        view.addSeparator()
        view.addActions([self.act_layout, self.act_snap])
        view.addSeparator()
        self._add_theme_menu(view)
        self.panels_menu = view.addMenu("&Panels")
        for dock in (self.palette_dock, self.inspector_dock, self.code_dock, self.history_dock,
                     self.problems_dock, self.summary_dock):
            self.panels_menu.addAction(dock.toggleViewAction())
        self.training_menu = bar.addMenu("&Training")
        self.training_menu.addActions([self.act_train, self.act_pause, self.act_stop])
        from app.ui.learn.menu import install_learn_menu

        self.learn_actions = install_learn_menu(self, bar.addMenu("&Learn"))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_getting_started)
        help_menu.addAction(self._action("&Keyboard and Mouse", self.show_help,
                                         QKeySequence.StandardKey.HelpContents))
        help_menu.addSeparator()
        help_menu.addAction(self.act_about)
        self._build_toolbar()
        self._refresh_recent_menu()

    def _add_theme_menu(self, menu: object) -> None:
        themes = menu.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for name in theme.THEMES:
            action = QAction(name.capitalize(), self, checkable=True)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            group.addAction(action)
            themes.addAction(action)
            self.theme_actions[name] = action

    def _set_icons(self) -> None:
        """Freedesktop theme icons where the platform has them, Qt's own otherwise."""
        sp = QStyle.StandardPixmap
        icons = {self.act_new: ("document-new", sp.SP_FileDialogNewFolder),
                 self.act_open: ("document-open", sp.SP_DialogOpenButton),
                 self.act_save: ("document-save", sp.SP_DialogSaveButton),
                 self.act_undo: ("edit-undo", sp.SP_ArrowBack),
                 self.act_redo: ("edit-redo", sp.SP_ArrowForward),
                 self.act_layout: ("view-sort", sp.SP_FileDialogDetailedView),
                 self.act_fit: ("zoom-fit-best", sp.SP_TitleBarMaxButton),
                 self.act_export: ("document-export", sp.SP_DialogApplyButton),
                 self.act_train: ("media-playback-start", sp.SP_MediaPlay),
                 self.act_pause: ("media-playback-pause", sp.SP_MediaPause),
                 self.act_stop: ("media-playback-stop", sp.SP_MediaStop)}
        for action, (name, fallback) in icons.items():
            action.setIcon(QIcon.fromTheme(name, self.style().standardIcon(fallback)))

    def _build_toolbar(self) -> None:
        """One row that fits 1280 pixels: file and edit icons, the modes, the run controls
        with progress and ETA -- the same in every mode."""
        self._set_icons()
        tools = QToolBar("Main", self)
        tools.setObjectName("main_toolbar")
        tools.setMovable(False)
        tools.setFloatable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(tools)
        tools.addActions([self.act_new, self.act_open, self.act_save])
        tools.addSeparator()
        tools.addActions([self.act_undo, self.act_redo])
        tools.addSeparator()
        # Words, not icons: no stock icon says "auto layout" or "export code" to a newcomer.
        for action, text in ((self.act_layout, "Layout"), (self.act_fit, "Fit"),
                             (self.act_export, "Export .py")):
            action.setIconText(text)
            tools.addAction(action)
            tools.widgetForAction(action).setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonTextOnly)
        tools.addSeparator()
        for action in self.mode_actions.values():
            tools.addAction(action)
            button = tools.widgetForAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setObjectName(f"mode_{action.text().lower()}")
        tools.addSeparator()
        for action in (self.act_train, self.act_pause, self.act_stop):
            tools.addAction(action)
            tools.widgetForAction(action).setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.addWidget(self.run_progress)
        tools.addWidget(self.run_status)
        self.toolbar = tools

    def _build_status_bar(self) -> None:
        self.problem_status = QLabel()
        self.zoom_status = QLabel("100%")
        self.statusBar().addPermanentWidget(self.problem_status)
        self.statusBar().addPermanentWidget(self.zoom_status)

    def _connect(self) -> None:
        s = self.session
        s.errorReported.connect(self.show_error)
        s.guard = self._edit_guard
        s.messageReported.connect(self.show_error)
        self.code_view.exportRequested.connect(self.export_dialog)
        s.stack.cleanChanged.connect(self._clean_changed)
        self.workspace.modeChanged.connect(self._mode_changed)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.nodeActivated.connect(self._node_activated)
        self.view.layerDropped.connect(self.add_layer)
        self.view.zoomChanged.connect(lambda z: self.zoom_status.setText(f"{z * 100:.0f}%"))
        self.palette.layerActivated.connect(self.append_layer)
        self.problems.nodeSelected.connect(self.select_node)
        self.problems.fixRequested.connect(self.apply_fix)
        self.problems.countChanged.connect(self._show_counts)
        self.inspector.fixRequested.connect(self.apply_fix)

    # -- settings and theme ------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.set_theme(str(self.settings.value("theme", "light")))
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            area = screen.availableGeometry() if screen else None
            if area is not None and area.width() <= 1700:
                self.setGeometry(area)  # small screens: use all of it
            else:
                self.resize(1600, 1000)
        mode = str(self.settings.value("mode", "design"))
        self.workspace.set_mode(mode if mode in MODES else "design")

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.workspace.save_layouts(self.settings)
        self.settings.setValue("theme", theme.current().name)
        self.settings.sync()

    def set_theme(self, name: str) -> None:
        t = theme.apply_theme(name)
        if name in getattr(self, "theme_actions", {}):
            self.theme_actions[t.name].setChecked(True)
        self.code_view.highlighter.set_theme(t)
        self.scene.update()
        self.view.viewport().update()
        self.problems.refresh()
        self.inspector.show_node(self.inspector.node)

    def _toggle_snap(self) -> None:
        self.scene.snap_to_grid = self.act_snap.isChecked()

    # -- feedback ----------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def _show_counts(self, errors: int, warnings: int, steps: int) -> None:
        t = theme.current()
        if errors:
            text = f"<span style='color:{t.error}'>● {errors} error(s)</span>"
        elif steps:
            text = f"<span style='color:{t.accent}'>➜ {steps} step(s) to do</span>"
        else:
            text = f"<span style='color:{t.ok}'>● shapes OK</span>"
        if warnings:
            text += f" &nbsp;<span style='color:{t.warning}'>{warnings} warning(s)</span>"
        self.problem_status.setText(text)
        shown = errors + warnings + steps
        self.problems_dock.setWindowTitle(f"Problems ({shown})" if shown else "Problems")

    def _clean_changed(self, _clean: bool) -> None:
        # The undo stack outlives the window by a moment at teardown and may still report.
        if shiboken6.isValid(self):
            self._update_title()

    def _update_title(self) -> None:
        name = Path(self.path).name if self.path else self.project.name
        self.setWindowTitle(f"{name}[*] — TorchCanvas")
        self.setWindowModified(not self.session.stack.isClean())

    def show_help(self) -> None:
        QMessageBox.information(self, "Keyboard and mouse", HELP_TEXT)

    def show_getting_started(self) -> None:
        from app.ui.welcome import GettingStarted

        page = GettingStarted(self)
        page.templateChosen.connect(self._start_from_template)
        page.show()
        self.getting_started = page

    def _close_getting_started(self) -> None:
        if self.getting_started is not None and shiboken6.isValid(self.getting_started):
            self.getting_started.close()

    def _start_from_template(self, template_id: str) -> None:
        if self.confirm_discard() and self.confirm_stop_run():
            self.open_template(template_id)
            self.set_mode("design")

    def show_about(self) -> None:
        from app.ui.welcome import about_text

        QMessageBox.about(self, "About TorchCanvas", about_text())

    # -- selection ---------------------------------------------------------------------------
    def _selection_changed(self) -> None:
        if not shiboken6.isValid(self.scene):
            return  # the window is being destroyed and the scene with it
        names = self.scene.selected_nodes()
        self.inspector.show_node(names[0] if len(names) == 1 else None)
        if len(names) == 1:
            self.inspector_dock.raise_()

    def _node_activated(self, name: str) -> None:
        self.select_node(name)
        self.inspector.focus_name()

    def select_node(self, name: str) -> None:
        self.scene.select_nodes([name])
        self.view.centre_on_node(name)

    def select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))

    def rename_selected(self) -> None:
        names = self.scene.selected_nodes()
        if len(names) == 1:
            self.inspector_dock.raise_()
            self.inspector.focus_name()

    # -- edits -------------------------------------------------------------------------------
    def add_layer(self, layer_type: str, pos: QPointF) -> None:
        command = AddNodeCommand(self.session, layer_type,
                                 pos=free_spot(self.session.doc, (pos.x(), pos.y())))
        if self.session.push(command):
            self.scene.select_nodes([command.name])

    def append_layer(self, layer_type: str) -> None:
        """Palette double-click: below the selected layer and wired to it, else mid-view."""
        selected = self.scene.selected_nodes()
        after = selected[0] if len(selected) == 1 else None
        if after is not None:
            x, y = self.session.doc.node(after).pos
            pos = (x, y + 110.0)
        else:
            spot = self.view.free_spot()
            pos = (spot.x(), spot.y())
        command = append_layer_command(self.session, layer_type, after, pos)
        if self.session.push(command):
            self.scene.select_nodes([command.children[0].name])
            self.view.centre_on_node(command.children[0].name)

    def delete_selection(self) -> None:
        nodes, edges = self.scene.selected_nodes(), self.scene.selected_edges()
        if nodes or edges:
            self.session.push(delete_command(self.session, nodes, edges))

    def copy(self) -> None:
        names = self.scene.selected_nodes()
        if names:
            payload = clipboard.selection_payload(self.session.doc, names)
            QGuiApplication.clipboard().setMimeData(clipboard.to_mime(payload))

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def paste(self) -> None:
        payload = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        if payload is None:
            self.show_error("The clipboard holds no TorchCanvas layers to paste")
            return
        self._paste(payload)

    def duplicate(self) -> None:
        names = self.scene.selected_nodes()
        if names:
            self._paste(clipboard.selection_payload(self.session.doc, names))

    def _paste(self, payload: dict) -> None:
        """Copies go beside the originals, in free space (commands.free_offset)."""
        command, names = paste_command(self.session, payload)
        if self.session.push(command):
            self.scene.select_nodes(names)

    def apply_fix(self, fix: object) -> None:
        self.session.push(fix_command(self.session, fix))

    def auto_layout(self) -> None:
        doc = self.session.doc
        if not doc.nodes:
            return
        first = min(doc.nodes, key=lambda n: (n.pos[1], n.pos[0]))
        target = layered_layout(doc, (0.0, 0.0))
        shift = (first.pos[0] - target[first.name][0], first.pos[1] - target[first.name][1])
        moves = {n.name: (n.pos, (target[n.name][0] + shift[0], target[n.name][1] + shift[1]))
                 for n in doc.nodes}
        moves = {n: m for n, m in moves.items() if m[0] != m[1]}
        if moves:
            self.session.push(MoveNodesCommand(self.session, moves, "Automatic layout"))
        self.view.fit_all()

    # -- files -------------------------------------------------------------------------------
    def ask_unsaved(self) -> str:
        """SAVE, DISCARD or CANCEL; tests replace this to avoid a modal dialog."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {self.windowTitle().split('[*]')[0]}?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Your edits are lost if you don't save them.")
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: SAVE,
                QMessageBox.StandardButton.Discard: DISCARD}.get(
                    QMessageBox.StandardButton(answer), CANCEL)

    def confirm_discard(self) -> bool:
        if self.session.stack.isClean():
            return True
        answer = self.ask_unsaved()
        if answer == SAVE:
            return self.save()
        return answer == DISCARD

    def ask_stop_run(self, then: str = "open another network") -> bool:
        """True to stop the run and go on; tests replace this to avoid a modal dialog."""
        return QMessageBox.question(
            self, "Training is running",
            f"A training run is in progress. Stop it and {then}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No) == QMessageBox.StandardButton.Yes

    def confirm_stop_run(self) -> bool:
        """Before the network on screen is replaced: ask, then end the run for good."""
        if not self.run_active:
            return True
        if not self.ask_stop_run():
            return False
        self.training_docks.finish_run()
        return True

    def may_replace_network(self) -> bool:
        return self.confirm_stop_run() and self.confirm_discard()

    def _edit_guard(self, command: object) -> str:
        """Edits are refused while a run trains the network on screen: the run, its plots
        and "Try the model" must keep describing the network the student sees."""
        if self.run_active and not isinstance(command, (MoveNodesCommand, SetSectionCommand)):
            return ("The network cannot change while it trains: press Stop (Shift+F5) "
                    "first, then edit it.")
        return ""

    def set_network_locked(self, locked: bool) -> None:
        """During a run: undo, redo and the history list would edit the network too."""
        stack = self.session.stack
        self.act_undo.setEnabled(not locked and stack.canUndo())
        self.act_redo.setEnabled(not locked and stack.canRedo())
        self.history.setEnabled(not locked)
        self.act_load_weights.setEnabled(not locked and self.training_docks is not None)

    def load(self, doc: NetworkDocument, project: Project, path: str | None) -> None:
        project.network = doc
        self.path = path
        self.session.set_project(project)
        self.code_view.title = project.name
        self.inspector.title = project.name
        self.inspector.show_node(None)
        self._update_title()
        QTimer.singleShot(0, self.view, self.view.show_network)  # dropped if the view goes

    def open_template(self, template_id: str) -> bool:
        try:
            project = get_template(template_id).project()
        except KeyError as exc:
            self.show_error(str(exc.args[0]))
            QMessageBox.warning(self, "Unknown template", str(exc.args[0]))
            return False
        self.load(project.network, project, None)
        return True

    def new_from_template(self) -> None:
        from app.ui.gallery import TemplateGallery

        if not self.may_replace_network():
            return
        gallery = TemplateGallery(self)
        if gallery.exec() and gallery.chosen:
            self.open_template(gallery.chosen)

    def new_blank(self) -> None:
        if not self.may_replace_network():
            return
        project = blank_project()
        self.load(project.network, project, None)

    def open_dialog(self) -> None:
        if not self.may_replace_network():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open network", self.start_dir(),
                                              FILE_FILTER)
        if path:
            self.open_project(path, confirm=False)

    def open_project(self, path: str, confirm: bool = True) -> bool:
        if confirm and not self.may_replace_network():
            return False
        try:
            project = load_project(path)
        except ProjectError as exc:
            self.show_error(str(exc))
            QMessageBox.critical(self, "Cannot open project", str(exc))
            self._forget_recent(path)
            return False
        self.load(project.network, project, str(Path(path).resolve()))
        self._remember_recent(self.path)
        return True

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        start = self.path or str(Path(self.start_dir())
                                 / (self.project.name.replace(" ", "_") + SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self, "Save network", start, FILE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        if self.project.name == "Untitled":
            self.project.name = Path(path).stem
            self.code_view.title = self.inspector.title = self.project.name
            self.inspector.show_node(self.inspector.node)
        try:
            save_project(self.project, path)
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, "Save failed", f"Cannot save {path}: {exc}")
            return False
        self.path = str(Path(path).resolve())
        self.session.stack.setClean()
        self.autosaver.discard()
        self._remember_recent(self.path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {self.path}", 4000)
        return True

    def start_dir(self) -> str:
        """Where file dialogs open: the last folder used, else the user's documents --
        never the program's own folder."""
        last = str(self.settings.value("lastDir", "") or "")
        if last and Path(last).is_dir():
            return last
        docs = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        return docs if docs and Path(docs).is_dir() else str(Path.home())

    def remember_dir(self, path: str) -> None:
        self.settings.setValue("lastDir", str(Path(path).parent))

    # -- weights and export ------------------------------------------------------------------
    def export_dialog(self) -> None:
        from app.ui.weights_export import export_dialog

        export_dialog(self)

    def export_onnx(self) -> None:
        from app.ui.weights_export import export_onnx_dialog

        export_onnx_dialog(self)

    def export_diagram(self) -> None:
        from app.ui.diagram import export_diagram_dialog

        export_diagram_dialog(self)

    def save_weights(self) -> None:
        from app.ui.weights_export import save_weights_dialog

        save_weights_dialog(self)

    def load_weights(self) -> None:
        from app.ui.weights_export import load_weights_dialog

        load_weights_dialog(self)

    def import_model(self) -> None:
        from app.ui.import_dialog import import_model_dialog

        import_model_dialog(self)

    def finetune(self) -> None:
        from app.ui.finetune_dialog import finetune_dialog

        finetune_dialog(self)

    def inform(self, title: str, text: str, error: bool = False) -> None:
        """A message the student must see (export done, weights refused); tests replace it."""
        from app.ui.weights_export import inform

        inform(self, title, text, error)

    # -- recent files ------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path: str) -> None:
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recentFiles", files[:MAX_RECENT])
        self.settings.setValue("lastDir", str(Path(path).parent))
        self._refresh_recent_menu()

    def _forget_recent(self, path: str) -> None:
        resolved = str(Path(path).resolve())
        self.settings.setValue("recentFiles", [p for p in self.recent_files()
                                               if p not in (path, resolved)])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, path in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{i}  {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(files))

    # -- autosave and recovery ---------------------------------------------------------------
    def _snapshot(self) -> tuple[Project, str | None]:
        return self.project, self.path

    def offer_recovery(self, ask: bool = True, for_path: str | None = None) -> bool:
        """After a crash: offer the leftover autosave of `for_path` (the file opened at
        start), else the newest one; True when one was restored."""
        found = find_recoveries(self.autosaver.folder)
        newest = recovery_for(found, for_path)
        if newest is None:
            return False
        restore = not ask or QMessageBox.question(
            self, "Recover unsaved work?",
            f"TorchCanvas did not close properly last time. Recover\n{newest.describe()}?"
        ) == QMessageBox.StandardButton.Yes
        if restore:
            self.recover(newest)
        for recovery in [newest] if for_path else found:
            recovery.file.unlink(missing_ok=True)
        return restore

    def recover(self, recovery: Recovery) -> None:
        self.load(recovery.project.network, recovery.project, recovery.original_path)
        # Recovered edits are not on disk yet: mark the document modified.
        self.session.stack.resetClean()
        self._update_title()
        self.statusBar().showMessage("Recovered unsaved work; save it to keep it", 8000)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            if (self.run_active and not self.ask_stop_run("quit")) \
                    or not self.confirm_discard():
                event.ignore()
                return
            self._closing = True  # asked once; a close deferred below does not ask again
        if not self._stop_run_for_close():
            event.ignore()
            return
        self.save_settings()
        self.autosaver.stop()
        self.code_view.shutdown()  # no background thread outlives the window
        join_background_jobs()
        event.accept()

    def _stop_run_for_close(self) -> bool:
        """Stop a run and join its thread before the window goes (Qt aborts the process if
        a running QThread is destroyed). The wait is bounded: a batch still running after
        CLOSE_WAIT_S leaves the window disabled and closes it when the thread ends."""
        docks = self.training_docks
        if docks is None or docks.shutdown(CLOSE_WAIT_S):
            return True
        self.setEnabled(False)
        self.statusBar().showMessage("Stopping training: TorchCanvas closes as soon as the "
                                     "current batch has finished…")
        docks.worker.finished.connect(self.close, Qt.ConnectionType.QueuedConnection)
        return False


HELP_TEXT = """\
Add a layer: drag it from the Layers panel, or double-click it (it is added below the
selected layer and wired to it).
Connect: drag from an output port (bottom of a layer) to an input port (top). Compatible
ports turn green; a red port shows why it refuses.
Select: click, Ctrl+click, or drag a rubber band on empty canvas. Delete / Backspace
removes the selection; Ctrl+C, Ctrl+V, Ctrl+D copy, paste and duplicate.
Zoom: mouse wheel (towards the cursor), Ctrl+= / Ctrl+-, Ctrl+0 fits the network.
Pan: middle mouse button, or hold Space and drag. Ctrl+L arranges the layers.
Undo / redo: Ctrl+Z / Ctrl+Shift+Z; the History panel lists every edit.
F2 renames the selected layer; Ctrl+F searches the layers."""
