"""Which bundled packages does the app actually import? Run the bundle and compare.

    python packaging/import_report.py [dist/TorchCanvas/TorchCanvas]

Runs every CLI command and the GUI (offscreen screenshot) from the bundle in a clean
environment with TORCHCANVAS_IMPORT_LOG set, then prints, per top-level package in the
bundle's module archive, how many modules were bundled and how many were imported, and the
disk size of its folder in _internal/. Packages with 0 imported modules are candidates for
the spec's EXCLUDES; packages that are imported must stay even if large.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from PyInstaller.archive.readers import CArchiveReader

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = (
    ("templates",),
    ("info", "--template", "resnet18"),
    ("export", "--template", "lenet5", "-o", "m.py", "--train-script", "train.py"),
    ("export", "--template", "lenet5", "--onnx", "m.onnx"),
    ("new", "--template", "linear_regression", "-o", "lr.json"),
    ("check", "lr.json"),
    ("train", "lr.json", "--epochs", "1", "--tensorboard", "tb"),
    ("new", "--template", "lenet5", "-o", "lenet.json"),
    ("train", "lenet.json", "--epochs", "1"),
    ("import", "--torchvision", "resnet18", "-o", "r.json"),
    ("--screenshot", "shot.png"),
)


def bundled_modules(exe: Path) -> list[str]:
    archive = CArchiveReader(str(exe))
    names = [n for n, entry in archive.toc.items() if entry[-1] == "z"]  # the PYZ entry
    return list(archive.open_embedded_archive(names[0]).toc)


def imported_modules(exe: Path) -> set[str]:
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "imports.tsv"
        env = {"HOME": home, "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen",
               "TORCHCANVAS_IMPORT_LOG": str(log)}
        for args in WORKLOAD:
            subprocess.run([str(exe), *args], cwd=home, env=env, check=True,
                           capture_output=True)
        return {line.split("\t")[0] for line in log.read_text().splitlines()}


def folder_mib(path: Path) -> float:
    if not path.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*")
               if p.is_file() and not p.is_symlink()) / 2**20


def main(argv: list[str]) -> int:
    exe = Path(argv[0]) if argv else ROOT / "dist" / "TorchCanvas" / "TorchCanvas"
    bundled = bundled_modules(exe)
    imported = imported_modules(exe)
    total, used = Counter(), Counter()
    for name in bundled:
        top = name.partition(".")[0]
        total[top] += 1
        used[top] += name in imported
    internal = exe.parent / "_internal"
    folders = {d.name for d in internal.iterdir() if d.is_dir() and not d.name.endswith("-info")}
    rows = sorted(set(total) | folders, key=lambda top: -folder_mib(internal / top))
    print(f"{'package':<28}{'bundled':>9}{'imported':>10}{'MiB on disk':>13}")
    for top in rows:
        print(f"{top:<28}{total[top]:>9}{used[top]:>10}{folder_mib(internal / top):>13.1f}")
    unused = [top for top in rows if total[top] and not used[top]]
    print(f"\n{len(unused)} bundled packages never imported: {', '.join(unused)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
