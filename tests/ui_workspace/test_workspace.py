"""Issue 12's window and workflow points, each driven through the real window."""

from __future__ import annotations

import statistics
import sys

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QTabBar

from app.core.templates import Builder
from app.training.events import RunFinished
from app.ui.commands import AddNodeCommand, MoveNodesCommand, SetParamsCommand
from app.ui.modes import MODES
from app.ui.weights_export import load_weights_from, save_weights_to

RUN_TIMEOUT_MS = 120_000
MOONS = {"source": "moons", "params": {"n_samples": 400},
         "split": {"val_fraction": 0.25, "test_fraction": 0.0, "seed": 0}}


def moons_mlp():
    b = Builder()
    b.then("Input", "points", shape=[2])
    b.then("Linear", "fc1", out_features=16)
    b.then("ReLU", "relu1")
    b.then("Linear", "fc2", out_features=2)
    b.then("Output", "logits")
    return b.doc


def load_moons(window, training: dict) -> None:
    from app.core.project import Project

    doc = moons_mlp()
    window.load(doc, Project(doc, name="moons", data=dict(MOONS), training=training), None)


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.training_docks.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        assert window.train()
    return ended.args[0]


def start_long_run(qtbot, window):
    """A run that lasts until stopped, already reporting batches."""
    load_moons(window, {"epochs": 500, "batch_size": 16})
    docks = window.training_docks
    assert window.train()
    qtbot.waitUntil(lambda: docks.run.last_batch is not None, timeout=60_000)
    return docks


# -- point 1: plots get the room; every mode fits a laptop screen -------------------------
def test_train_mode_gives_the_curves_the_window(qtbot, make_window) -> None:
    window = make_window((1366, 768))
    window.set_mode("train")
    QCoreApplication.processEvents()
    curves = window.training_docks.curves
    assert curves.isVisible()
    assert curves.loss.height() >= 300
    assert min(curves.acc.height(), curves.lr.height()) >= 300
    assert curves.loss.width() >= 700  # beside the settings, not under them


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_every_mode_fits_a_laptop_screen(qtbot, make_window, size) -> None:
    window = make_window(size)
    for mode in MODES:
        window.set_mode(mode)
        QCoreApplication.processEvents()
        hint = window.minimumSizeHint()
        assert hint.width() <= size[0] and hint.height() <= size[1], (mode, hint)
        assert window.width() == size[0], mode  # no dock pushed the window wider
    # the Design canvas keeps the full height: LeNet-5's 14 layers at a legible zoom
    window.set_mode("design")
    window.open_template("lenet5")
    QCoreApplication.processEvents()
    window.view.show_network()
    assert window.view.height() >= size[1] - 160
    assert window.view.transform().m11() >= 0.3


def test_each_mode_remembers_its_own_layout(qtbot, make_window, tmp_path) -> None:
    window = make_window(settings_file="shared.ini")
    window.design_page.resizeDocks([window.palette_dock], [280], Qt.Orientation.Horizontal)
    QCoreApplication.processEvents()
    window.set_mode("train")
    QCoreApplication.processEvents()
    window.training_docks.train_split.setSizes([520, 846])
    QCoreApplication.processEvents()
    settings_width = window.training_docks.training_panel.width()
    palette_width = window.palette_dock.width()
    window.save_settings()
    again = make_window(settings_file="shared.ini")
    assert again.workspace.mode == "train"
    QCoreApplication.processEvents()
    assert abs(again.training_docks.training_panel.width() - settings_width) <= 8
    again.set_mode("design")
    QCoreApplication.processEvents()
    assert abs(again.palette_dock.width() - palette_width) <= 8


# -- point 2: run controls everywhere; F5 from the first second --------------------------
def test_f5_before_the_training_tools_load_is_queued(qtbot, make_window) -> None:
    window = make_window(ready=False)
    assert window.training_docks is None
    assert window.act_train.text() == "Loading training tools…"
    load_moons(window, {"epochs": 1, "batch_size": 32})
    window.act_train.trigger()  # F5 before the tools are in: nothing is lost
    qtbot.waitUntil(lambda: window.training_docks is not None, timeout=120_000)
    assert window.act_train.text() == "Train"
    docks = window.training_docks
    qtbot.waitUntil(lambda: docks.run is not None, timeout=10_000)
    qtbot.waitUntil(lambda: not docks.running, timeout=RUN_TIMEOUT_MS)
    assert isinstance(docks.worker.result, RunFinished)


