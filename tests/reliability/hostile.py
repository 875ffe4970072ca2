"""Shared by the reliability tests: a valid project to mutate and a CLI runner."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core.project import Project, to_json
from app.core.templates import get_template

ROOT = Path(__file__).resolve().parents[2]
# A small classifier on an offline set: loads in milliseconds, trains in a second.
BASE: dict[str, Any] = json.loads(to_json(get_template("softmax_regression").project()))
BASE["data"] = {"source": "iris"}
BASE["training"] = {"epochs": 1, "batch_size": 16, "device": "cpu",
                    "optimizer": {"name": "SGD", "lr": 0.1}}


def project_dict(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(sections))
    return data


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def cli(*args: str) -> tuple[int, str, str]:
    """`python -m app ARGS` in this process: (exit status, stdout, stderr)."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def cli_subprocess(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit status 1 and exactly one line on stderr, no traceback, naming the problem."""
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def loads_project(project: Project) -> dict[str, Any]:
    return json.loads(to_json(project))
