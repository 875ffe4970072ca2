"""LayerSpec is the one home of a layer: a new torch layer is one entry, and no module
keeps a table or a comparison of layer type names beside it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch

import app.core
from app.core.catalogue import CATALOGUE, LayerSpec, by_category, spec_for
from app.core.compiler import compile_document
from app.core.params import FLOAT, Param
from app.core.shapes import infer_shapes
from tests.core.layer_networks import one_layer_network
from tests.core.test_registry import test_one_layer_network_round_trips as round_trip

HARDTANH = LayerSpec(
    "Hardtanh", "Activation", "torch.nn.Hardtanh",
    (Param("min_val", FLOAT, -1.0, "Lower end of the linear region."),
     Param("max_val", FLOAT, 2.0, "Upper end of the linear region.")),
    "Clips values to [min_val, max_val] and is linear in between; a test-only entry.",
    "Same shape as the input.", prefix="hardtanh",
)


def test_a_new_plain_layer_is_one_entry(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    """Registered as one entry and nothing else, it shows on the palette, infers its shape
    (on meta tensors: it names no rule), compiles, exports and imports back."""
    monkeypatch.setitem(CATALOGUE, HARDTANH.type, HARDTANH)
    assert spec_for("Hardtanh") is HARDTANH
    assert HARDTANH in by_category()["Activation"]
    doc = one_layer_network("Hardtanh", {"max_val": 0.5}, rank=3)
    assert infer_shapes(doc)["layer"].shape == (4, 8, 8)
    module = compile_document(doc).get_submodule("layer")
    assert (module.min_val, module.max_val) == (-1.0, 0.5)
    round_trip("Hardtanh", tmp_path)  # shapes, compile, codegen and import, values compared


def test_a_new_entry_names_its_functional_form_for_the_importer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from torch import nn

    from app.core.import_hooks import Traced
    from app.core.importer import ModelImportError, import_module

    class Clipped(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.hardtanh(x.flatten(1), -0.5, max_val=0.25)

    with pytest.raises(ModelImportError, match="hardtanh"):
        import_module(Clipped(), [(3, 4)])
    spec = replace(HARDTANH, traced=Traced(("torch.nn.functional.hardtanh",),
                                           args=("min_val", "max_val")))
    monkeypatch.setitem(CATALOGUE, spec.type, spec)
    doc = import_module(Clipped(), [(3, 4)]).doc
    clip = next(n for n in doc.nodes if n.type == "Hardtanh")
    assert clip.params == {"min_val": -0.5, "max_val": 0.25}
    assert infer_shapes(doc)[clip.name].shape == (12,)


LAYERS = sorted(t for t, spec in CATALOGUE.items() if spec.has_module)


@pytest.mark.parametrize("layer_type", LAYERS)
def test_every_entry_counts_its_parameters_as_torch_does(layer_type: str) -> None:
    doc = one_layer_network(layer_type)
    resolved = infer_shapes(doc)["layer"].resolved
    spec = CATALOGUE[layer_type]
    with torch.device("meta"):
        module = spec.build(resolved)
    formula = spec.count(resolved) if spec.count else 0
    tensors = [module] if isinstance(module, torch.nn.Parameter) else module.parameters()
    assert formula == sum(p.numel() for p in tensors)


# The modules that act on every layer; what differs between layers belongs in its spec.
ENGINE = ("shapes", "shape_rules", "codegen", "compiler", "importer", "param_count",
          "execution", "graph", "grouping")


def _type_names_compared_or_keyed(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            places = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            places = [k for k in node.keys if k is not None]
        else:
            continue
        found += [(c.lineno, c.value) for place in places for c in ast.walk(place)
                  if isinstance(c, ast.Constant) and c.value in CATALOGUE]
    return found


@pytest.mark.parametrize("module", ENGINE)
def test_no_engine_module_compares_or_keys_layer_type_names(module: str) -> None:
    source = Path(inspect.getfile(app.core)).with_name(f"{module}.py").read_text()
    assert _type_names_compared_or_keyed(ast.parse(source)) == []


def test_the_type_name_scan_finds_a_table_and_a_comparison() -> None:
    source = 'RULES = {"Conv2d": 1}\nif spec.type == "Linear":\n    pass\n'
    assert _type_names_compared_or_keyed(ast.parse(source)) == [(1, "Conv2d"), (2, "Linear")]