def test_run_controls_are_in_the_toolbar_in_every_mode(qtbot, make_window) -> None:
    window = make_window()
    docks = start_long_run(qtbot, window)
    for mode in MODES:
        window.set_mode(mode)
        QCoreApplication.processEvents()
        for action in (window.act_train, window.act_pause, window.act_stop):
            assert window.toolbar.widgetForAction(action).isVisible(), (mode, action.text())
        assert window.run_progress.isVisible() and window.run_status.isVisible()
    docks.refresh(force=True)
    assert window.run_progress.value() > 0 and "ETA" in window.run_status.text()
    window.act_pause.trigger()
    assert window.act_pause.text() == "Resume" and not window.act_train.isEnabled()
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS):
        window.act_stop.trigger()
    assert window.act_train.isEnabled() and "stopped" in window.run_status.text()


# -- point 3: a blank network stores the data source it shows ------------------------------
def test_blank_network_stores_the_shown_data_source(qtbot, make_window) -> None:
    window = make_window()
    docks = window.training_docks
    window.new_blank()
    qtbot.waitUntil(lambda: docks.data_panel.bundle is not None, timeout=60_000)
    QCoreApplication.processEvents()
    shown = docks.data_panel.source.currentData()
    assert shown and window.project.data["source"] == shown
    # point 10: and it is not "modified" before the student did anything
    assert window.session.stack.isClean() and not window.isWindowModified()


# -- point 7: weights out and in; export offers the script; dialogs start sensibly -------
def test_weights_save_and_load_strictly(qtbot, make_window, tmp_path, messages) -> None:
    import torch

    window = make_window()
    load_moons(window, {"epochs": 2, "batch_size": 32})
    run_to_end(qtbot, window)
    path = tmp_path / "moons.pt"
    assert save_weights_to(window, str(path))
    state = torch.load(path, weights_only=True)
    assert set(state) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    trained = window.training_docks.trained.state_dict()
    assert torch.equal(state["fc1.weight"], trained["fc1.weight"].cpu())
    # edit the network: the weights no longer fit; loading says so in one line
    window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 8}))
    assert window.training_docks.trained is None
    assert not load_weights_from(window, str(path))
    assert messages[-1][2] and "does not fit" in messages[-1][1]
    window.session.stack.undo()
    assert load_weights_from(window, str(path))
    assert torch.equal(window.training_docks.trained.state_dict()["fc1.weight"],
                       state["fc1.weight"])
    assert window.training_docks.try_model.model is window.training_docks.trained


def test_file_dialogs_start_in_documents_not_the_program_folder(make_window, tmp_path
                                                                ) -> None:
    from pathlib import Path

    from app.ui.weights_export import ExportDialog

    window = make_window()
    window.settings.remove("lastDir")
    start = Path(window.start_dir())
    assert start != Path.cwd() and start.is_dir()
    assert Path(ExportDialog(window).path.text()).parent == start
    window.remember_dir(str(tmp_path / "x.py"))
    assert Path(ExportDialog(window).path.text()).parent == tmp_path


def test_export_without_training_offers_the_script_but_no_weights(make_window, tmp_path,
                                                                  messages) -> None:
    from app.ui.weights_export import ExportDialog, export_chosen

    window = make_window()
    load_moons(window, {"epochs": 1})
    dialog = ExportDialog(window)
    assert dialog.script.isChecked() and not dialog.weights.isEnabled()
    dialog.path.setText(str(tmp_path / "moons_net"))
    assert export_chosen(window, dialog.choice())
    assert (tmp_path / "moons_net.py").exists() and (tmp_path / "train_moons_net.py").exists()
    assert not (tmp_path / "moons_net.pt").exists()
    assert messages[-1][0] == "Exported" and "2 file(s)" in messages[-1][1]


# -- point 8: runs and edits ------------------------------------------------------------
def test_opening_another_network_during_a_run_asks(qtbot, make_window) -> None:
    window = make_window()
    docks = start_long_run(qtbot, window)
    asked = []
    window.ask_stop_run = lambda: asked.append(1) or False
    window.new_blank()
    assert asked and docks.running and window.session.doc.has_node("fc1")
    window.ask_stop_run = lambda: True
    window.new_blank()
    assert not docks.running and not window.session.doc.has_node("fc1")
    assert "stopped" in docks.training_panel.log.toPlainText()


