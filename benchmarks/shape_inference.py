"""Shape inference and compile time on large graphs (DESIGN.md performance targets).

Targets: inference + compile of a 1000-node graph under 100 ms; re-inference after one
parameter edit on a 200-node graph under 10 ms. Prints the medians and the ratios to the
targets, plus a plain-PyTorch baseline (building the same modules by hand) for scale, and
the re-inference after a layer is inserted on the first wire of a 500-node graph (early
stop: the layer below gets the same shape, so nothing further is recomputed).

    python benchmarks/shape_inference.py
"""

from __future__ import annotations

import gc
import statistics
import time

from torch import nn

from app.core.compiler import compile_document
from app.core.graph import NetworkDocument
from app.core.shapes import ShapeInference
from benchmarks.report import QUICK, figure


def residual_tower(blocks: int) -> NetworkDocument:
    """Input, then `blocks` residual blocks of 5 nodes (conv, relu, conv, add, relu)."""
    doc = NetworkDocument()
    last = doc.add_node("Input", {"shape": [8, 16, 16]}).name
    for _ in range(blocks):
        entry = last
        a = doc.add_node("Conv2d", {"out_channels": 8, "padding": 1}).name
        r = doc.add_node("ReLU").name
        b = doc.add_node("Conv2d", {"out_channels": 8, "padding": 1}).name
        add = doc.add_node("Add").name
        out = doc.add_node("ReLU").name
        doc.chain(entry, a, r, b)
        doc.connect(b, "out", add, "in1")
        doc.connect(entry, "out", add, "in2")
        doc.chain(add, out)
        last = out
    doc.chain(last, doc.add_node("Output").name)
    return doc


def samples_ms(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def timed(fn, repeats: int) -> float:
    return statistics.median(samples_ms(fn, repeats))


def full_inference_and_compile(doc: NetworkDocument) -> None:
    results = ShapeInference(doc).infer()
    compile_document(doc, results)


def hand_built(blocks: int) -> None:
    nn.ModuleList(nn.Conv2d(8, 8, 3, padding=1) for _ in range(2 * blocks))


def main() -> None:
    big = residual_tower(20 if QUICK else 200)  # 1002 nodes
    print(f"graph: {len(big.nodes)} nodes, {len(big.edges)} edges")
    full_inference_and_compile(big)  # warm torch's lazy imports
    gc.freeze()  # as the app does once torch is loaded (app/ui/launch.py)
    infer_ms = timed(lambda: ShapeInference(big).infer(), 5)
    full = samples_ms(lambda: full_inference_and_compile(big), 2 if QUICK else 7)
    full_ms = statistics.median(full)
    figure(f"inference + compile, {len(big.nodes)} nodes", full, "ms", 100)
    base_ms = timed(lambda: hand_built(200), 5)
    print(f"inference alone, 1000 nodes: {infer_ms:.1f} ms")
    print(f"inference + compile, 1000 nodes: {full_ms:.1f} ms (target 100 ms: "
          f"{full_ms / 100:.2f}x of budget)")
    print(f"plain PyTorch, constructing the same 400 Conv2d by hand: {base_ms:.1f} ms; "
          f"compile costs {(full_ms - infer_ms) / base_ms:.2f}x of that")

    mid = residual_tower(8 if QUICK else 40)  # 202 nodes
    engine = ShapeInference(mid)
    engine.infer()
    names = [n.name for n in mid.nodes if n.type == "Conv2d"]
    counter = iter(range(10**6))

    def edit_middle() -> None:
        mid.set_params(names[len(names) // 2], {"kernel_size": 3 + 2 * (next(counter) % 2),
                                                "padding": 1 + next(counter) % 2})
        engine.infer()

    def edit_first() -> None:
        """16x16 <-> 18x18: the residual Adds below refuse or accept it, so every result
        downstream changes (early stop cannot cut this one short)."""
        mid.set_params(names[0], {"padding": 2 if mid.node(names[0]).params["padding"] == 1
                                  else 1})
        engine.infer()

    edit_mid_ms = timed(edit_middle, 20)
    first = samples_ms(edit_first, 20)
    edit_first_ms = statistics.median(first)
    figure(f"re-inference after one edit (first node), {len(mid.nodes)} nodes", first, "ms", 10)
    print(f"re-inference after one edit, 200 nodes: middle node {edit_mid_ms:.2f} ms, "
          f"first node (everything downstream) {edit_first_ms:.2f} ms (target 10 ms, "
          f"{edit_first_ms / 10:.2f}x of budget)")

    tall = residual_tower(10 if QUICK else 100)  # 502 nodes
    engine = ShapeInference(tall)
    engine.infer()
    wire = tall.outgoing(tall.topological_order()[0])[0]

    def insert_and_undo() -> float:
        """ms of the insert's re-inference; the removal's is left out of the figure."""
        start = time.perf_counter()
        bn = tall.add_node("BatchNorm2d").name
        tall.disconnect(wire)
        tall.chain(wire.src, bn)
        tall.connect(bn, "out", wire.dst, wire.dst_port)
        engine.infer()
        took = (time.perf_counter() - start) * 1000
        tall.remove_node(bn)
        tall.connect(wire.src, wire.src_port, wire.dst, wire.dst_port)
        engine.infer()
        return took

    inserted = [insert_and_undo() for _ in range(20)]
    figure(f"insert a layer on the first wire + re-inference, {len(tall.nodes)} nodes", inserted,
           "ms", 10)
    print(f"insert on the first wire + re-inference, {len(tall.nodes)} nodes: "
          f"{statistics.median(inserted):.2f} ms ({min(inserted):.2f}-{max(inserted):.2f}), "
          f"{len(engine.recomputed)} nodes recomputed by the undo")


if __name__ == "__main__":
    main()
