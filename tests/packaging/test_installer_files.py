"""Fast checks of what the installers are made of: resource lookup, icons, menu entry, .deb layout."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app import resources

ROOT = Path(__file__).resolve().parents[2]


def _load(relative: str) -> ModuleType:
    # By path: `packaging` would import the PyPI library of that name.
    spec = importlib.util.spec_from_file_location(Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resources_come_from_the_checkout_when_not_frozen() -> None:
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.app_icon_path().read_text().lstrip().startswith("<?xml")


def test_resources_come_from_the_bundle_when_frozen(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resource_path("examples", "lenet5.json") == (
        tmp_path / "resources" / "examples" / "lenet5.json")


def test_icon_pngs_have_their_sizes() -> None:
    from PIL import Image

    deb = _load("packaging/linux/build_deb.py")
    for size in deb.PNG_SIZES:
        with Image.open(ROOT / "resources" / "icons" / f"torchcanvas-{size}.png") as png:
            assert png.size == (size, size) and png.mode == "RGBA"
            assert png.getpixel((0, 0))[3] == 0  # transparent corner: the tile is rounded
            assert png.getpixel((size // 2, size // 2))[3] == 255


def test_menu_entry_names_the_launcher_and_icon_the_deb_installs() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "torchcanvas.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    assert desktop["Exec"].split()[0] == "torchcanvas" == desktop["Icon"]
    assert desktop["StartupWMClass"] == "TorchCanvas"
    from app.ui.launch import DESKTOP_ID

    assert DESKTOP_ID == "torchcanvas"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian/Ubuntu)")
def test_deb_layout_from_a_small_stand_in_bundle(tmp_path: Path) -> None:
    deb = _load("packaging/linux/build_deb.py")
    bundle = tmp_path / "TorchCanvas"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "TorchCanvas").write_text("#!/bin/sh\necho bundled \"$@\"\n")
    (bundle / "TorchCanvas").chmod(0o755)
    staging = tmp_path / "staging"
    deb.stage(bundle, staging, "1.2.3")
    package = tmp_path / "tc.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(staging),
                    str(package)], check=True, capture_output=True)
    contents = subprocess.run(["dpkg-deb", "--contents", str(package)], check=True,
                              capture_output=True, text=True).stdout
    for path in ("./opt/torchcanvas/TorchCanvas", "./usr/bin/torchcanvas",
                 "./usr/share/applications/torchcanvas.desktop",
                 "./usr/share/icons/hicolor/48x48/apps/torchcanvas.png",
                 "./usr/share/icons/hicolor/scalable/apps/torchcanvas.svg"):
        assert path in contents
    assert "root/root" in contents
    # No maintainer scripts: `dpkg -r` must leave no package record behind.
    assert sorted(p.name for p in (staging / "DEBIAN").iterdir()) == ["control"]
    info = subprocess.run(["dpkg-deb", "--field", str(package), "Package", "Version"],
                          check=True, capture_output=True, text=True).stdout
    assert info.split() == ["Package:", "torchcanvas", "Version:", "1.2.3"]
    launcher = staging / "usr" / "bin" / "torchcanvas"
    assert "exec /opt/torchcanvas/TorchCanvas \"$@\"" in launcher.read_text()
