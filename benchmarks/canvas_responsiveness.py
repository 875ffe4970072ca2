"""How responsive the editor stays on a 500-node network (offscreen Qt).

Prints, in milliseconds:
  open      building the scene and the first shape inference for 500 nodes
  edit-top  SetParamsCommand on the first conv -> every downstream shape re-inferred and
            every node item updated and repainted (the worst case: 500 nodes change)
  edit-end  the same for a layer near the end (the common case: a few nodes change)
  move      one node move (command + wires follow + repaint)
  drag      starting a wire drag: every candidate port asks doc.can_connect
  paint     one full repaint of the canvas with the whole network in view

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/canvas_responsiveness.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from app.core.graph import NetworkDocument
from app.core.project import Project
from app.ui.canvas.interactions import NewEdgeInteraction
from app.ui.commands import MoveNodesCommand, SetParamsCommand
from app.ui.main_window import DISCARD, MainWindow
from benchmarks.report import QUICK, figure

NODES = 40 if QUICK else 500
REPEAT = 2 if QUICK else 1  # divisor of the repeat counts


def big_network(n: int = NODES) -> NetworkDocument:
    """Input, then conv/bn/relu triples with a residual Add every block, then a head."""
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [16, 32, 32]}, "image", (0, 0))
    last, row, i = "image", 1, 0
    while len(doc.nodes) < n - 4:
        entry = last
        for kind, params in (("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
                             ("BatchNorm2d", {}), ("ReLU", {})):
            name = f"{kind.lower()}{i}"
            doc.add_node(kind, params, name, (0, row * 110))
            doc.connect(last, "out", name, "in")
            last, row, i = name, row + 1, i + 1
        add = f"add{i}"
        doc.add_node("Add", {}, add, (0, row * 110))
        doc.connect(last, "out", add, "in1")
        doc.connect(entry, "out", add, "in2")
        last, row, i = add, row + 1, i + 1
    for kind, params in (("AdaptiveAvgPool2d", {}), ("Flatten", {}),
                         ("Linear", {"out_features": 10}), ("Output", {})):
        name = f"{kind.lower()}_head"
        doc.add_node(kind, params, name, (0, row * 110))
        doc.connect(last, "out", name, "in")
        last, row = name, row + 1
    return doc


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def report(label: str, samples: list[float], target: float | None = None) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(f"{label:<9} median {ms(statistics.median(samples))} ms   p95 {ms(p95)} ms   "
          f"(n={len(samples)})")
    if target is not None:
        figure(f"canvas, {NODES} nodes: {label}", [s * 1000 for s in samples], "ms", target)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "bench.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=Path(tmp) / "autosave")
        window.ask_unsaved = lambda: DISCARD
        window.resize(1600, 1000)
        ready = QEventLoop()
        window.trainingReady.connect(ready.quit)
        window.show()
        ready.exec()  # the whole app, training docks included, once its imports are done
        window.session.infer_now()
        doc = big_network()
        print(f"network: {len(doc.nodes)} nodes, {len(doc.edges)} wires")

        def open_network() -> None:
            window.load(doc.copy(), Project(doc), None)
            window.session.infer_now()
            app.processEvents()

        report("open", timed(open_network, 3 // REPEAT))
        session = window.session
        window.view.fit_all()
        app.processEvents()

        def edit(node: str, param: str, values: tuple[int, int]) -> callable:
            state = {"i": 0}

            def run() -> None:
                state["i"] += 1
                value = values[state["i"] % 2]
                session.push(SetParamsCommand(session, node, {param: value}))
                session.stack.setClean()  # no merging: every edit is a fresh command
                session.stack.clear()
                session.infer_now()
                window.view.viewport().repaint()
            return run

        item = window.scene.nodes["relu2"]

        def move() -> None:
            old = session.doc.node("relu2").pos
            session.push(MoveNodesCommand(session, {"relu2": (old, (old[0] + 10, old[1]))},
                                          "bench move"))
            window.view.viewport().repaint()

        def drag() -> None:
            interaction = NewEdgeInteraction(window.scene, item.outputs["out"])
            interaction.start(item.outputs["out"].scene_anchor())
            interaction.cancel()

        for zoom in ("fit", "100%"):
            if zoom == "fit":
                window.view.fit_all()
            else:
                window.view.set_zoom(1.0)
                window.view.centerOn(item)
            app.processEvents()
            print(f"-- view: {zoom} (zoom {window.view.zoom():.2f})")
            report("edit-top", timed(edit("conv2d0", "kernel_size", (3, 5)), 10 // REPEAT),
                   50 if zoom == "fit" else None)
            report("edit-end", timed(edit("linear_head", "out_features", (10, 12)),
                                     20 // REPEAT))
            report("move", timed(move, 20 // REPEAT), 16 if zoom == "fit" else None)
            report("paint", timed(window.view.viewport().repaint, 10 // REPEAT),
                   16 if zoom == "fit" else None)
        report("drag", timed(drag, 5))
        session.stack.setClean()
        window.close()


if __name__ == "__main__":
    main()
