"""A student's blank network on a 1366x768 laptop: F5 says why it cannot train, and the
Code panel does not widen the right dock column."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.shapes import Problem
from app.ui.training.docks import cannot_train_message


def test_f5_on_a_network_with_errors_names_the_first_problem(make_window) -> None:
    window = make_window((1366, 768))
    docks = window.training_docks
    window.new_blank()  # its Output has no input
    window.act_train.trigger()
    QCoreApplication.processEvents()
    assert not docks.running and docks.run is None
    expected = ("Cannot train: output — has no input: connect a layer's output to it "
                "(1 error; see Problems)")
    assert window.statusBar().currentMessage() == expected
    assert docks.training_panel.error.text() == expected
    assert not docks.training_panel.error.isHidden()
    assert "errors" in docks.training_panel.progress_text.text()
    assert window.scene.selected_nodes() == ["output"]
    assert window.problems.isVisible()  # in front of the Summary tab it shares


def test_the_message_counts_errors_and_keeps_messages_without_a_node() -> None:
    found = [Problem("the network has no Input", None), Problem("fc has no input", "fc")]
    assert cannot_train_message(found) == ("Cannot train: the network has no Input "
                                           "(2 errors; see Problems)")


def test_code_panel_error_line_does_not_widen_the_right_docks(make_window) -> None:
    window = make_window((1366, 768))
    window.new_blank()
    window.code_view.wait_idle()
    QCoreApplication.processEvents()
    assert "errors" in window.code_view.status.text()  # the long line is showing
    assert window.inspector_dock.width() <= 420
    assert window.code_dock.width() <= 420
    assert window.view.width() >= 700


def _red_pixels(window, name: str) -> int:
    """Pixels of the node's card within a small distance of the theme's error colour."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    from app.ui import theme

    item = window.scene.nodes[name]
    rect = item.sceneBoundingRect().adjusted(-4, -4, 4, 4)
    image = QImage(int(rect.width()) * 2, int(rect.height()) * 2, QImage.Format.Format_RGB32)
    image.fill(QColor(theme.current().canvas))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    red = QColor(theme.current().error)
    return sum(abs(QColor(image.pixel(x, y)).red() - red.red()) < 30
               and abs(QColor(image.pixel(x, y)).green() - red.green()) < 30
               and abs(QColor(image.pixel(x, y)).blue() - red.blue()) < 30
               for x in range(0, image.width(), 2) for y in range(0, image.height(), 2))


def test_a_blank_network_starts_with_steps_to_do_not_errors(make_window) -> None:
    window = make_window((1366, 768))
    window.new_blank()
    window.session.infer_now()
    QCoreApplication.processEvents()
    output = window.scene.nodes["output"]
    assert output.status == "unwired" and output.shape_text == "connect a layer here"
    assert not output.has_badge()
    assert _red_pixels(window, "output") == 0
    top = window.problems.tree.topLevelItem(0)
    assert top.text(0).startswith("➜  output has no input")
    assert "step(s) to do" in window.problems.summary.text()
    assert "step(s) to do" in window.problem_status.text()
    assert "error" not in window.problem_status.text()
    window.inspector.show_node(None)
    overview = window.inspector.overview.text()
    assert "➜ output has no input" in overview and "⚠" not in overview
    assert "error" not in overview
    # a half-wired merge is a real mistake: red, with a badge
    doc = window.session.doc
    doc.add_node("Add", {}, "add", (0.0, 120.0))
    doc.connect("image", "out", "add", "in1")
    window.session.infer_now()
    QCoreApplication.processEvents()
    assert window.scene.nodes["add"].status == "error"
    assert _red_pixels(window, "add") > 20
    assert "1 error(s)" in window.problem_status.text()
    doc.remove_node("add")
    doc.connect("image", "out", "output", "in")
    window.session.infer_now()
    QCoreApplication.processEvents()
    assert window.scene.nodes["output"].status == "ok"
    assert "shapes OK" in window.problem_status.text()