def test_editing_during_a_run_is_refused_with_a_message(qtbot, make_window) -> None:
    window = make_window()
    errors = []
    window.session.errorReported.connect(errors.append)
    docks = start_long_run(qtbot, window)
    window.act_pause.trigger()
    before = window.session.doc.to_dict()
    assert not window.session.push(AddNodeCommand(window.session, "ReLU", pos=(300.0, 0.0)))
    assert not window.session.push(SetParamsCommand(window.session, "fc1",
                                                    {"out_features": 4}))
    assert errors and "Stop" in errors[-1] and "Stop" in window.statusBar().currentMessage()
    assert not window.act_undo.isEnabled() and not window.history.isEnabled()
    # moving layers is not an edit of the network
    assert window.session.push(MoveNodesCommand(
        window.session, {"fc1": ((0.0, 110.0), (40.0, 110.0))}, "Move"))
    after = window.session.doc.to_dict()
    assert [n for n in after["nodes"] if n["name"] != "fc1"] == \
        [n for n in before["nodes"] if n["name"] != "fc1"]
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS):
        window.act_stop.trigger()
    assert window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 4}))


def test_samples_per_second_stays_sane_after_pause_and_stop(qtbot, make_window) -> None:
    window = make_window()
    load_moons(window, {"epochs": 500, "batch_size": 16, "log_every": 5})
    docks = window.training_docks
    assert window.train()
    rates = []
    docks.worker.batchEnded.connect(lambda e: rates.append(e.samples_per_s))
    qtbot.waitUntil(lambda: len(rates) >= 4, timeout=60_000)
    docks.pause()
    qtbot.wait(300)
    docks.resume()
    qtbot.waitUntil(lambda: len(rates) >= 8, timeout=60_000)
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS):
        docks.stop()
    typical = statistics.median(rates)
    assert max(rates) <= 20 * typical, (max(rates), typical)


def test_try_the_model_uses_the_network_on_screen(qtbot, make_window) -> None:
    window = make_window()
    load_moons(window, {"epochs": 2, "batch_size": 32})
    docks = window.training_docks
    run_to_end(qtbot, window)
    assert docks.try_model.model is docks.trained is not None
    window.session.push(MoveNodesCommand(window.session,
                                         {"fc1": ((0.0, 110.0), (60.0, 110.0))}, "Move"))
    assert docks.try_model.model is not None  # moving a layer changes nothing
    window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 8}))
    assert docks.try_model.model is None and docks.trained is None
    assert docks.try_model.showing_message and "changed" in docks.try_model.message.text()


# -- point 9: quit -> Discard after an edit ------------------------------------------------
def test_quit_and_discard_after_an_edit_prints_nothing(tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from app.ui.main_window import DISCARD, MainWindow

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        tmp_path / "autosave", training=False)
    window.ask_unsaved = lambda: DISCARD
    window.show()
    window.open_template("mlp")
    window.session.push(AddNodeCommand(window.session, "ReLU", pos=(300.0, 0.0)))
    assert not window.session.stack.isClean()
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info))
    window.act_quit.trigger()
    assert not window.isVisible()
    shiboken6.delete(window)  # what the end of the program does
    QCoreApplication.processEvents()
    assert seen == []


# -- point 10 (window part) ------------------------------------------------------------
def test_inspector_title_follows_save_as(make_window, tmp_path) -> None:
    window = make_window(ready=False)
    window.new_blank()
    assert window.save_to(str(tmp_path / "my_first_net.torchcanvas"))
    assert window.inspector.title == window.code_view.title == "my_first_net"
    assert any("my_first_net" in label.text()
               for label in window.inspector.findChildren(QLabel))


@pytest.mark.parametrize("mode", ["data", "train"])
def test_forms_are_not_clipped_on_a_small_screen(qtbot, make_window, mode) -> None:
    window = make_window((1280, 720))
    docks = window.training_docks
    qtbot.waitUntil(lambda: docks.data_panel.bundle is not None, timeout=60_000)
    window.set_mode(mode)
    QCoreApplication.processEvents()
    checked = 0
    for scroll in window.workspace.page(mode).findChildren(QScrollArea):
        if scroll.isVisible() and scroll.widget() is not None:
            need = scroll.widget().minimumSizeHint().width()
            assert need <= scroll.viewport().width(), (need, scroll.viewport().width())
            checked += 1
    assert checked >= (2 if mode == "data" else 1)
    assert window.width() == 1280


