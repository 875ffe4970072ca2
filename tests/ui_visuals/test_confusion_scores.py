"""Beside the confusion matrix, the per-class precision, recall and F1 it implies: the
numbers equal sklearn's, and the table fills the room under the misclassified gallery."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.run_history import RunHistory
from app.training.events import EpochEnd


def test_per_class_scores_equal_sklearn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    from app.ui.training.plots.confusion import per_class_scores

    rng = np.random.default_rng(0)
    true = rng.integers(0, 5, 300)
    predicted = np.where(rng.random(300) < 0.7, true, rng.integers(0, 5, 300))
    predicted[predicted == 4] = 0  # class 4 is never predicted
    m = np.zeros((5, 5), np.int64)
    np.add.at(m, (true, predicted), 1)
    expected = precision_recall_fscore_support(true, predicted, labels=range(5),
                                               zero_division=0)
    got = per_class_scores(m)
    for k in range(4):
        np.testing.assert_allclose(got[:, k], expected[k], rtol=1e-12)
    assert got[4, 0] == 0.0  # class 4 never predicted: precision 0, not nan


@pytest.fixture
def panel(qtbot):
    from app.ui.training.plots.confusion import ConfusionPanel

    panel = ConfusionPanel()
    qtbot.addWidget(panel)
    panel.resize(1366, 640)
    panel.show()
    qtbot.waitExposed(panel)
    run = RunHistory("run 1", {})
    m = np.array([[8, 2, 0], [1, 9, 0], [0, 3, 7]])
    run.add(EpochEnd(epoch=1, train_loss=1.0, val_loss=1.1, lr=0.1, seconds=1.0,
                     confusion=m))
    run.class_names = ["cat", "dog", "bird"]
    panel.refresh(run)
    qtbot.wait(20)
    return panel


def test_the_table_lists_each_class_and_the_mean(panel) -> None:
    table = panel.scores
    rows = [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]
    assert rows[0] == ["cat", "88.9%", "80.0%", "84.2%", "10"]  # 8/9, 8/10
    assert rows[1] == ["dog", "64.3%", "90.0%", "75.0%", "10"]  # 9/14, 9/10
    assert rows[2] == ["bird", "100.0%", "70.0%", "82.4%", "10"]
    assert rows[3][0] == "mean (macro)" and rows[3][-1] == "30"


def test_the_table_uses_the_room_beside_the_matrix(panel) -> None:
    from PySide6.QtCore import QPoint

    table, plot = panel.scores, panel.plot
    assert table.isVisible()
    left = table.mapTo(panel, QPoint(0, 0))
    assert left.x() >= plot.mapTo(panel, QPoint(plot.width(), 0)).x()  # beside the matrix
    rows = table.rowCount() * table.verticalHeader().defaultSectionSize()
    assert table.height() >= table.horizontalHeader().height() + rows
    # every class row is in view without scrolling
    assert not table.verticalScrollBar().isVisible()
