"""Each learning aid opened and driven like a student would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox
from torch import nn

from app.learn.optim_playground import HIMMELBLAU_MINIMA

ROOT = Path(__file__).resolve().parents[2]


def curve_data(plot) -> list[tuple[np.ndarray, np.ndarray]]:
    return [item.getData() for item in plot.listDataItems()]


def test_learn_menu_loads_no_torch() -> None:
    code = ("import sys; import app.ui.learn.menu; "
            "print(any(m == 'torch' or m.startswith('app.learn') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_learn_menu_lists_the_aids(window) -> None:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Learn")
    assert [a.text() for a in menu.actions()] == [
        "&Optimizer Playground…", "&Activation Explorer…", "&Saliency Maps (Evaluate)",
        "&Gradient Check…"]


def test_playground_steps_plays_and_restarts_where_clicked(qtbot, window) -> None:
    window.learn_actions["playground"].trigger()
    pg_ = window.learn_windows["playground"]
    qtbot.waitExposed(pg_)
    assert pg_.function.currentData() == "himmelblau" and pg_.start == (0.0, 0.0)
    assert set(pg_.runners) == {"SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam",
                                "AdamW"}
    assert all(r.steps == 0 for r in pg_.runners.values())
    # the four minima are marked
    xs, ys = pg_.minima.getData()
    assert sorted(zip(xs.tolist(), ys.tolist())) == sorted(HIMMELBLAU_MINIMA)
    qtbot.mouseClick(pg_.step_button, Qt.MouseButton.LeftButton)
    sgd = pg_.paths["SGD"].getData()
    assert len(sgd[0]) == 2 and (sgd[0][1], sgd[1][1]) != (0.0, 0.0)
    assert pg_.runners["SGD"].points[1] == pytest.approx((0.14, 0.22))  # -0.01 * ∇f(0, 0)
    assert len(pg_.loss_curves["Adam"].getData()[0]) == 2
    qtbot.mouseClick(pg_.play_button, Qt.MouseButton.LeftButton)
    assert pg_.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: pg_.runners["Adam"].steps >= 20, timeout=20_000)
    qtbot.mouseClick(pg_.play_button, Qt.MouseButton.LeftButton)
    assert not pg_.timer.isActive()
    # run to the end: from (0, 0) every optimizer reaches (3, 2)
    pg_.advance(500)
    assert pg_.status.text() == "step 500 / 500"
    assert {row.outcome.text() for row in pg_.rows.values()} == {"(3, 2)"}
    # a click on the map restarts everyone from there
    vb = pg_.map.getPlotItem().vb
    target = vb.mapViewToScene(vb.mapToView(vb.boundingRect().center()))
    where = pg_.map.mapFromScene(target)
    qtbot.mouseClick(pg_.map.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(
        int(where.x()) + 60, int(where.y()) + 60))
    assert pg_.start != (0.0, 0.0)
    assert all(r.points == [pg_.start] for r in pg_.runners.values())
    assert pg_.start[0] > 0 > pg_.start[1]  # right of and below the centre
    pg_.advance(500)
    assert pg_.rows["SGD"].outcome.text() in {"(3, 2)", "(3.58, -1.85)"}


def test_playground_functions_and_settings(qtbot, window) -> None:
    window.learn_actions["playground"].trigger()
    pg_ = window.learn_windows["playground"]
    before = pg_.image.image.copy()
    pg_.function.setCurrentIndex(pg_.function.findData("rosenbrock"))
    assert pg_.start == (-1.5, 2.0) and pg_.minima.getData()[0].tolist() == [1.0]
    assert not np.array_equal(pg_.image.image, before)
    assert not pg_.condition.isEnabled()
    pg_.function.setCurrentIndex(pg_.function.findData("bowl"))
    assert pg_.condition.isEnabled()
    pg_.condition.setValue(50.0)
    assert pg_.surface.title == "Quadratic bowl (κ = 50)"
    assert pg_.rows["SGD"].lr.value() == pytest.approx(0.02)
    pg_.rows["Adam"].enabled.setChecked(False)
    assert "Adam" not in pg_.runners
    pg_.rows["SGD"].lr.setValue(0.05)  # above 2/κ: SGD blows up along y
    pg_.advance(500)
    assert pg_.rows["SGD"].outcome.text() in {"diverged", "left the map"}
    assert pg_.paths["Adam"].getData()[0] is None or len(pg_.paths["Adam"].getData()[0]) == 0


def test_activation_explorer_overlays_and_edits_live(qtbot, window) -> None:
    window.learn_actions["activations"].trigger()
    ex = window.learn_windows["activations"]
    qtbot.waitExposed(ex)
    assert ex.shown() == ["ReLU", "Sigmoid", "Tanh"]
    assert len(curve_data(ex.slopes_plot)) == 3
    sig = ex.curves["Sigmoid"]
    assert sig.slopes.max() == pytest.approx(0.25, abs=1e-4)
    assert "vanishing" in ex.note.text()
    ex.list.setCurrentRow(ex.types.index("LeakyReLU"))
    assert "LeakyReLU" in ex.shown() and len(curve_data(ex.values_plot)) == 4
    spin = ex.params_box.findChildren(QDoubleSpinBox)[0]
    before = ex.curves["LeakyReLU"].slopes.copy()
    spin.setValue(0.3)
    after = ex.curves["LeakyReLU"].slopes
    assert before[0] == pytest.approx(0.01) and after[0] == pytest.approx(0.3)
    assert any(np.allclose(y, after) for _x, y in curve_data(ex.slopes_plot))
    ex.list.setCurrentRow(ex.types.index("GELU"))
    assert len(ex.params_box.findChildren(QComboBox)) == 1  # approximate: none / tanh
    assert ex.params_box.findChildren(QDoubleSpinBox) == []
    ex.params_box.findChildren(QComboBox)[0].setCurrentText("tanh")
    assert ex.values["GELU"] == {"approximate": "tanh"}
    ex.span.setValue(2.0)
    xs, _ = curve_data(ex.values_plot)[0]
    assert xs[0] == -2.0 and xs[-1] == 2.0


class TinyCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv2(torch.relu(self.conv1(x)))).flatten(1))


def test_saliency_panel_explains_samples_and_drawings(qtbot) -> None:
    from app.training.data import load_data
    from app.ui.learn.saliency_panel import SaliencyPanel

    bundle = load_data({"source": "digits", "params": {"upscale": False}})
    panel = SaliencyPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.isEnabled() and "Train an image classifier" in panel.caption.text()
    model = TinyCnn()
    panel.set_model(model, bundle)
    assert panel.isEnabled()
    assert [panel.layer.itemText(i) for i in range(panel.layer.count())] == ["conv1", "conv2"]
    assert panel.layer.currentText() == "conv2"
    e = panel.explanation
    assert e.method == "gradcam" and e.heat.shape == (8, 8) and e.layer == "conv2"
    assert not panel.overlay.pixmap().isNull()
    assert "Predicted" in panel.caption.text() and "true" in panel.caption.text()
    half = panel.blended().copy()
    panel.opacity.setValue(100)
    assert not np.allclose(panel.blended(), half)
    panel.layer.setCurrentIndex(0)
    assert panel.explanation.layer == "conv1"
    panel.target.setCurrentIndex(panel.target.findData(3))
    assert panel.explanation.target == 3
    first = panel.explanation.heat.copy()
    panel.index.setValue(5)
    assert not np.allclose(panel.explanation.heat, first)
    panel.method.setCurrentIndex(panel.method.findData("smoothgrad"))
    assert panel.explanation.method == "smoothgrad" and not panel.layer.isEnabled()
    panel.source.setCurrentIndex(1)
    assert panel.explanation is None and "Draw a digit" in panel.caption.text()
    panel.canvas.stroke([(110, 30), (110, 190)])
    assert panel.explanation is not None and panel.explanation.heat.shape == (8, 8)
    assert "true" not in panel.caption.text()
    assert next(model.parameters()).requires_grad and model.training  # left as it was
    panel.set_model(None, None)
    assert not panel.isEnabled()


def test_gradient_check_dialog_for_the_selected_layer(qtbot, window) -> None:
    conv = next(n for n in window.project.network.topological_order()
                if window.project.network.node(n).type == "Conv2d")
    window.select_node(conv)
    window.learn_actions["gradcheck"].trigger()
    dialog = window.learn_windows["gradcheck"]
    assert dialog.scope.currentData() == conv
    dialog.run(background=False)
    assert dialog.table.rowCount() == 3
    assert [dialog.table.item(i, 0).text() for i in range(3)] == ["weight", "bias", "input 0"]
    assert {dialog.table.item(i, 5).text() for i in range(3)} == {"agrees"}
    assert dialog.verdict.text().startswith("Autograd agrees")
    dialog.scope.setCurrentIndex(0)  # the whole network, in the background
    dialog.run()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 11, timeout=60_000)
    assert dialog.report.passed