def test_no_tab_bar_over_the_palette(qtbot, make_window) -> None:
    window = make_window(ready=False)
    QCoreApplication.processEvents()
    palette = window.palette_dock
    area = palette.geometry()
    for bar in window.design_page.findChildren(QTabBar):
        if bar.isVisible() and bar.parent() is window.design_page:
            assert not bar.geometry().intersects(area), bar.geometry()


# -- getting started and about ----------------------------------------------------------
def test_getting_started_opens_a_template_and_about_names_versions(qtbot, make_window
                                                                   ) -> None:
    from PySide6.QtCore import qVersion

    from app.ui.welcome import about_text

    window = make_window(ready=False)
    window.act_getting_started.trigger()
    page = window.getting_started
    assert page.isVisible()
    page.buttons["mnist_cnn"].click()
    assert window.project.name.lower().startswith("simple mnist") or \
        window.session.doc.has_node("conv1")
    text = about_text()
    assert qVersion() in text and sys.version.split()[0] in text


# -- data and training edits are undoable (session.set_section) ---------------------------
def test_data_and_training_edits_undo(qtbot, make_window) -> None:
    window = make_window()
    docks = window.training_docks
    load_moons(window, {"epochs": 3, "batch_size": 32})
    qtbot.waitUntil(lambda: docks.data_panel.bundle is not None, timeout=60_000)
    QCoreApplication.processEvents()
    assert window.session.stack.isClean()
    docks.training_panel.epochs.setValue(7)
    assert window.project.training["epochs"] == 7 and window.isWindowModified()
    window.session.stack.undo()
    assert window.project.training["epochs"] == 3
    assert docks.training_panel.epochs.value() == 3 and window.session.stack.isClean()
    docks.data_panel.val_fraction.setValue(0.4)
    assert window.project.data["split"]["val_fraction"] == 0.4
    window.act_undo.trigger()
    assert window.project.data["split"]["val_fraction"] == 0.25
    assert abs(docks.data_panel.val_fraction.value() - 0.25) < 1e-9
    window.act_redo.trigger()
    assert docks.data_panel.val_fraction.value() == pytest.approx(0.4)


# -- python -m app gui --screenshot PNG --size WxH --mode M ---------------------------------
def test_screenshot_of_a_mode_at_a_size(qtbot, tmp_path) -> None:
    import argparse

    from PySide6.QtGui import QImage

    from app.ui.launch import launch, parse_size

    out = tmp_path / "train.png"
    args = argparse.Namespace(file=None, template="mlp", screenshot=str(out),
                              size=parse_size("1366x768"), mode="train", theme=None)
    assert launch(args) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1366, 768)
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
        parse_size("big")


def test_canvas_zoom_shows_only_in_design(qtbot, make_window) -> None:
    window = make_window(ready=False)
    assert window.zoom_status.isVisible()
    for mode in ("data", "train", "evaluate"):
        window.set_mode(mode)
        assert not window.zoom_status.isVisible(), mode
    window.set_mode("design")
    assert window.zoom_status.isVisible()


def test_getting_started_stays_away_from_a_run_the_student_asked_for(qtbot, make_window
                                                                       ) -> None:
    """F5 pressed while the window was still starting: the first-launch page does not pop
    up over the run; on a quiet first launch it does, and F5 then closes it."""
    from app.ui.launch import _first_run
    from app.ui.welcome import FIRST_RUN_KEY

    queued = make_window(ready=False, settings_file="queued.ini")
    assert queued.training_docks is None  # the tools are still loading: F5 is queued
    queued.train()
    assert queued.run_starting
    _first_run(queued)
    assert queued.getting_started is None
    assert queued.settings.value(FIRST_RUN_KEY, False, type=bool)  # the first launch is over
    queued._start_queued = False  # no run at teardown: the test has what it needs

    quiet = make_window(ready=False, settings_file="quiet.ini")
    _first_run(quiet)
    page = quiet.getting_started
    assert page is not None and page.isVisible()
    _first_run(quiet)  # a second launch: not again
    assert quiet.getting_started is page
    quiet.train()
    assert not page.isVisible()
    quiet._start_queued = False
