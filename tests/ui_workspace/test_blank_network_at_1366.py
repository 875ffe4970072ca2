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
