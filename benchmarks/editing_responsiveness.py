"""How long the issue-13 edits take on big networks (offscreen Qt, whole window).

For ResNet-18 and the 500-node network of canvas_responsiveness.py prints, in ms (median
of repeats), each edit as the student triggers it -- command, document, canvas items and
wires updated -- and its undo, against the 50 ms target:
  insert-wire   a layer dropped on the first wire (everything downstream moves down)
  insert-after  palette Enter with the first layer selected (the same, from the palette)
  replace-wire  dragging a wire onto an occupied input
Shape inference runs afterwards on the next event-loop tick and is measured by
canvas_responsiveness.py.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editing_responsiveness.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from canvas_responsiveness import big_network  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.project import Project  # noqa: E402
from app.core.templates import get_template  # noqa: E402
from app.ui.commands import (  # noqa: E402
    insert_after_command,
    replace_wire_command,
)
from app.ui.main_window import DISCARD, MainWindow  # noqa: E402

TARGET_MS = 50.0
REPEATS = 7


def timed(edit: Callable[[], object], window: MainWindow) -> tuple[float, float]:
    """Median ms of the edit and of its undo."""
    do, undo = [], []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        edit()
        QApplication.processEvents()  # the repaint the edit caused
        t1 = time.perf_counter()
        window.session.stack.undo()
        QApplication.processEvents()
        t2 = time.perf_counter()
        do.append((t1 - t0) * 1000)
        undo.append((t2 - t1) * 1000)
    return statistics.median(do), statistics.median(undo)


def measure(window: MainWindow, project: Project) -> dict[str, tuple[float, float]]:
    window.load(project.network, project, None)
    QApplication.processEvents()
    window.session.infer_now()
    doc, s = window.session.doc, window.session
    first = next(e for e in doc.edges if doc.node(e.src).type == "Input")
    layer = first.dst
    wire = doc.incoming(layer)[first.dst_port]
    far = doc.topological_order()[-2]
    target_port = doc.node(far).input_ports()[0]
    return {
        "insert-wire": timed(lambda: window.scene.insert_on_wire(wire, "BatchNorm2d"), window),
        "insert-after": timed(lambda: s.push(insert_after_command(s, layer, "ReLU")), window),
        "replace-wire": timed(lambda: s.push(replace_wire_command(
            s, layer, "out", far, target_port)), window),
    }


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat),
                            autosave_dir=Path(tmp), training=False)
        window.ask_unsaved = lambda: DISCARD
        window.resize(1366, 768)
        window.show()
        app.processEvents()
        cases = {"resnet18": get_template("resnet18").project(),
                 "500 nodes": Project(big_network())}
        for label, project in cases.items():
            print(f"{label} ({len(project.network.nodes)} nodes)")
            for name, (do, undo) in measure(window, project).items():
                print(f"  {name:13s} {do:7.2f} ms  undo {undo:7.2f} ms   "
                      f"ratio to {TARGET_MS:.0f} ms target: {max(do, undo) / TARGET_MS:.2f}")
            window.session.stack.setClean()
        window.autosaver.stop()
        window.close()


if __name__ == "__main__":
    main()
