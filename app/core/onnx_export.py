"""Document (and optionally its trained module) -> an ONNX file, through torch.onnx.

Uses torch's TorchScript-based exporter (`dynamo=False`), which needs only the `onnx`
package (no onnxscript) and handles every catalogue layer but max-unpooling, recurrent
ones included. Inputs and outputs are named after the Input and Output nodes, and the
batch dimension stays free. The tests run the files in onnxruntime (a dev dependency).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from app.core.catalogue import Role
from app.core.compiler import check_compilable, compile_document, example_inputs
from app.core.fileio import write_atomic
from app.core.graph import NetworkDocument
from app.core.shapes import NodeResult, format_shape

OPSET = 17  # LayerNorm and GroupNorm are single ops from 17 on; every runtime since 2022 has it

# Layers torch's exporter cannot write (tests/core/test_onnx_export.py tries every layer).
UNSUPPORTED = {
    "MaxUnpool2d": "torch's ONNX exporter cannot write max-unpooling",
    "ChannelShuffle": "torch's ONNX exporter cannot write channel_shuffle; a Reshape to "
                      "groups × channels/groups, a Transpose and a Reshape back do the same",
}


def _refusal(doc: NetworkDocument, results: dict[str, NodeResult], name: str) -> str:
    """Why torch's exporter cannot write this node ("" when it can)."""
    node = doc.node(name)
    if node.type in UNSUPPORTED:
        return UNSUPPORTED[node.type]
    if node.type in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        edge = doc.incoming(name)["in"]
        size = results[edge.src].outputs[edge.src_port][1:]
        out = results[name].shape[1:]
        if any(i % o for i, o in zip(size, out)):
            return (f"torch's ONNX exporter needs its input size {format_shape(size)} to be "
                    f"a multiple of output_size {format_shape(out)}; feed it a larger image")
    return ""


class OnnxExportError(ValueError):
    """The network cannot be written as ONNX; the message is one line naming the layer."""


def export_onnx(doc: NetworkDocument, path: str | Path, model: Any = None) -> Path:
    """Write `model` (default: `doc` compiled with fresh weights) to `path` as ONNX.

    Raises CompileError when the network has errors, OnnxExportError when torch cannot
    express a layer in ONNX."""
    import torch

    results = check_compilable(doc)
    for name in doc.topological_order():
        reason = _refusal(doc, results, name)
        if reason:
            raise OnnxExportError(f"cannot export to ONNX: {name} ({doc.node(name).type}): "
                                  f"{reason}")
    module = model if model is not None else compile_document(doc, results)
    was_training = module.training
    device = next(module.parameters(), torch.empty(0)).device  # a model trained on a GPU
    inputs = tuple(x.to(device) for x in example_inputs(doc, batch=2))
    input_names, output_names = doc.ends(Role.INPUT), doc.ends(Role.OUTPUT)
    batch = {0: "batch"}
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation notes, not problems
            module.eval()
            torch.onnx.export(module, inputs, buffer, dynamo=False, opset_version=OPSET,
                              input_names=input_names, output_names=output_names,
                              dynamic_axes={name: batch for name in input_names + output_names})
    except Exception as exc:  # noqa: BLE001 -- torch's exporter raises many kinds
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise OnnxExportError(f"cannot export to ONNX: {text[:240]}") from None
    finally:
        module.train(was_training)
    return write_atomic(path, buffer.getvalue())
