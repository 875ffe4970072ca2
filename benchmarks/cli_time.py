"""Wall time of the CLI commands that must stay instant: `info` and `check` import no torch.

    python benchmarks/cli_time.py [--runs 5]

Each run is a fresh `python -m app ...` process (interpreter start included). Targets:
`info --template resnet18 --json` <= 0.5 s (issue 18); `check` of a saved template with
data and training sections, the same.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import QUICK, figure


def wall(*args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = 1 if QUICK else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        project = str(Path(tmp) / "mnist_cnn.json")
        wall("new", "--template", "mnist_cnn", "-o", project)
        commands = {"info --template resnet18 --json": ("info", "--template", "resnet18",
                                                        "--json"),
                    "check (template with data and training sections)": ("check", project)}
        for label, command in commands.items():
            times = [wall(*command) for _ in range(runs)]
            print(f"{label}: " + ", ".join(f"{t:.2f} s" for t in times))
            figure(label, times, "s", 0.5)


if __name__ == "__main__":
    main()
