"""Live plots redraw cheaply (issue 18): a refresh gives existing curves new points and
keeps axis ranges unless the data leave them, so the GUI thread does not lay out axes,
legends and titles four times a second while a run trains."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.analysis.run_history import RunHistory
from app.training.config import TrainConfig
from app.training.events import BatchEnd, EpochEnd, RunStarted, Snapshot
from app.training.losses import LossConfig
from app.ui.training.plots.base import nice_ceil, steady_range


def test_steady_range_holds_round_limits_until_the_data_leave_them() -> None:
    assert [nice_ceil(x) for x in (0.7, 1.0, 2.3, 4.1, 7.0, 0.013)] == \
        [1.0, 1.0, 2.5, 5.0, 10.0, 0.02]
    first = steady_range(0.4, 2.31, None, from_zero=True)
    assert first == (0.0, 2.5)
    assert steady_range(0.2, 1.9, first, from_zero=True) is None  # still inside: kept
    assert steady_range(0.2, 2.9, first, from_zero=True) == (0.0, 5.0)  # above: grows
    assert steady_range(0.05, 0.4, first, from_zero=True) == (0.0, 0.5)  # a sixth: shrinks
    low, high = steady_range(-3.0, -1.0, None, from_zero=True)
    assert low <= -3.0 and high >= -1.0 and high < 0
    assert steady_range(float("nan"), 1.0, None, from_zero=True) is None


def _run(config: TrainConfig | None = None, epochs: int = 3, per_epoch: int = 10
         ) -> RunHistory:
    """A run as the Train dock starts one: its config is the panel's TrainConfig.to_dict()."""
    run = RunHistory("run 1", (config or TrainConfig()).to_dict())
    run.add(RunStarted(epochs=epochs, steps_per_epoch=per_epoch, device="cpu", start_epoch=0,
                       parameters=100, trainable_parameters=100, task="classification"))
    return run


def _batch(run: RunHistory, step: int, loss: float) -> None:
    run.add(BatchEnd(epoch=1 + (step - 1) // 10, batch=(step - 1) % 10 + 1, step=step,
                     loss=loss, mean_loss=loss, lr=0.01, samples_per_s=100.0))


def test_curves_keep_their_y_axis_while_the_loss_falls(qtbot) -> None:
    from app.ui.training.plots.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    run = _run()
    _batch(run, 1, 2.3)
    panel.refresh(run)
    loss_box = panel.loss.getViewBox()
    assert loss_box.viewRange()[1] == [0.0, 2.5]
    changed = []
    panel.items["train_acc"].sigPlotChanged.connect(lambda *_: changed.append("acc"))
    panel.items["batch"].sigPlotChanged.connect(lambda *_: changed.append("batch"))
    for step, loss in ((2, 1.9), (3, 1.2), (4, 0.9)):
        _batch(run, step, loss)
        panel.refresh(run)
    assert loss_box.viewRange()[1] == [0.0, 2.5]
    assert changed == ["batch"] * 3  # no epoch yet: the accuracy curves were left alone
    x, y = panel.items["batch"].getData()
    assert list(x) == [0.1, 0.2, 0.3, 0.4] and y[0] == 2.3
    _batch(run, 5, 7.0)  # a spike above the axis: the range grows to hold it
    panel.refresh(run)
    assert loss_box.viewRange()[1][1] >= float(panel.items["batch"].getData()[1].max()) > 2.5
    run.add(EpochEnd(epoch=1, train_loss=1.5, val_loss=1.6, train_accuracy=0.5,
                     val_accuracy=0.45, lr=0.01, seconds=1.0))
    panel.refresh(run)
    assert "acc" in changed
    assert list(panel.items["val_acc"].getData()[1]) == [45.0]


@pytest.mark.parametrize(("loss", "label"), [("CrossEntropy", "loss (CrossEntropyLoss)"),
                                             ("MSE", "loss (MSELoss)")])
def test_loss_axis_names_the_runs_loss(qtbot, loss: str, label: str) -> None:
    from app.ui.training.plots.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    assert panel.loss.getAxis("left").labelText == "loss"  # no run yet: no loss to name
    run = _run(TrainConfig(loss=LossConfig(loss)))
    _batch(run, 1, 2.3)
    panel.refresh(run)
    assert panel.loss.getAxis("left").labelText == label


