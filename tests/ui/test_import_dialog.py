"""File > Import Model…: a .py file or a torchvision model traced off the GUI thread into a
new project; a refused import leaves its one line in the dialog and the network on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.importer import import_torchvision
from app.core.templates import get_template
from app.ui.import_dialog import ImportDialog, open_imported, parse_shapes

TWO_LAYER = '''import torch.nn as nn

INPUT_SHAPE = (4,)


class TwoLayer(nn.Module):
    """Two layers"""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3, bias=False)
        self.spare = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''

BRANCHY = '''import torch.nn as nn


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x
'''


def _import(qtbot, dialog: ImportDialog) -> None:
    dialog.start_import()
    assert dialog.busy.isVisibleTo(dialog) and not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.job.running and not dialog.busy.isVisibleTo(dialog),
                    timeout=60000)


def _file_dialog(qtbot, window, path: Path, class_name: str, shape: str) -> ImportDialog:
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    dialog.from_file.setChecked(True)
    dialog.path.setText(str(path))
    dialog.class_name.setText(class_name)
    dialog.shape.setText(shape)
    return dialog


def test_py_file_imports_as_a_new_project(qtbot, make_window, settle, tmp_path: Path) -> None:
    source = tmp_path / "two.py"
    source.write_text(TWO_LAYER)
    window = make_window("lenet5")
    assert window.act_import in window.menuBar().actions()[0].menu().actions()
    dialog = _file_dialog(qtbot, window, source, "TwoLayer", "")  # the file's INPUT_SHAPE
    _import(qtbot, dialog)
    assert dialog.status.text() == ""
    result = dialog.result_
    assert result is not None
    open_imported(window, result)
    settle(window)
    doc = window.session.doc
    assert [(n.name, n.type) for n in doc.nodes] == [
        ("input", "Input"), ("fc1", "Linear"), ("relu", "ReLU"), ("fc2", "Linear"),
        ("output", "Output")]
    assert doc.node("input").params["shape"] == [4]
    assert doc.node("fc1").params["out_features"] == 8
    assert doc.node("fc1").params["bias"] is True
    assert (doc.node("fc2").params["out_features"], doc.node("fc2").params["bias"]) == (3, False)
    assert window.project.name == "Two layers" and window.path is None
    message = window.statusBar().currentMessage()
    assert message.endswith("2 weights are not used by forward(): spare.weight, spare.bias")


def test_data_dependent_branch_is_refused_in_the_dialog(qtbot, make_window, settle,
                                                        tmp_path: Path) -> None:
    source = tmp_path / "branchy.py"
    source.write_text(BRANCHY)
    window = make_window("lenet5")
    before = [n.name for n in window.session.doc.nodes]
    dialog = _file_dialog(qtbot, window, source, "Branchy", "4")
    _import(qtbot, dialog)
    assert dialog.result_ is None
    text = dialog.status.text()
    assert "branchy.py:10" in text, text
    assert "\n" not in text and "Traceback" not in text
    assert dialog.import_button.isEnabled()
    assert [n.name for n in window.session.doc.nodes] == before
    assert window.project.name != "Branchy"


def test_torchvision_model_matches_the_cli_import(qtbot, make_window, settle) -> None:
    window = make_window("lenet5")
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.names.count() > 1, timeout=60000)
    assert dialog.names.findText("squeezenet1_0") >= 0
    dialog.names.setCurrentText("squeezenet1_0")
    dialog.shape.setText("3,64,64")
    _import(qtbot, dialog)
    assert dialog.status.text() == ""
    open_imported(window, dialog.result_)
    settle(window)
    expected = import_torchvision("squeezenet1_0", (3, 64, 64)).doc
    doc = window.session.doc
    assert len(doc.nodes) == len(expected.nodes) > 20
    assert [n.type for n in doc.nodes] == [n.type for n in expected.nodes]
    assert doc.node(doc.nodes[0].name).params["shape"] == [3, 64, 64]
    assert window.project.name == "squeezenet1_0"


@pytest.mark.parametrize(("text", "shapes"), [("3,224,224", [(3, 224, 224)]),
                                              (" 4;4 ", [(4,), (4,)]), ("", None)])
def test_parse_shapes(text: str, shapes: list | None) -> None:
    assert parse_shapes(text) == shapes


@pytest.mark.parametrize("text", ["3,x,2", "3,0,2"])
def test_bad_shape_is_one_line_in_the_dialog(qtbot, make_window, text: str) -> None:
    window = make_window("lenet5")
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    dialog.from_file.setChecked(True)
    dialog.path.setText("model.py")
    dialog.shape.setText(text)
    dialog.start_import()
    assert dialog.job is None
    assert dialog.status.text().startswith("Input shape:")


def test_cancel_closes_the_dialog_while_tracing_and_drops_the_result(
        qtbot, make_window, settle, monkeypatch: pytest.MonkeyPatch) -> None:
    """fx cannot be interrupted: Cancel ends the dialog at once, the trace finishes in the
    background and what it returns never reaches the window."""
    import threading

    from PySide6.QtWidgets import QDialog, QDialogButtonBox

    from app.ui import import_dialog

    release, started = threading.Event(), threading.Event()
    imported = import_torchvision("squeezenet1_0", (3, 64, 64))

    def slow_trace(*args: object) -> object:
        started.set()
        release.wait(30)
        return imported

    monkeypatch.setattr(import_dialog, "run_import", slow_trace)
    window = make_window("lenet5")
    before = [n.name for n in window.session.doc.nodes]
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.names.count() > 1, timeout=60000)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.start_import()
    assert started.wait(10) and dialog.job.running
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel.isEnabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.job.running  # the trace goes on in the background
    release.set()
    qtbot.waitUntil(lambda: not dialog.job.running, timeout=10000)
    qtbot.wait(50)  # the queued result arrives and is dropped
    settle(window)
    assert dialog.result_ is None and not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert [n.name for n in window.session.doc.nodes] == before


def test_an_imported_resnet_opens_with_its_stages_collapsed(qtbot, make_window,
                                                            settle) -> None:
    window = make_window("lenet5")
    open_imported(window, import_torchvision("resnet18", (3, 64, 64)))
    settle(window)
    scene = window.scene
    assert scene.collapsed() == ["layer1", "layer2", "layer3", "layer4"]
    assert window.project.canvas == get_template("resnet18").project().canvas
    shown = [n.name for n in window.session.doc.nodes if n.name not in scene.hidden]
    assert {"conv1", "fc", "input", "output"} <= set(shown)
    assert list(scene.members) == ["layer1", "layer2", "layer3", "layer4"]
    assert len(shown) + len(scene.members) == 13  # nine layers and four blocks
    assert len(window.session.doc.nodes) == 71
