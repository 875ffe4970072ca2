"""Point 10 of issue 12: Try the model, Problems fixes, the Summary table, health badge."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QPointF, Qt


def bars(panel) -> list[pg.BarGraphItem]:
    return [i for i in panel.chart.getPlotItem().items if isinstance(i, pg.BarGraphItem)]


@pytest.fixture
def try_panel(qtbot):
    from app.ui.training.try_model import TryModelPanel

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        model[1].bias.copy_(torch.arange(10.0))  # "9" wins whatever the input
    val = [(torch.rand(1, 8, 8), 3) for _ in range(4)]
    bundle = SimpleNamespace(task="classification", input_shape=(1, 8, 8), val=val,
                             class_names=[str(i) for i in range(10)])
    panel = TryModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(model, bundle)
    return panel


def test_empty_drawing_is_refused(try_panel) -> None:
    panel = try_panel
    panel.mode.setCurrentIndex(1)  # a drawing; nothing drawn yet
    assert "draw a digit first" in panel.answer.text().lower()
    assert not bars(panel) and panel.probs.size == 0
    panel.canvas.stroke([(100, 40), (110, 180)])
    assert panel.answer.text().startswith("Predicted: 9")
    assert len(bars(panel)) == 1
    panel.canvas.clear()
    assert "draw a digit first" in panel.answer.text().lower() and not bars(panel)


def test_a_new_run_clears_old_predictions(try_panel) -> None:
    panel = try_panel
    assert bars(panel) and "Predicted" in panel.answer.text()
    panel.set_model(None, None)  # what the docks do when a run starts
    assert not bars(panel) and panel.probs.size == 0
    assert "Predicted" not in panel.answer.text()
    ticks = panel.chart.getAxis("bottom")._tickLevels
    assert not ticks  # no stale class names either


def test_problem_fixes_apply_with_one_click(qtbot) -> None:
    from app.core.templates import Builder
    from app.ui.panels.problems import ProblemsPanel
    from app.ui.session import EditorSession

    b = Builder()  # a 28x28 image straight into Linear: the fix adds a Flatten
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Linear", "fc", out_features=10)
    b.then("Output", "logits")
    session = EditorSession(b.doc)
    session.infer_now()
    panel = ProblemsPanel(session)
    qtbot.addWidget(panel)
    panel.show()
    buttons = panel.fix_buttons()
    assert buttons and "Flatten" in buttons[0].text()
    assert "double-click" not in buttons[0].text()
    with qtbot.waitSignal(panel.fixRequested) as blocker:
        qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert "Flatten" in blocker.args[0].label


def test_summary_is_compact_and_counts_without_torch(qtbot) -> None:
    from app.core.templates import lenet5
    from app.ui.panels.summary import MIN_ROWS, SummaryPanel
    from app.ui.session import EditorSession

    session = EditorSession(lenet5())
    session.infer_now()
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    rows = panel.table.verticalHeader()
    assert rows.defaultSectionSize() <= panel.fontMetrics().height() + 8
    assert panel.table.minimumHeight() >= MIN_ROWS * rows.defaultSectionSize()
    panel.refresh()  # formulas: shapes and counts at once, no torch needed
    table = panel.table
    assert table.rowCount() == len(session.doc.nodes)
    names = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(names["conv1"], 2).text() == "6×28×28"
    assert panel.totals["params"] == 61706  # d2l's LeNet-5
    assert table.item(names["conv1"], 3).text() == "156"
    assert table.item(names["sigmoid1"], 3).text() == "–"


def test_health_badge_has_the_health_tooltip(qtbot) -> None:
    from PySide6.QtWidgets import QGraphicsScene

    from app.core.templates import lenet5
    from app.ui.canvas.node_item import WIDTH, NodeItem

    doc = lenet5()
    scene = QGraphicsScene()
    item = NodeItem(doc.node("conv1"))
    scene.addItem(item)
    badge = item.mapToScene(QPointF(WIDTH + 5, -5))  # on the "!", outside the body
    assert item not in scene.items(badge)
    message = "gradients vanish here. Try: ReLU instead of Sigmoid."
    item.set_health(message)
    assert item in scene.items(badge)  # hovering the badge reaches the node...
    assert message in item.toolTip()  # ...whose tooltip carries the health message
    item.set_health("")
    assert item not in scene.items(badge)


def test_pixels_of_a_blank_drawing_are_zero(try_panel) -> None:
    assert try_panel.canvas.is_blank()
    assert not np.any(try_panel.canvas.pixels(8, 8))


@pytest.mark.parametrize("width", [300, 390])
def test_summary_totals_wrap_between_pairs_never_inside_one(qtbot, width: int) -> None:
    """At 1366×768 the Summary dock is ~390 px wide: the totals read 'Non-' at the end of
    one line and 'trainable: 0' on the next, 'Memory' apart from '(float32, ...)'."""
    from PySide6.QtGui import QTextDocument

    from app.core.templates import lenet5
    from app.ui.panels.summary import SummaryPanel
    from app.ui.session import EditorSession

    session = EditorSession(lenet5())
    session.infer_now()
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    panel.refresh()
    doc = QTextDocument()
    doc.setDefaultFont(panel.footer.font())
    doc.setHtml(panel.footer.text())
    doc.setTextWidth(width)
    doc.size()  # lays the text out
    block = doc.begin()
    text, layout = block.text(), block.layout()
    lines = [text[layout.lineAt(i).textStart():][:layout.lineAt(i).textLength()]
             for i in range(layout.lineCount())]
    pairs = ["Total parameters: 61,706", "Trainable: 61,706", "Non-trainable: 0",
             "MACs (one sample): 423.04 K", "Memory (float32, one sample): 302.70 KiB"]
    plain = [line.replace("\xa0", " ").replace("\u2011", "-") for line in lines]
    assert len(lines) >= 2  # narrow enough to wrap
    for pair in pairs:
        assert any(pair in line for line in plain), (pair, plain)
