"""A real run through the worker: every panel receives data, pause/stop, failures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.training.events import RunFailed, RunFinished
from tests.ui_training.ui_training_helpers import (
    DIGITS_8X8,
    MOONS,
    RUN_TIMEOUT_MS,
    tiny_cnn,
    tiny_mlp,
)


def run_to_end(qtbot, docks):
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS) as blocker:
        assert docks.start()
    return blocker.args[0]


def wait_data(qtbot, docks):
    qtbot.waitUntil(lambda: docks.data_panel.bundle is not None, timeout=60_000)


def test_a_run_fills_every_panel(qtbot, make_window, tmp_path):
    window, docks = make_window(tiny_cnn(), DIGITS_8X8, {"epochs": 3, "batch_size": 32})
    result = run_to_end(qtbot, docks)
    assert isinstance(result, RunFinished) and result.reason == "completed"
    run = docks.run
    # curves: per-batch points (one per log_every batches), one point per epoch
    assert len(run.batch_loss) >= 3 * 4 and len(run.epochs) == 3
    x, y = docks.curves.items["batch"].getData()
    assert len(x) == len(run.batch_loss) and np.isfinite(y).all()
    # histograms: one row per snapshot, each row keeps the parameter's element count
    hist = docks.histograms
    hist.param.setCurrentText("conv1.weight")
    assert hist.matrix.shape == (len(run.snapshots), 80)
    assert (hist.matrix.sum(axis=1) == 4 * 1 * 3 * 3).all()
    hist.which.setCurrentIndex(1)  # gradients
    assert hist.matrix.shape[0] >= 3 and (hist.matrix.sum(axis=1) == 36).all()
    # gradient norms per layer, finite and positive
    steps, layers = docks.grad_norms.data
    assert set(layers) == {"conv1", "fc"} and len(steps) == len(run.snapshots)
    assert all(v > 0 for values in layers.values() for v in values)
    # the axes fit the run: the loss it trained with, its steps and no round number more
    assert docks.curves.loss.getAxis("left").labelText == "loss (CrossEntropyLoss)"
    total = 3 * run.steps_per_epoch
    assert steps[-1] <= total <= docks.grad_norms.plot.getViewBox().viewRange()[0][1] \
        <= 1.03 * total
    # activations: conv maps (C, H, W) and the linear layer's vector
    acts = docks.activations
    acts.layer.setCurrentText("conv1")
    assert acts.values.shape == (4, 6, 6)
    acts.layer.setCurrentText("fc")
    assert acts.values.shape == (10,)
    # ...of one named sample: the first validation digit, its label and the answer
    label = int(docks.worker.bundle.val[0][1])
    predicted = int(np.argmax(acts.values))  # fc's output is the class scores
    assert acts.note.text().startswith(
        f"validation sample 0 · label {label} · predicted {predicted} · step ")
    # confusion matrix over the whole validation set; misclassified gallery filled
    val_size = len(docks.worker.bundle.val)
    assert docks.confusion.matrix.sum() == val_size == 359
    assert docks.confusion.grid.count() == len(run.evaluation.misclassified) > 0
    # try the model: probabilities of a validation sample and of a drawing
    tm = docks.try_model
    assert tm.isEnabled() and tm.probs.shape == (10,)
    assert math.isclose(tm.probs.sum(), 1.0, rel_tol=1e-5)
    tm.mode.setCurrentIndex(1)
    tm.canvas.stroke([(110, 30), (110, 190)])  # a "1"
    assert tm.probs.shape == (10,) and "Predicted" in tm.answer.text()
    # the progress line reached the end
    assert docks.training_panel.progress.value() == docks.training_panel.progress.maximum()
    assert "epoch 3/3" in docks.training_panel.progress_text.text()
    # every plot exports its numbers and a picture
    for panel in docks.plots:
        assert panel.save_png(tmp_path / f"{panel.title}.png")
        header, _rows = panel.table()
        panel.save_csv(tmp_path / f"{panel.title}.csv")
        assert (tmp_path / f"{panel.title}.csv").read_text().startswith(header[0])
    assert docks.curves.table()[1] and docks.confusion.table()[1]
    # the settings used are the project's training section
    assert window.project.training["epochs"] == 3


def test_decision_boundary_of_a_2d_set(qtbot, make_window):
    _window, docks = make_window(tiny_mlp(), MOONS, {"epochs": 2, "batch_size": 16})
    wait_data(qtbot, docks)
    assert len(docks.data_panel.scatter.data) == 150  # training points in the preview
    result = run_to_end(qtbot, docks)
    assert isinstance(result, RunFinished)
    grid = docks.boundary.grid
    assert grid.classes.shape == (90, 90) and set(np.unique(grid.classes)) <= {0, 1}
    assert len(grid.points) == 50 and len(docks.boundary.scatter.data) == 50
    assert docks.confusion.matrix.sum() == 50
    assert docks.boundary.table()[1][0][:2] == [float(grid.xs[0]), float(grid.ys[0])]


def test_pause_resume_and_stop_mid_run(qtbot, make_window):
    _window, docks = make_window(tiny_cnn(), DIGITS_8X8,
                                {"epochs": 200, "batch_size": 8, "log_every": 1})
    assert docks.start()
    qtbot.waitUntil(lambda: len(docks.run.steps) >= 3, timeout=RUN_TIMEOUT_MS)
    qtbot.mouseClick(docks.training_panel.pause, Qt.MouseButton.LeftButton)
    assert docks.training_panel.pause.text().endswith("Resume")
    qtbot.wait(300)  # the batch in flight may still report
    paused_at = len(docks.run.steps)
    qtbot.wait(500)
    assert len(docks.run.steps) == paused_at and docks.worker.paused
    qtbot.mouseClick(docks.training_panel.pause, Qt.MouseButton.LeftButton)  # resume
    qtbot.waitUntil(lambda: len(docks.run.steps) > paused_at + 2, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(docks.training_panel.stop, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert isinstance(result, RunFinished) and result.reason == "stopped"
    assert result.epochs_done < 200
    assert docks.training_panel.start.isEnabled() and not docks.running
    assert "stopped" in docks.training_panel.log.toPlainText()


def test_nan_loss_is_reported_and_the_window_still_responds(qtbot, make_window):
    training = {"epochs": 5, "batch_size": 32, "optimizer": {"name": "SGD", "lr": 1e30}}
    window, docks = make_window(tiny_cnn(), DIGITS_8X8, training)
    result = run_to_end(qtbot, docks)
    assert isinstance(result, RunFailed)
    error = docks.training_panel.error
    assert error.isVisible() and "diverged" in error.text()
    assert "lower the learning rate" in error.text() and "epoch 1" in error.text()
    # still usable: edit a setting, switch tabs, start again
    docks.training_panel.epochs.setValue(1)
    assert window.project.training["epochs"] == 1
    docks.tabs.setCurrentIndex(2)
    qtbot.mouseClick(docks.training_panel.start, Qt.MouseButton.LeftButton)
    assert docks.running or isinstance(docks.worker.result, RunFailed)
    qtbot.waitUntil(lambda: not docks.running, timeout=RUN_TIMEOUT_MS)


@pytest.mark.parametrize("data,expected", [
    ({"source": "mnist", "params": {"root": "{tmp}"}}, "missing"),
])
def test_missing_data_files_are_a_message(qtbot, make_window, tmp_path, data, expected):
    data = {**data, "params": {"root": str(tmp_path)}}
    _window, docks = make_window(tiny_cnn(), data, {"epochs": 1})
    result = run_to_end(qtbot, docks)
    assert isinstance(result, RunFailed)
    assert expected in result.reason.lower() and str(tmp_path) in result.reason
    assert docks.training_panel.error.isVisible()
    assert docks.training_panel.start.isEnabled()


def test_shape_mismatch_is_a_message(qtbot, make_window):
    _window, docks = make_window(tiny_mlp(inputs=2), DIGITS_8X8, {"epochs": 1})
    result = run_to_end(qtbot, docks)
    assert isinstance(result, RunFailed) and "shape" in result.reason
    assert "Input" in docks.training_panel.error.text()


def test_compare_runs_overlays_and_diffs(qtbot, make_window, tmp_path):
    window, docks = make_window(tiny_mlp(), MOONS, {"epochs": 2, "batch_size": 32})
    window.path = str(tmp_path / "moons.torchcanvas")
    run_to_end(qtbot, docks)
    docks.training_panel.lr.setText("0.01")
    docks.training_panel.lr.editingFinished.emit()
    window.session.doc.set_params("fc1", {"out_features": 8})
    run_to_end(qtbot, docks)
    compare = docks.compare
    assert compare.list.count() == 2
    rows = {(d.what, d.left, d.right) for d in compare.rows}
    assert ("training.optimizer.lr", "—", "0.01") in rows
    assert any(what == "fc1" and "out_features=16" in a and "out_features=8" in b
               for what, a, b in rows)
    compare.list.item(0).setCheckState(Qt.CheckState.Checked)
    assert compare.shown_runs() == [docks.store.runs[0]]
    names = [label.text for _sample, label in compare.loss.getPlotItem().legend.items]
    assert names == ["run 1 train", "run 1 val"]
    assert compare.metrics.rowCount() == 1
    # summaries were saved beside the project and come back when it is reopened
    assert (tmp_path / "moons.torchcanvas.runs.json").exists()
    docks.store.open(window.path)
    assert [r.name for r in docks.store.runs] == ["run 1", "run 2"]


def test_window_shows_before_torch_and_health_flags_reach_the_canvas(make_window) -> None:
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom PySide6.QtWidgets import QApplication\n"
            "from app.ui.main_window import MainWindow\n"
            "app = QApplication([])\nw = MainWindow()\nw.open_template('lenet5')\nw.show()\n"
            "print('torch' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert shown.stdout.split()[-1] == "False"

    window, docks = make_window()
    window.open_template("lenet5")
    docks.healthChanged.emit({"conv1": "gradients vanish. Try: ReLU instead of Sigmoid."})
    item = window.scene.nodes["conv1"]
    assert item.health.startswith("gradients vanish") and "Training health" in item.toolTip()
    docks.healthChanged.emit({})
    assert window.scene.nodes["conv1"].health == ""
