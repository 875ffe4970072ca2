"""Every palette entry reads whole on a 1366x768 laptop, and the canvas keeps 700 px."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStyle

from app.core.catalogue import CATALOGUE


def test_every_palette_name_fits_without_eliding_at_1366(make_window) -> None:
    window = make_window((1366, 768), ready=False)
    tree = window.palette.tree
    for i in range(tree.topLevelItemCount()):
        tree.topLevelItem(i).setExpanded(True)  # the collapsed torchvision blocks too
    QCoreApplication.processEvents()
    metrics = QFontMetrics(tree.font())
    # the item delegate leaves this margin on either side of the text
    margin = tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
    assert tree.verticalScrollBar().isVisible()  # the narrowest case: a scroll bar takes room
    for layer_type, item in window.palette.items.items():
        room = tree.visualItemRect(item).width() - 2 * margin
        text = item.text(0)
        assert text == CATALOGUE[layer_type].palette_name
        assert metrics.elidedText(text, tree.textElideMode(), room) == text, (
            f"{text!r} needs {metrics.horizontalAdvance(text)} px, has {room}")
    assert window.view.width() >= 700