def test_gradient_norm_steps_fit_the_run(qtbot) -> None:
    """135 steps (5 epochs of 27): the step axis ends at 135 plus a sliver, not at the
    next round number (0…200 left a third of the plot empty)."""
    from app.ui.training.plots.grad_norms import GradNormPanel

    panel = GradNormPanel()
    qtbot.addWidget(panel)
    run = _run(epochs=5, per_epoch=27)
    box = panel.plot.getViewBox()
    for step in range(9, 136, 9):
        run.add(_snapshot(step, 1.0))
        panel.refresh(run)
        low, high = box.viewRange()[0]
        assert low <= 0 and 135 <= high <= 135 * 1.03, (step, low, high)
    assert panel.curves["conv1"].xData[-1] == 135


def _snapshot(step: int, scale: float) -> Snapshot:
    rng = np.random.default_rng(step)
    counts = rng.integers(0, 50, 10)
    edges = np.linspace(-scale, scale, 11)
    return Snapshot(epoch=1, step=step,
                    weight_hist={"conv1.weight": (counts, edges), "fc.weight": (counts, edges)},
                    grad_hist={"conv1.weight": (counts, edges), "fc.weight": (counts, edges)},
                    grad_norms={"conv1.weight": 0.5 * scale, "fc.weight": 0.1 * scale},
                    activations={"conv1": rng.random((4, 6, 6)), "fc": rng.random(10)})


def _after_a_snapshot(qtbot, panel):
    qtbot.addWidget(panel)
    run = _run()
    run.add(_snapshot(10, 1.0))
    panel.refresh(run)
    return panel, run


def _another_snapshot(panel, run: RunHistory) -> None:
    run.add(_snapshot(20, 2.0))
    panel.refresh(run)


def test_gradient_norm_curves_are_made_once_per_layer(qtbot) -> None:
    from app.ui.training.plots.grad_norms import GradNormPanel

    panel, run = _after_a_snapshot(qtbot, GradNormPanel())
    curves = dict(panel.curves)
    assert list(curves) == ["conv1", "fc"]
    _another_snapshot(panel, run)
    assert panel.curves == curves and all(panel.curves[k] is curves[k] for k in curves)
    curve = panel.curves["conv1"]  # xData / yData: as given, before the log scale
    assert list(curve.xData) == [10, 20] and list(curve.yData) == pytest.approx([0.5, 1.0])
    low, high = panel.plot.getViewBox().viewRange()[1]  # log10: whole decades
    assert (low, high) == (-2.0, 1.0)
    legend = panel.plot.getPlotItem().legend
    assert [label.text for _sample, label in legend.items] == ["conv1", "fc"]


def test_gradient_norm_axis_reads_plainly(qtbot) -> None:
    """Words a student knows on the axis, and on the log scale numbers that do not overlap
    (pyqtgraph labels all nine ticks of a decade: 0.08 0.09 0.1 run into each other)."""
    from app.ui.training.plots.grad_norms import GradNormPanel

    panel = GradNormPanel()
    qtbot.addWidget(panel)
    panel.resize(560, 320)
    panel.show()
    qtbot.waitExposed(panel)
    run = _run()
    for i in range(1, 8):
        run.add(_snapshot(10 * i, 1.0 / i))
    panel.refresh(run)
    qtbot.wait(20)
    axis = panel.plot.getAxis("left")
    assert axis.labelText == "gradient norm (L2)"
    assert panel.plot.getAxis("bottom").labelText == "training step (batch)"
    low, high = panel.plot.getViewBox().viewRange()[1]
    height = panel.plot.getViewBox().height()
    shown = []
    for spacing, values in axis.tickValues(low, high, height):
        for value, text in zip(values, axis.tickStrings(values, 1.0, spacing or 1.0)):
            if text:
                shown.append((height * (value - low) / (high - low), text))
    shown.sort()
    texts = [text for _y, text in shown]
    assert {"0.1", "0.2", "0.5"} <= set(texts) and "0.08" not in texts
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    assert min(gaps) >= 14, shown  # a line of tick text is about 12 px high


def test_activation_maps_keep_the_students_zoom_between_snapshots(qtbot) -> None:
    from app.ui.training.plots.activations import ActivationPanel

    panel, run = _after_a_snapshot(qtbot, ActivationPanel())
    assert panel.layer.currentText() == "conv1"
    box = panel.plot.getViewBox()
    box.setRange(xRange=(0, 5), yRange=(0, 5), padding=0)
    zoom = box.viewRange()
    _another_snapshot(panel, run)
    assert box.viewRange() == zoom  # the same layer and shape: only the pixels changed
    assert np.allclose(panel.values, run.snapshots[-1].activations["conv1"])
    panel.layer.setCurrentText("fc")  # another layer: laid out anew, as bars
    assert panel.bars is not None and box.viewRange() != zoom
    panel.layer.setCurrentText("conv1")
    assert panel.bars is None and panel.plot.getPlotItem().titleLabel.text.startswith("4 ")
