"""The PyInstaller spec, read without building: what it hands the analysis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "torchcanvas.spec"
# What an ONNX export imports from the `onnx` package, printed by a fresh interpreter (those
# with a file: the C extension's own submodules come inside its library).
ONNX_IMPORTS = """
import sys
from app.core.onnx_export import export_onnx
from app.core.templates import build_template
export_onnx(build_template("lenet5"), sys.argv[1])
print("\\n".join(m for m, module in list(sys.modules.items())
                if (m == "onnx" or m.startswith("onnx.")) and getattr(module, "__file__", None)))
"""


def analysis_arguments() -> dict[str, Any]:
    """Run the spec with PyInstaller's build steps replaced by recorders."""
    pytest.importorskip("PyInstaller")
    seen: dict[str, Any] = {}

    def analysis(scripts: list[str], **kwargs: Any) -> SimpleNamespace:
        seen.update(kwargs)
        return SimpleNamespace(pure=[], datas=[], scripts=[], binaries=[])
    names = {"SPECPATH": str(SPEC.parent), "Analysis": analysis,
             **{step: lambda *a, **k: None for step in ("PYZ", "EXE", "COLLECT", "BUNDLE")}}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), names)  # noqa: S102 -- our own file
    return seen


def test_the_bundle_gets_every_onnx_module_an_onnx_export_imports(tmp_path: Path) -> None:
    hidden = set(analysis_arguments()["hiddenimports"])
    run = subprocess.run([sys.executable, "-c", ONNX_IMPORTS, str(tmp_path / "m.onnx")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    imported = set(run.stdout.split())
    assert "onnx.checker" in imported  # torch loads it lazily: the analysis cannot see it
    assert imported <= hidden, sorted(imported - hidden)
    assert not any(name.startswith("onnx.backend.test") for name in hidden)
