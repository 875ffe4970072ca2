"""A newcomer's first half hour, end to end: blank network -> an MLP built with the
editor's own commands -> F5 -> plots with data -> save weights -> export -> the
exported model (a fresh Python process) loads the weights strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication

from app.training.events import RunFinished
from app.ui.commands import ConnectCommand, SetParamsCommand
from app.ui.weights_export import ExportDialog, export_chosen, save_weights_to

RUN_TIMEOUT_MS = 120_000

LOAD_STRICT = """\
import sys, torch
sys.path.insert(0, sys.argv[1])
from mlp_model import build_model
model = build_model()
model.load_state_dict(torch.load(sys.argv[2], weights_only=True), strict=True)
model.eval()
with torch.no_grad():
    out = model(torch.zeros(3, 1, 28, 28))
print(tuple(out.shape), sum(p.numel() for p in model.parameters()))
"""


def build_mlp(window) -> None:
    """Input -> Flatten -> Linear(32) -> ReLU -> Linear(10) -> Output, as a student does
    it: palette double-clicks below the selected layer, one parameter edit, one wire."""
    scene, session = window.scene, window.session
    scene.select_nodes(["image"])
    for layer in ("Flatten", "Linear", "ReLU", "Linear"):
        window.append_layer(layer)
    names = [n.name for n in session.doc.nodes]
    linears = [n for n in names if session.doc.node(n).type == "Linear"]
    assert len(linears) == 2
    assert session.push(SetParamsCommand(session, linears[0], {"out_features": 32}))
    assert session.push(SetParamsCommand(session, linears[1], {"out_features": 10}))
    output = next(n.name for n in session.doc.nodes if n.type == "Output")
    port = session.doc.node(output).input_ports()[0]
    assert session.push(ConnectCommand(session, linears[1], "out", output, port))
    session.infer_now()
    assert not [p for p in session.problems if p.severity == "error"], session.problems


def test_first_30_minutes(qtbot, make_window, tmp_path, messages) -> None:
    window = make_window()
    docks = window.training_docks
    window.new_blank()
    qtbot.waitUntil(lambda: docks.data_panel.bundle is not None, timeout=60_000)
    build_mlp(window)
    assert window.project.data["source"] == "digits"  # what the Data mode shows
    docks.training_panel.epochs.setValue(2)
    with qtbot.waitSignal(docks.runEnded, timeout=RUN_TIMEOUT_MS) as ended:
        window.act_train.trigger()  # F5
        assert window.workspace.mode == "train"
    result = ended.args[0]
    assert isinstance(result, RunFinished) and result.reason == "completed", result
    assert result.metrics["val_accuracy"] > 0.5  # 10 classes: chance is 0.1
    # the plots have the run's numbers
    x, y = docks.curves.items["batch"].getData()
    assert len(x) >= 2 and np.isfinite(y).all()
    assert docks.confusion.matrix.sum() == len(docks.worker.bundle.val)
    assert "completed" in window.run_status.text()
    # save the trained weights, then export code + train script + weights
    weights = tmp_path / "trained.pt"
    assert save_weights_to(window, str(weights)) and weights.stat().st_size > 0
    dialog = ExportDialog(window)
    assert dialog.weights.isEnabled() and dialog.weights.isChecked()
    assert Path(dialog.path.text()).parent == tmp_path  # the last folder, not the cwd
    dialog.path.setText(str(tmp_path / "mlp_model.py"))
    assert export_chosen(window, dialog.choice())
    assert messages[-1][0] == "Exported" and "mlp_model.pt" in messages[-1][1]
    assert (tmp_path / "train_mlp_model.py").read_text().count("mlp_model") >= 1
    for state in (weights, tmp_path / "mlp_model.pt"):
        done = subprocess.run([sys.executable, "-c", LOAD_STRICT, str(tmp_path), str(state)],
                              check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split(")")[0] == "(3, 10"
        params = int(done.stdout.split()[-1])
        assert params == 784 * 32 + 32 + 32 * 10 + 10
    QCoreApplication.processEvents()
