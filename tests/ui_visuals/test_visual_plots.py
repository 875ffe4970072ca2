"""Plots follow the theme and stay readable when short; Compare runs shows results."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.analysis.run_history import RunHistory
from app.training.config import TrainConfig
from app.ui import theme


def fake_run(name: str, train_loss: list[float], val_loss: list[float],
             val_acc: list[float], status: str = "completed") -> RunHistory:
    run = RunHistory(name, TrainConfig().to_dict())  # as the Train dock starts a run
    run.epochs = list(range(1, len(train_loss) + 1))
    run.train_loss, run.val_loss = list(train_loss), list(val_loss)
    run.train_acc = [min(1.0, a + 0.02) for a in val_acc]
    run.val_acc = list(val_acc)
    run.steps = [e * 10 for e in run.epochs]
    run.steps_per_epoch = 10
    run.batch_loss = list(train_loss)
    run.lrs = [0.001] * len(train_loss)
    run.epoch_lr = list(run.lrs)
    run.epoch_steps = list(run.steps)
    run.status = status
    run.version = 1
    return run


def background(w: pg.PlotWidget) -> str:
    return w.backgroundBrush().color().name()


def test_plots_follow_the_theme(qtbot, use_theme) -> None:
    from app.ui.training.plots.curves import CurvesPanel

    use_theme("light")
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.refresh(fake_run("run 1", [2.0, 1.0], [2.1, 1.2], [0.5, 0.7]))
    assert background(panel.loss) == theme.LIGHT.base
    use_theme("dark")
    for w in (panel.loss, panel.acc, panel.lr):
        assert background(w) == theme.DARK.base
        axis = w.getAxis("left")
        assert axis.textPen().color().name() == theme.DARK.text
        assert theme.contrast_ratio(axis.textPen().color(), theme.DARK.base) >= 4.5
        assert w.getPlotItem().titleLabel.opts["color"] == theme.DARK.text
    legend = panel.loss.getPlotItem().legend
    assert legend.opts["labelTextColor"].name() == theme.DARK.text
    assert pg.getConfigOption("background") == theme.DARK.base  # new plots start dark
    use_theme("light")
    assert background(panel.acc) == theme.LIGHT.base


@pytest.mark.parametrize("size", [(900, 300), (640, 300), (1200, 300), (700, 600)])
def test_curves_readable_at_300_px(qtbot, size: tuple[int, int]) -> None:
    from app.ui.training.plots.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh(fake_run("run 1", [2.3, 1.1, 0.6], [2.2, 1.2, 0.8], [0.3, 0.6, 0.8]))
    qtbot.wait(20)
    for w in (panel.loss, panel.acc, panel.lr):
        view = w.getPlotItem().getViewBox().sceneBoundingRect()
        assert view.height() >= 90, f"{w.getPlotItem().titleLabel.text}: {view.height()} px"
        assert view.width() >= 90
        # axis titles are shown, inside the widget, not clipped by its edges
        for name in ("left", "bottom"):
            axis = w.getAxis(name)
            assert axis.label.isVisible()
            box = axis.label.mapRectToScene(axis.label.boundingRect())
            assert w.sceneRect().contains(box.center())
            slack = 5  # the rotated label's box has a few pixels of padding
            assert box.left() >= -slack and box.top() >= -slack
            assert box.right() <= w.width() + slack and box.bottom() <= w.height() + slack
    assert panel.loss.getAxis("left").labelText == "loss (CrossEntropyLoss)"  # quantity, unit
    assert panel.acc.getAxis("left").labelText == "accuracy (%)"
    _x, y = panel.items["val_acc"].getData()
    assert y[-1] == pytest.approx(80.0)  # shown in percent, as the axis says
    names = [label.text for _sample, label in panel.loss.getPlotItem().legend.items]
    assert "validation" in names and "train (epoch)" in names


@pytest.mark.parametrize("size", [(900, 300), (560, 620)])
def test_loss_legend_covers_no_curve(qtbot, size: tuple[int, int]) -> None:
    """A loss that barely falls runs along the top of its plot the whole run: the legend
    must not sit on it, nor on the accuracy that stays flat at the bottom."""
    from PySide6.QtCore import QPointF, QRectF

    from app.ui.training.plots.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    flat = [2.30, 2.29, 2.29, 2.28, 2.28, 2.27]
    panel.refresh(fake_run("run 1", flat, [v + 0.01 for v in flat], [0.11] * len(flat)))
    qtbot.wait(20)
    for w, keys in ((panel.loss, ("batch", "train_loss", "val_loss")),
                    (panel.acc, ("train_acc", "val_acc"))):
        legend = w.getPlotItem().legend
        assert legend.isVisible() and len(legend.items) >= 2
        box = legend.sceneBoundingRect()
        view = w.getPlotItem().getViewBox()
        for key in keys:
            x, y = panel.items[key].getData()
            assert len(x), key
            corners = [view.mapViewToScene(QPointF(float(a), float(b)))
                       for a, b in ((x.min(), y.min()), (x.max(), y.max()))]
            curve = QRectF(corners[0], corners[1]).normalized().adjusted(-3, -3, 3, 3)
            assert not box.intersects(curve), f"legend {box} covers {key} {curve}"
        # and it is inside the widget, fully readable
        assert w.sceneRect().contains(box)


def test_compare_shows_runs_side_by_side(qtbot) -> None:
    from app.ui.training.plots.compare import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    a = fake_run("run 1", [2.0, 1.5, 1.2], [2.1, 1.6, 1.4], [0.40, 0.55, 0.60])
    b = fake_run("run 2", [1.8, 0.9, 0.5], [1.9, 1.0, 0.7], [0.50, 0.80, 0.90])
    view.set_runs([a, b])
    # final metrics, one row per run
    table = view.metrics
    assert table.rowCount() == 2
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    rows = {table.item(r, 0).text(): {header[c]: table.item(r, c).text()
                                      for c in range(1, table.columnCount())}
            for r in range(2)}
    assert rows["run 2"]["val accuracy"] == "90.0%" and rows["run 1"]["val loss"] == "1.4000"
    assert rows["run 1"]["epochs"] == "3" and rows["run 2"]["best val accuracy"] == "90.0%"
    # overlaid curves on the Compare tab itself: each run a colour, train solid, val dashed
    curves = {c.name(): c for c in view.loss.getPlotItem().listDataItems()}
    assert set(curves) == {"run 1 train", "run 1 val", "run 2 train", "run 2 val"}
    pen = {name: c.opts["pen"] for name, c in curves.items()}
    assert pen["run 1 train"].style() == Qt.PenStyle.SolidLine
    assert pen["run 1 val"].style() == Qt.PenStyle.DashLine
    assert pen["run 1 train"].color() == pen["run 1 val"].color()
    assert pen["run 1 train"].color() != pen["run 2 train"].color()
    acc = {c.name() for c in view.acc.getPlotItem().listDataItems()}
    assert acc == {"run 1 train", "run 1 val", "run 2 train", "run 2 val"}
    # ticking chooses the runs shown
    view.list.item(1).setCheckState(Qt.CheckState.Checked)
    assert table.rowCount() == 1 and table.item(0, 0).text() == "run 2"
    assert {c.name() for c in view.loss.getPlotItem().listDataItems()} == \
        {"run 2 train", "run 2 val"}


def test_loss_tab_shows_only_the_current_run(qtbot) -> None:
    from app.ui.training.plots.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.refresh(fake_run("run 2", [2.0, 1.0], [2.1, 1.2], [0.5, 0.7]))
    names = {c.name() for c in panel.loss.getPlotItem().listDataItems() if c.name()}
    assert names == {"train (batches, smoothed)", "train (epoch)", "validation"}
    val = panel.items["val_loss"].opts["pen"]
    assert val.style() == Qt.PenStyle.DashLine  # validation dashed here too
    assert panel.items["train_loss"].opts["pen"].style() == Qt.PenStyle.SolidLine


def test_boundary_explains_itself_for_image_data(qtbot) -> None:
    import numpy as np

    from app.analysis.run_history import BoundaryGrid, Evaluation
    from app.ui.training.plots.boundary import BoundaryPanel

    panel = BoundaryPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.plot.isVisible()  # no empty -400..400 plot before any run
    run = fake_run("run 1", [2.0], [2.1], [0.3])
    run.evaluation = Evaluation(1)  # digits: no boundary
    panel.refresh(run)
    assert not panel.plot.isVisible()
    assert panel.message.isVisible() and "two input features" in panel.message.text()
    xs = np.linspace(-1, 1, 4)
    grid = BoundaryGrid(xs, xs, np.zeros((4, 4), int), np.full((4, 4), 0.9),
                        np.zeros((3, 2)), np.array([0, 1, 0]))
    run.evaluation = Evaluation(2, boundary=grid)
    run.version += 1
    panel.refresh(run)
    assert panel.plot.isVisible() and not panel.message.isVisible()


def test_boundary_image_blends_with_the_theme_background() -> None:
    import numpy as np

    from app.analysis.run_history import BoundaryGrid
    from app.ui.training.plots.boundary import class_image

    xs = np.linspace(-1, 1, 2)
    unsure = BoundaryGrid(xs, xs, np.zeros((2, 2), int), np.full((2, 2), 0.5),
                          np.zeros((0, 2)), np.zeros(0))
    dark = class_image(unsure, theme.DARK.base)[0, 0, :3]
    assert abs(int(dark[0]) - QColor(theme.DARK.base).red()) < 40  # unsure: near background
