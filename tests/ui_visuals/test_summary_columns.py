"""The Summary table shows every column without scrolling in the right dock of a
1366x768 screen (the walkthrough found "Trainable" and "MACs" cut off there)."""

from __future__ import annotations

import pytest


@pytest.fixture
def panel(qtbot):
    from app.core.templates import lenet5
    from app.ui.panels.summary import SummaryPanel
    from app.ui.session import EditorSession

    session = EditorSession(lenet5())
    session.infer_now()
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def widths(panel) -> list[int]:
    return [panel.table.columnWidth(c) for c in range(panel.table.columnCount())]


@pytest.mark.parametrize("width", [396, 560])  # the right dock at 1366x768: default, with Code
def test_narrow_dock_shows_every_column_and_whole_numbers(panel, qtbot, width) -> None:
    from app.ui.panels.summary import MIN_SHRUNK_CHARS, SHRINKABLE

    panel.resize(width, 300)
    panel.refresh()
    qtbot.wait(20)
    table = panel.table
    assert sum(widths(panel)) <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    header = table.horizontalHeader()
    for c in range(2, table.columnCount() - 1):  # shape, parameters, trainable: never cut
        assert table.columnWidth(c) >= max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
    last = table.columnCount() - 1  # MACs stretches into what is left
    assert table.columnWidth(last) >= table.sizeHintForColumn(last)
    floor = table.fontMetrics().horizontalAdvance("M" * MIN_SHRUNK_CHARS)
    for c in SHRINKABLE:
        assert table.columnWidth(c) >= floor
        assert table.item(0, c).toolTip() == table.item(0, c).text()


def test_wide_dock_gives_every_column_its_contents_and_follows_resizes(panel, qtbot) -> None:
    panel.resize(900, 300)
    panel.refresh()
    qtbot.wait(20)
    table, header = panel.table, panel.table.horizontalHeader()
    natural = [max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
               for c in range(table.columnCount())]
    assert widths(panel)[:-1] == natural[:-1]
    panel.resize(396, 300)  # the dock narrowed: no refresh, the resize alone refits
    qtbot.wait(20)
    assert sum(widths(panel)) <= table.viewport().width()
    assert widths(panel)[0] < natural[0] or widths(panel)[1] < natural[1]
