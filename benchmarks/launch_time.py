"""Launch -> window shown, and launch -> training tools ready (F5 runs at once).

    python benchmarks/launch_time.py [--runs 3] [--offscreen]

Each run is a fresh Python process started the way `python -m app` starts (so the
interpreter, Qt and our imports count); the child reports the wall-clock times at which
the window was shown and the training tools were ready, measured from just before the
parent started it. Prints each run and the median; the targets are 2 s and 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = """\
import sys, time
from PySide6.QtCore import QSettings, QTimer
from app.ui.launch import make_app
app = make_app()
from app.ui.main_window import DISCARD, MainWindow
window = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.ask_unsaved = lambda: DISCARD
window.show()
window.open_template("lenet5")
app.processEvents()
print("shown", time.time(), flush=True)
def ready():
    print("ready", time.time(), flush=True)
    QTimer.singleShot(0, app.quit)
window.trainingReady.connect(ready)
app.exec()
"""


def one_run(root: Path, settings: Path, env: dict[str, str]) -> tuple[float, float]:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, str(settings)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    times = {line.split()[0]: float(line.split()[1]) for line in done.stdout.splitlines()
             if line.startswith(("shown", "ready"))}
    return times["shown"] - started, times["ready"] - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--offscreen", action="store_true")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from benchmarks.report import QUICK, figure

    runs = 1 if QUICK else args.runs
    env = dict(os.environ, PYTHONPATH=str(root))
    if args.offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    settings = Path(os.environ.get("TMPDIR", "/tmp")) / f"launch-time-{os.getpid()}.ini"
    shown, ready = [], []
    for i in range(runs):
        s, r = one_run(root, settings, env)
        shown.append(s)
        ready.append(r)
        print(f"run {i + 1}: window shown {s:.2f} s, training ready {r:.2f} s")
    settings.unlink(missing_ok=True)
    figure("launch: window shown", shown, "s", 2)
    figure("launch: training tools ready (menu, F5)", ready, "s", 5)
    print(f"median: window shown {statistics.median(shown):.2f} s (target 2 s), "
          f"training ready {statistics.median(ready):.2f} s (target 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
