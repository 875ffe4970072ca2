"""Build the one-folder bundle (and on Linux the .deb) and print what they cost.

    python packaging/build.py            # dist/TorchCanvas/ (PyInstaller, packaging/torchcanvas.spec)
    python packaging/build.py --deb      # ... and dist/torchcanvas_<version>_amd64.deb
    python packaging/build.py --deb-only # .deb from an existing dist/TorchCanvas/

Run it with the Python environment whose torch the bundle should carry (the CPU-only or the
CUDA wheels; see docs/INSTALL.md). The bundle records a digest of the sources it was built
from (BUILD-SOURCES.txt) so the bundle test can tell a stale bundle from a fresh one.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
SPEC = ROOT / "packaging" / "torchcanvas.spec"
BUNDLE = DIST / "TorchCanvas"
STAMP = "BUILD-SOURCES.txt"
# Everything the bundle is made of, apart from the installed libraries.
SOURCE_GLOBS = ("app/**/*.py", "resources/icons/*", "resources/examples/*.json",
                "resources/torchcanvas.desktop", "packaging/launcher.py",
                "packaging/torchcanvas.spec")


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def sources_digest(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    files = sorted({p for pattern in SOURCE_GLOBS for p in root.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build_bundle() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)],
                   cwd=ROOT, check=True)
    (BUNDLE / STAMP).write_text(sources_digest() + "\n")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", action="store_true", help="also build the Debian package")
    parser.add_argument("--deb-only", action="store_true", help="only the Debian package")
    args = parser.parse_args(argv)
    if not args.deb_only:
        seconds = build_bundle()
        print(f"bundle: {BUNDLE} {folder_size(BUNDLE) / 2**30:.2f} GiB, "
              f"built in {seconds / 60:.1f} min")
    if args.deb or args.deb_only:
        sys.path.insert(0, str(ROOT / "packaging" / "linux"))
        from build_deb import build_deb

        started = time.perf_counter()
        deb = build_deb(BUNDLE, DIST, version())
        print(f"deb: {deb} {deb.stat().st_size / 2**30:.2f} GiB, "
              f"packed in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
