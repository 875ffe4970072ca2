"""The import contract of the architecture (DESIGN.md, "The rules of the architecture").

core imports nothing of the other packages; data imports only core; training core and
data; analysis anything but the ui; learn (the learning aids) anything but the ui; and
nothing below the ui imports Qt. Checked twice:
statically over every import statement (function-level ones included), and by importing
each layer in a fresh interpreter and looking at what landed in `sys.modules`, which
also catches an indirect import through a third-party module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "data": {"core", "data"},
    "training": {"core", "data", "training"},
    "analysis": {"core", "data", "training", "analysis"},
    "learn": {"core", "data", "training", "analysis", "learn"},
}
APP_PACKAGES = ("core", "data", "training", "analysis", "learn", "ui")


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of every module `path` imports; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
    return names


def violations(root: Path, layer: str) -> list[str]:
    """Every import in `root/app/<layer>` that the contract forbids, as readable lines."""
    offenders = []
    for path in sorted((root / "app" / layer).rglob("*.py")):
        package = ".".join(path.relative_to(root).parent.parts)
        for module in sorted(imported_modules(path, package)):
            parts = module.split(".")
            if parts[0] in QT_MODULES:
                offenders.append(f"{path.relative_to(root)} imports Qt ({module})")
            elif parts[0] == "app" and (len(parts) == 1 or parts[1] not in ALLOWED[layer]):
                offenders.append(f"{path.relative_to(root)} imports {module}")
    return offenders


@pytest.mark.parametrize("layer", ALLOWED)
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    assert violations(ROOT, layer) == []


@pytest.mark.parametrize("layer", ALLOWED)
def test_importing_a_layer_loads_nothing_above_it_and_no_qt(layer: str) -> None:
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts)
               for p in sorted((ROOT / "app" / layer).rglob("*.py"))]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted({m.split('.')[0] if not m.startswith('app.') else m.split('.')[1]"
            " for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert loaded & set(QT_MODULES) == set()
    assert loaded & set(APP_PACKAGES) <= ALLOWED[layer]


def test_the_checker_catches_forbidden_imports(tmp_path: Path) -> None:
    core = tmp_path / "app" / "core"
    core.mkdir(parents=True)
    (core / "fine.py").write_text("from app.core import params\nimport numpy\n")
    (core / "bad.py").write_text(
        "import PySide6.QtCore\n"
        "from ..training import trainer\n"
        "def later():\n"
        "    from app.ui.session import EditorSession\n")
    assert violations(tmp_path, "core") == [
        "app/core/bad.py imports Qt (PySide6.QtCore)",
        "app/core/bad.py imports app.training",
        "app/core/bad.py imports app.ui.session",
    ]
    analysis = tmp_path / "app" / "analysis"
    analysis.mkdir()
    (analysis / "view.py").write_text("from app.training import events\nimport app.ui.theme\n")
    assert violations(tmp_path, "analysis") == ["app/analysis/view.py imports app.ui.theme"]
    learn = tmp_path / "app" / "learn"
    learn.mkdir()
    (learn / "aid.py").write_text("from app.analysis import evaluation\nimport pyqtgraph\n"
                                  "from app.ui.learn import menu\n")
    (analysis / "uses_learn.py").write_text("from app.learn import aid\n")
    assert violations(tmp_path, "learn") == ["app/learn/aid.py imports app.ui.learn",
                                             "app/learn/aid.py imports Qt (pyqtgraph)"]
    assert "app/analysis/uses_learn.py imports app.learn" in violations(tmp_path, "analysis")
