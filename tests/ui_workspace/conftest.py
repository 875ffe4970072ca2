"""Workspace tests: a real MainWindow with its four modes, tiny offline data."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings


@pytest.fixture(scope="session", autouse=True)
def _isolated(isolated_settings: Path) -> Path:
    return isolated_settings


@pytest.fixture
def messages() -> list[tuple[str, str, bool]]:
    """What the window told the student through inform() (title, text, error)."""
    return []


@pytest.fixture
def make_window(qtbot, tmp_path: Path, messages):
    """make(size=(w, h), ready=True) -> window; `ready` waits for the training tools."""
    from app.ui.main_window import DISCARD, MainWindow

    made = []

    def make(size: tuple[int, int] = (1366, 768), ready: bool = True,
             settings_file: str | None = None):
        settings = QSettings(str(tmp_path / (settings_file or f"settings{len(made)}.ini")),
                             QSettings.Format.IniFormat)
        settings.setValue("lastDir", str(tmp_path))
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
        window.ask_unsaved = lambda: DISCARD
        window.ask_stop_run = lambda *_: True
        window.inform = lambda title, text, error=False: messages.append((title, text, error))
        qtbot.addWidget(window)
        window.resize(*size)
        made.append(window)
        if ready:
            with qtbot.waitSignal(window.trainingReady, timeout=120_000):
                window.show()
        else:
            window.show()
        return window

    yield make
    for window in made:
        if not shiboken6.isValid(window):
            continue
        if window.training_docks is not None:
            window.training_docks.shutdown()
        window.session.stack.setClean()
        window.autosaver.stop()
