"""How long the issue-13 edits take on big networks (offscreen Qt, whole window).

For ResNet-18 and the 500-node network of canvas_responsiveness.py prints, in ms (median
of 7 repeats and their min–max), each edit as the student triggers it -- command, document, canvas items and
wires updated -- and its undo, against the 50 ms target:
  insert-wire   a layer dropped on the first wire (everything downstream moves down)
  insert-after  palette Enter with the first layer selected (the same, from the palette)
  replace-wire  dragging a wire onto an occupied input
  expand        double-click on a collapsed block (its layers shown, the rows below move
                down, wires redrawn); "undo" here is collapsing it again (a view state,
                not an undo step)
  collapse-all  every block collapsed at once from the expanded network (canvas menu: Collapse
                All Blocks), and back (Expand All Blocks)
  insert-into   a layer dropped on the wire into a collapsed block (feeds all it stands for)
The 500-node network has its layers put into 12 blocks of 40 (module paths stageN.*) so
that it has blocks to collapse.
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

from canvas_responsiveness import big_network
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QApplication

from app.core.graph import NetworkDocument
from app.core.project import Project
from app.core.templates import get_template
from app.ui.commands import (
    insert_after_command,
    replace_wire_command,
)
from app.ui.main_window import DISCARD, MainWindow
from benchmarks.report import QUICK, figure

TARGET_MS = 50.0
REPEATS = 2 if QUICK else 7


Samples = tuple[list[float], list[float]]  # ms of each repeat: the edit, its undo


def settle(window: MainWindow) -> None:
    """Let the last repeat's delayed work finish before the next is timed: the Code panel
    regenerates 400 ms after an edit, in a background thread that competes for the GIL
    (benchmarks/gui_stall.py measures that contention); each repeat times the edit alone."""
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)
    for pool in (QThreadPool.globalInstance(), *window.findChildren(QThreadPool)):
        pool.waitForDone()
    QApplication.processEvents()


def timed(edit: Callable[[], object], window: MainWindow) -> Samples:
    """ms of each repeat of the edit and of its undo."""
    do, undo = [], []
    for _ in range(REPEATS):
        settle(window)
        t0 = time.perf_counter()
        edit()
        QApplication.processEvents()  # the repaint the edit caused
        t1 = time.perf_counter()
        settle(window)
        t2 = time.perf_counter()
        window.session.stack.undo()
        QApplication.processEvents()
        t3 = time.perf_counter()
        do.append((t1 - t0) * 1000)
        undo.append((t3 - t2) * 1000)
    return do, undo


def toggled(window: MainWindow, blocks: list[str] | None) -> Samples:
    """ms to expand `blocks` (as a double-click does) and to collapse them again; None: every
    block, as the canvas menu's Expand All Blocks / Collapse All Blocks do."""
    scene = window.scene

    def set_collapsed(collapsed: bool) -> float:
        settle(window)
        t0 = time.perf_counter()
        if blocks is None:
            scene.set_all_collapsed(collapsed)
        for block in blocks or ():
            scene.set_collapsed(block, collapsed)
        QApplication.processEvents()
        return (time.perf_counter() - t0) * 1000

    expand, collapse = [], []
    for _ in range(REPEATS):
        expand.append(set_collapsed(False))
        collapse.append(set_collapsed(True))
    return expand, collapse


def staged(doc: NetworkDocument, size: int = 40) -> Project:
    """The network with its middle layers in blocks stage1..N of `size` layers, collapsed."""
    middle = [n for n in doc.topological_order()
              if doc.node(n).type not in ("Input", "Output") and not n.endswith("_head")]
    stages = []
    for i, name in enumerate(middle):
        stage = f"stage{i // size + 1}"
        doc.set_path(name, f"{stage}.{name}")
        if stage not in stages:
            stages.append(stage)
    return Project(doc, canvas={"collapsed": stages})


def measure_blocks(window: MainWindow, project: Project) -> dict[str, Samples]:
    window.load(project.network, project, None)
    QApplication.processEvents()
    window.session.infer_now()
    QApplication.processEvents()
    scene, doc, s = window.scene, window.session.doc, window.session
    blocks = list(scene.collapsed())
    first = blocks[0]
    entry = next(e for n in scene.members[first] for e in doc.incoming(n).values()
                 if e.src not in scene.members[first])
    times = {"expand": toggled(window, [first])}
    all_expand, all_collapse = toggled(window, None)
    times["collapse-all"] = (all_collapse, all_expand)
    times["insert-into"] = timed(lambda: scene.insert_on_wire(entry, "BatchNorm2d"), window)
    s.stack.setClean()
    return times


def measure(window: MainWindow, project: Project) -> dict[str, Samples]:
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


def spread(samples: list[float]) -> str:
    return (f"{statistics.median(samples):7.1f} ms ({min(samples):5.1f}–"
            f"{max(samples):5.1f})")


def show(label: str, times: dict[str, Samples]) -> None:
    """Median (min–max) of the edit and of its undo, and the worse median's ratio; each
    also as a figure for docs/PERFORMANCE.md (benchmarks/run_all.py)."""
    for name, (do, undo) in times.items():
        worse = max(statistics.median(do), statistics.median(undo))
        print(f"  {name:13s} {spread(do)}  undo {spread(undo)}   "
              f"ratio to {TARGET_MS:.0f} ms target: {worse / TARGET_MS:.2f}")
        figure(f"editing, {label}: {name}", do, "ms", TARGET_MS)
        figure(f"editing, {label}: {name} (undo)", undo, "ms", TARGET_MS)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat),
                            autosave_dir=Path(tmp), training=False)
        window.ask_unsaved = lambda: DISCARD
        window.resize(1366, 768)
        window.show()
        app.processEvents()
        size = len(big_network().nodes)
        cases = {"resnet18": get_template("resnet18").project(),
                 f"{size} nodes": Project(big_network())}
        blocks = {"resnet18 collapsed": get_template("resnet18").project(),
                  f"{size} nodes in blocks": staged(big_network(), 4 if QUICK else 40)}
        for label, project in cases.items():
            print(f"{label} ({len(project.network.nodes)} nodes)")
            show(label, measure(window, project))
            window.session.stack.setClean()
        for label, project in blocks.items():
            print(label)
            show(label, measure_blocks(window, project))
        window.autosaver.stop()
        window.close()


if __name__ == "__main__":
    main()
