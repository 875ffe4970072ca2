"""Qt UI tests: offscreen, with settings and autosaves in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Never read or write the user's real settings or autosave folder."""
    folder = tmp_path_factory.mktemp("qsettings")
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName("TorchCanvasTests")
    QCoreApplication.setApplicationName("TorchCanvasTests")
    return folder


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    from app.ui.main_window import DISCARD, MainWindow

    windows = []

    def make(template: str | None = "lenet5") -> MainWindow:
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"),
                             QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
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
