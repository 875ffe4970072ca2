"""Pack dist/TorchCanvas/ into a Debian package with dpkg-deb.

Layout: the bundle under /opt/torchcanvas, a `torchcanvas` launcher in /usr/bin, the menu
entry in /usr/share/applications and the icon in the hicolor theme. Settings and autosaves
live in the user's home (QSettings, QStandardPaths), so `dpkg -r torchcanvas` removes every
file the package brought and nothing else is left in the system folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"
DESKTOP = ROOT / "resources" / "torchcanvas.desktop"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
INSTALL_DIR = "opt/torchcanvas"
# Libraries the bundle takes from the system (glibc, OpenGL/EGL, X11/xcb, fonts); the
# alternatives cover Debian 12 and Ubuntu 24.04's t64 names.
DEPENDS = ("libc6 (>= 2.31), libegl1, libgl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, "
           "libdbus-1-3, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, "
           "libglib2.0-0t64 | libglib2.0-0")
LAUNCHER = f"""#!/bin/sh
# TorchCanvas: the editor, or a command (torchcanvas export --template lenet5 -o m.py).
exec /{INSTALL_DIR}/TorchCanvas "$@"
"""
# zstd -9 packs the 4 GB bundle ~18x faster than xz -6 for a 4% larger file (measured on the
# CUDA libraries); dpkg reads it from 1.21.18 (Debian 12, Ubuntu 22.04). DEB_COMPRESSION=xz
# builds a package for older systems.
COMPRESSION = os.environ.get("DEB_COMPRESSION", "zstd")
LEVEL = os.environ.get("DEB_LEVEL", "9" if COMPRESSION == "zstd" else "6")
MAINTAINER = os.environ.get("DEB_MAINTAINER", "TorchCanvas developers <torchcanvas@localhost>")


def _control(version: str, installed_kib: int) -> str:
    return (f"Package: torchcanvas\nVersion: {version}\nArchitecture: amd64\n"
            f"Maintainer: {MAINTAINER}\n"
            f"Installed-Size: {installed_kib}\nDepends: {DEPENDS}\nSection: education\n"
            f"Priority: optional\n"
            f"Description: Build, train and export PyTorch networks visually\n"
            f" TorchCanvas is a desktop editor in which students drag layers onto a canvas,\n"
            f" see tensor shapes update live, train on CPU or GPU with live plots and\n"
            f" export plain PyTorch code. Python, PyTorch and Qt are bundled.\n")


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def stage(bundle: Path, staging: Path, version: str) -> None:
    """Lay out the package tree; the bundle is hard-linked, not copied (it is GBs)."""
    if staging.exists():
        shutil.rmtree(staging)
    target = staging / INSTALL_DIR
    target.parent.mkdir(parents=True)
    shutil.copytree(bundle, target, symlinks=True, copy_function=os.link)
    _write(staging / "usr/bin/torchcanvas", LAUNCHER, 0o755)
    apps = staging / "usr/share/applications"
    apps.mkdir(parents=True)
    shutil.copy(DESKTOP, apps / "torchcanvas.desktop")
    hicolor = staging / "usr/share/icons/hicolor"
    for size in PNG_SIZES:
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copy(ICONS / f"torchcanvas-{size}.png", folder / "torchcanvas.png")
    (hicolor / "scalable/apps").mkdir(parents=True)
    shutil.copy(ICONS / "torchcanvas.svg", hicolor / "scalable/apps/torchcanvas.svg")
    installed = sum(p.stat().st_size for p in staging.rglob("*")
                    if p.is_file() and not p.is_symlink())
    # No maintainer scripts: the hicolor and desktop-file triggers refresh the icon and menu
    # caches, and without a postrm `dpkg -r` leaves no record of the package behind.
    _write(staging / "DEBIAN/control", _control(version, installed // 1024))


def build_deb(bundle: Path, out_dir: Path, version: str) -> Path:
    if not (bundle / "TorchCanvas").is_file():
        raise SystemExit(f"no bundle at {bundle}: run packaging/build.py first")
    staging = ROOT / "build" / "deb" / "torchcanvas"
    stage(bundle, staging, version)
    deb = out_dir / f"torchcanvas_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{COMPRESSION}", f"-z{LEVEL}", "--build",
                    str(staging), str(deb)], check=True)
    shutil.rmtree(staging)
    return deb
