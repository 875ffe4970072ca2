"""The Summary table in the right dock of a 1366x768 screen (396 px): every column in view
without scrolling, shapes and numbers whole, and the layer names and types readable (an
earlier fit squeezed them to three characters to keep long exact numbers)."""

from __future__ import annotations

import pytest


def make_panel(qtbot, doc, training: dict | None = None):
    from app.core.project import Project
    from app.ui.panels.summary import SummaryPanel
    from app.ui.session import EditorSession

    session = EditorSession(doc)
    if training is not None:
        session.set_project(Project(doc, name="t", training=training))
    session.infer_now()
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


@pytest.fixture
def panel(qtbot):
    from app.core.templates import lenet5

    return make_panel(qtbot, lenet5())


def widths(panel) -> list[int]:
    return [panel.table.columnWidth(c) for c in range(panel.table.columnCount())]


def cells(panel, col: int) -> dict[str, str]:
    table = panel.table
    return {table.item(r, 0).text(): table.item(r, col).text() for r in range(table.rowCount())}


def natural(table, col: int) -> int:
    return max(table.sizeHintForColumn(col), table.horizontalHeader().sectionSizeHint(col))


@pytest.mark.parametrize("value, text", [
    (0, "0"), (156, "156"), (9_408, "9,408"), (10_240, "10.2K"), (48_120, "48.1K"),
    (122_304, "122K"), (401_920, "402K"), (999_999, "1000K"), (2_408_448, "2.41M"),
    (11_176_512, "11.2M"), (134_301_514, "134M"), (15_470_264_320, "15.5G"),
])
def test_compact_counts_stay_within_six_characters(value, text) -> None:
    from app.ui.panels.summary import compact_count

    assert compact_count(value) == text and len(text) <= 6


@pytest.mark.parametrize("width", [396, 560])  # the right dock at 1366x768: default, with Code
def test_narrow_dock_shows_every_column_and_whole_numbers(panel, qtbot, width) -> None:
    from app.ui.panels.summary import LAYER, MACS, PARAMS, SHAPE, TYPE

    panel.resize(width, 300)
    panel.refresh()
    qtbot.wait(20)
    table = panel.table
    assert sum(widths(panel)) <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    for c in (SHAPE, PARAMS, MACS):  # never cut
        assert table.columnWidth(c) >= natural(table, c)
    # LeNet's names and types are short: at 396 px every one of them is whole
    for c in (LAYER, TYPE):
        assert table.columnWidth(c) >= natural(table, c)
    assert cells(panel, PARAMS)["fc1"] == "48.1K" and cells(panel, MACS)["conv2"] == "242K"
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "fc1")
    assert table.item(row, PARAMS).toolTip() == "48,120 parameters"
    assert table.item(row, MACS).toolTip() == "48,120 multiply-accumulates per sample"  # torchinfo counts the bias
    assert table.item(row, LAYER).toolTip() == "fc1 (Linear)"


def test_long_names_give_up_room_before_the_types(qtbot) -> None:
    """ResNet-18's layer1_0_downsample_0 and AdaptiveAvgPool2d do not both fit 396 px
    beside the numbers: the names elide in the middle (the tooltip keeps them), the types
    stay whole ("BatchNor…" is no word), and no column drops below MIN_SHRUNK_CHARS."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QStyleOptionViewItem

    from app.core.templates import resnet18
    from app.ui.panels.summary import LAYER, MACS, PARAMS, SHAPE, TYPE, shrunk_width

    panel = make_panel(qtbot, resnet18())
    panel.resize(396, 300)
    panel.refresh()
    qtbot.wait(20)
    table = panel.table
    assert sum(widths(panel)) <= table.viewport().width()
    for c in (SHAPE, PARAMS, MACS, TYPE):
        assert table.columnWidth(c) >= natural(table, c)
    assert shrunk_width(table) <= table.columnWidth(LAYER) < natural(table, LAYER)
    fm = table.fontMetrics()
    for row in range(table.rowCount()):  # every type is readable whole
        text = table.item(row, TYPE).text()
        assert fm.horizontalAdvance(text) + 8 <= table.columnWidth(TYPE), text
    # the typical names still fit whole; the long block names elide in the middle
    fm = table.fontMetrics()
    assert fm.horizontalAdvance("conv1") + 12 <= table.columnWidth(LAYER)
    assert fm.horizontalAdvance("MaxPool2d") + 12 <= table.columnWidth(TYPE)
    row = next(r for r in range(table.rowCount())
               if table.item(r, 0).text() == "layer1_0_conv1")
    option = QStyleOptionViewItem()
    table.itemDelegateForColumn(LAYER).initStyleOption(option, table.model().index(row, LAYER))
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle
    assert cells(panel, PARAMS)["layer1_0_conv1"] == "36.9K"
    assert cells(panel, MACS)["conv1"] == "118M"  # 64·112·112 outputs × 3·7·7 weights


def test_frozen_layers_are_marked_in_the_parameter_column(qtbot) -> None:
    from app.core.templates import resnet18
    from app.ui.panels.summary import FROZEN, PARAMS

    panel = make_panel(qtbot, resnet18(), {"freeze": ["conv1", "bn1"]})
    panel.refresh()
    params = cells(panel, PARAMS)
    assert params["conv1"] == FROZEN + "9,408" and params["bn1"] == FROZEN + "128"
    assert params["fc"] == "513K"  # 512 * 1000 + 1000, trainable: no mark
    assert panel.totals["trainable"] == panel.totals["params"] - 9_408 - 128
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "bn1")
    assert "frozen" in panel.table.item(row, PARAMS).toolTip()


def test_unwired_layers_come_in_canvas_order_not_by_name(qtbot) -> None:
    """A blank network's Output, not wired yet, is listed last (where it sits on the
    canvas), not between the layers whose names sort around "output"."""
    from app.core.templates import blank_project

    doc = blank_project().network
    x, y = doc.node("image").pos
    for i, (name, kind) in enumerate((("flatten1", "Flatten"), ("fc1", "Linear"),
                                       ("relu1", "ReLU"))):
        doc.add_node(kind, name=name, pos=(x, y + 110.0 * (i + 1)))
    doc.connect("image", "out", "flatten1", "in")
    doc.connect("flatten1", "out", "fc1", "in")
    doc.connect("fc1", "out", "relu1", "in")
    output = next(n.name for n in doc.nodes if n.type == "Output")
    doc.move_node(output, (x, y + 600.0))
    panel = make_panel(qtbot, doc)
    panel.refresh()
    names = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert names == ["image", "flatten1", "fc1", "relu1", output]


def test_wide_dock_gives_the_names_the_room_and_follows_resizes(panel, qtbot) -> None:
    from app.ui.panels.summary import LAYER, MACS, PARAMS, SHAPE, TYPE

    panel.resize(900, 300)
    panel.refresh()
    qtbot.wait(20)
    table = panel.table
    wide = widths(panel)
    assert sum(wide) == table.viewport().width()  # no gap at the right edge
    for c in (SHAPE, PARAMS, MACS):
        assert wide[c] == natural(table, c)
    assert wide[TYPE] == natural(table, TYPE)
    assert wide[LAYER] > natural(table, LAYER) + 200  # the spare room goes to the names
    panel.resize(396, 300)  # the dock narrowed: no refresh, the resize alone refits
    qtbot.wait(20)
    assert sum(widths(panel)) <= table.viewport().width()
    assert widths(panel)[LAYER] < wide[LAYER]
