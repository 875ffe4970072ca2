"""Look-and-feel tests: themes, contrast, plots, and the small panels of the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated(isolated_settings: Path) -> Path:
    return isolated_settings


@pytest.fixture
def use_theme(qapp):
    """use_theme(name) switches the application's theme; light is restored afterwards."""
    from app.ui import theme

    yield lambda name: theme.apply_theme(name, qapp)
    theme.apply_theme("light", qapp)
