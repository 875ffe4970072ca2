"""Where the app's shipped files (icons, example projects) live.

From a source checkout that is the repository's `resources/`; in a PyInstaller bundle it is
`resources/` inside the bundle's data folder (`sys._MEIPASS`). Nothing here imports Qt.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """`resource_path("icons", "torchcanvas.svg")` -> the file, frozen or from source."""
    return resources_dir().joinpath(*parts)


def app_icon_path() -> Path:
    return resource_path("icons", "torchcanvas.svg")
