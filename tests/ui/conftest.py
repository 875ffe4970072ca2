"""Qt UI tests: offscreen, with settings and autosaves in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(scope="session", autouse=True)
def _isolated(isolated_settings: Path) -> Path:
    return isolated_settings


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    from app.ui.main_window import DISCARD, MainWindow

    windows = []

    def make(template: str | None = "lenet5") -> MainWindow:
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"),
                             QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave",
                            training=False)  # the editor alone; tests/ui_training adds docks
        window.ask_unsaved = lambda: DISCARD  # no modal dialogs in tests
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        if template:
            window.open_template(template)
        settle(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.session.stack.setClean()
        window.autosaver.stop()


@pytest.fixture
def resnet(make_window):
    """Windows whose background code generation (which builds the torch model) is finished
    before mouse input and at the end, so no generation thread outlives the test."""
    windows = []

    def make(template: str | None = "resnet18"):
        window = make_window(template)
        window.code_view.wait_idle()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.code_view.wait_idle()


@pytest.fixture
def window(make_window):
    return make_window("lenet5")


def settle(window) -> None:
    """Run the pending shape inference now (it normally runs on the next event-loop tick)."""
    QCoreApplication.processEvents()
    if window.session.pending:
        window.session.infer_now()


@pytest.fixture(name="settle")
def settle_fixture():
    return settle


@pytest.fixture
def image_into_linear():
    """An image fed straight into a Linear layer: a warning with a one-click Flatten fix."""
    from app.core.graph import NetworkDocument

    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [1, 28, 28]}, "image", (0, 0))
    doc.add_node("Linear", {"out_features": 10}, "fc", (0, 110))
    doc.add_node("Output", {}, "logits", (0, 220))
    doc.chain("image", "fc", "logits")
    return doc
