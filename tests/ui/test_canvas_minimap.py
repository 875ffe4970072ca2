"""The overview in the canvas corner: hidden while the network fits, a click moves the view."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest


def test_minimap_shows_when_the_network_is_taller_and_a_click_moves_the_view(
        resnet) -> None:
    window = resnet()
    view, minimap = window.view, window.view.minimap
    view.fit_all()
    QTest.qWait(1)
    assert not minimap.isVisible()
    window.scene.set_collapsed("layer1", False)
    window.scene.set_collapsed("layer2", False)
    view.set_zoom(1.0)
    view.centerOn(window.scene.nodes["image"].centre())
    QTest.qWait(1)
    assert minimap.isVisible()
    top = view.mapToScene(view.viewport().rect().center()).y()
    bottom = QPoint(minimap.width() // 2, minimap.height() - 8)
    window.code_view.wait_idle()
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bottom)
    centre = view.mapToScene(view.viewport().rect().center()).y()
    assert centre > top + 1000
    assert abs(centre - minimap.to_scene(bottom.toPointF()).y()) < 60
    view.fit_all()
    QTest.qWait(1)
    assert not minimap.isVisible()
