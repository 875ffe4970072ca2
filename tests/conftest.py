"""Fixtures shared by the Qt test folders (tests/ui, tests/ui_training)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Never read or write the user's real settings or autosave folder."""
    from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths

    folder = tmp_path_factory.mktemp("qsettings")
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName("TorchCanvasTests")
    QCoreApplication.setApplicationName("TorchCanvasTests")
    return folder
