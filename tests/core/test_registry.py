"""Every catalogue entry flows through the whole core: shapes, compiler, codegen, importer.

A layer added as one LayerSpec entry must work everywhere without touching another file;
this walks the registry so a new entry that needs more fails here, naming the layer.
(tests/ui/test_registry_ui.py walks the same registry through the palette and inspector.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.core.catalogue import CATALOGUE
from app.core.codegen import generate_code
from app.core.compiler import compile_document, example_inputs, node_module
from app.core.importer import import_file, load_file_model
from app.core.shapes import infer_shapes
from tests.core.layer_networks import one_layer_network

LAYERS = sorted(t for t, spec in CATALOGUE.items() if spec.has_module)


def _same(a: torch.Tensor | tuple, b: torch.Tensor | tuple) -> bool:
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else all(map(torch.equal, a, b))


@pytest.mark.parametrize("layer_type", LAYERS)
def test_one_layer_network_round_trips(layer_type: str, tmp_path: Path) -> None:
    doc = one_layer_network(layer_type)
    result = infer_shapes(doc)["layer"]
    assert result.ok, result.error

    torch.manual_seed(0)
    model = compile_document(doc).eval()
    inputs = example_inputs(doc)
    with torch.no_grad():
        expected = model(*inputs)
    assert tuple(expected.shape[1:]) == result.shape

    path = tmp_path / "net.py"
    path.write_text(generate_code(doc, layer_type))
    exported, _ = load_file_model(path, "Net")
    exported.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        assert _same(exported.eval()(*inputs), expected)

    imported = import_file(path, "Net")
    layers = [n for n in imported.doc.nodes if n.type == layer_type]
    assert len(layers) == 1, [n.type for n in imported.doc.nodes]
    again = compile_document(imported.doc).eval()
    # the same torch module (a pooling's stride None reads back as the kernel size it means)
    assert repr(node_module(again, imported.doc, layers[0].name)) == repr(
        node_module(model, doc, "layer"))
    again.load_state_dict(imported.convert_state_dict(exported.state_dict()), strict=True)
    with torch.no_grad():
        assert _same(again(*inputs), expected)
