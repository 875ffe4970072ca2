"""Learning-aid windows: offscreen, settings in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(scope="session", autouse=True)
def _isolated(isolated_settings: Path) -> Path:
    return isolated_settings


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """The editor alone (no training docks) with LeNet-5 open."""
    from app.ui.main_window import DISCARD, MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave", training=False)
    w.ask_unsaved = lambda: DISCARD
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    w.open_template("lenet5")
    QCoreApplication.processEvents()
    yield w
    w.session.stack.setClean()
    w.autosaver.stop()
