"""The Input is checked against a sample of the loaded data: Problems offers the fix."""

from __future__ import annotations

from app.core.templates import blank_project
from app.ui.commands import fix_command
from app.ui.session import EditorSession


def _session_with_input(shape: list[int]) -> EditorSession:
    project = blank_project()
    project.network.set_params("image", {"shape": shape})
    return EditorSession(project)


def test_mismatched_input_gets_a_set_input_fix_that_undoes(qtbot) -> None:
    session = _session_with_input([3, 32, 32])
    session.infer_now()
    assert not any("gives samples" in p.message for p in session.problems)

    session.set_data_sample((1, 28, 28), "float32", "the digits data")
    session.infer_now()
    [problem] = [p for p in session.problems if "gives samples" in p.message]
    assert problem.node == "image"
    assert "3×32×32" in problem.message and "the digits data" in problem.message
    [fix] = problem.fixes
    assert fix.label == "Set Input to 1×28×28 from the dataset"

    assert session.push(fix_command(session, fix))
    assert session.doc.node("image").params["shape"] == [1, 28, 28]
    session.infer_now()
    assert not any("gives samples" in p.message for p in session.problems)
    session.stack.undo()
    assert session.doc.node("image").params["shape"] == [3, 32, 32]


def test_a_new_project_forgets_the_old_data_sample(qtbot) -> None:
    session = _session_with_input([1, 28, 28])
    session.set_data_sample((3, 32, 32), "float32", "the shapes data")
    session.set_project(blank_project())
    session.infer_now()
    assert session.data_sample is None
    assert not any("gives samples" in p.message for p in session.problems)


def test_blank_project_stores_the_default_data_source() -> None:
    assert blank_project().data == {"source": "digits"}


def test_problems_panel_shows_the_data_fix_as_a_button(qtbot) -> None:
    from app.ui.panels.problems import ProblemsPanel

    session = _session_with_input([3, 32, 32])
    panel = ProblemsPanel(session)
    qtbot.addWidget(panel)
    session.set_data_sample((1, 28, 28), "float32", "the digits data")
    session.infer_now()
    panel.refresh()
    labels = [b.text() for b in panel.fix_buttons()]
    assert "Fix: Set Input to 1×28×28 from the dataset" in labels
    with qtbot.waitSignal(panel.fixRequested) as got:
        panel.fix_buttons()[labels.index("Fix: Set Input to 1×28×28 from the dataset")].click()
    assert got.args[0].value == [1, 28, 28]
