"""Training UI tests: a real MainWindow with the training docks, tiny offline data."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(scope="session", autouse=True)
def _isolated(isolated_settings: Path) -> Path:
    return isolated_settings


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """make(doc, data, training) -> (window, docks) with the project loaded."""
    from app.core.project import Project
    from app.ui.main_window import DISCARD, MainWindow

    made = []

    def make(doc=None, data=None, training=None):
        settings = QSettings(str(tmp_path / f"settings{len(made)}.ini"),
                             QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
        window.ask_unsaved = lambda: DISCARD
        qtbot.addWidget(window)
        window.resize(1400, 900)
        with qtbot.waitSignal(window.trainingReady, timeout=120_000):
            window.show()  # the docks arrive once torch & co. are imported
        docks = window.training_docks
        if doc is not None:
            window.load(doc, Project(doc, name="test", data=dict(data or {}),
                                     training=dict(training or {})), None)
        made.append((window, docks))
        return window, docks

    yield make
    for window, docks in made:
        docks.shutdown()
        window.session.stack.setClean()
        window.autosaver.stop()
