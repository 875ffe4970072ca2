"""Export -> import -> export gives back the same file and the same project.

What an exported file records comes back: the title (its docstring), every layer's type,
settings and module path (its state_dict keys), the wires, the input shapes and the names
the code spells out (attributes and variables). What it does not record is not compared:
the Input/Output node names (`forward(self, x)`, `return ...`), the names of layers that
sit in an nn.Sequential (the file has only their index) and the canvas positions, which
the import lays out automatically.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from app.cli import main
from app.core.catalogue import CATALOGUE, Role
from app.core.codegen import generate_code
from app.core.graph import NetworkDocument, Node, module_path
from app.core.importer import ModelImportError, import_file, import_module, import_torchvision
from app.core.layout import layered_layout
from app.core.project import load_project
from app.core.shapes import infer_shapes
from app.core.templates import TEMPLATES, build_template
from tests.core.layer_networks import one_layer_network


def export_import(doc: NetworkDocument, title: str, path: Path) -> tuple[str, str, object]:
    first = generate_code(doc, title)
    path.write_text(first)
    result = import_file(path, "Net")
    return first, generate_code(result.doc, result.title), result


def recorded_name(node: Node) -> str:
    """The name an import gives a node: its own where the file spells it, else its module
    path with underscores (a layer inside nn.Sequential is `features.0` in the file)."""
    path = module_path(node)
    return node.name if "." not in path or node.name == path.replace(".", "_") else (
        path.replace(".", "_"))


def correspondence(original: NetworkDocument, imported: NetworkDocument) -> dict[str, str]:
    """Original node -> imported node: ends by their order, layers by module path."""
    pairs = {}
    for role in (Role.INPUT, Role.OUTPUT):
        ends = original.ends(role), imported.ends(role)
        assert len(ends[0]) == len(ends[1])
        pairs |= dict(zip(*ends))
    paths = {module_path(n): n.name for n in imported.nodes if n.spec.has_module}
    layers = [n for n in original.nodes if n.spec.has_module]
    assert sorted(paths) == sorted(module_path(n) for n in layers)
    return pairs | {n.name: paths[module_path(n)] for n in layers}


def assert_same_settings(a: Node, b: Node, resolved: tuple[dict, dict]) -> None:
    """Equal parameters, except that the import may leave unset what the original spelled
    out when torch builds the very same layer either way (LeNet's AvgPool2d(2, stride=2)
    is AvgPool2d(2): torch keeps no trace of which was written)."""
    assert a.type == b.type, a.name
    differ = {k for k in a.params if a.params[k] != b.params[k]}
    assert all(b.params[k] is None for k in differ), (a.name, a.params, b.params)
    if differ:
        with torch.device("meta"):
            assert repr(a.spec.build(resolved[0])) == repr(b.spec.build(resolved[1]))


def assert_same_project(original: NetworkDocument, imported: NetworkDocument) -> None:
    pairs = correspondence(original, imported)
    results = infer_shapes(original), infer_shapes(imported)
    for name, other in pairs.items():
        a, b = original.node(name), imported.node(other)
        assert_same_settings(a, b, (results[0][name].resolved, results[1][other].resolved))
        if a.spec.has_module:
            assert other == recorded_name(a), name
    wires = {(pairs[e.src], e.src_port, pairs[e.dst], e.dst_port) for e in original.edges}
    assert wires == {(e.src, e.src_port, e.dst, e.dst_port) for e in imported.edges}
    assert {n.name: n.pos for n in imported.nodes} == layered_layout(imported)


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_export_import_export_is_identical(template_id: str, tmp_path: Path) -> None:
    doc, title = build_template(template_id), TEMPLATES[template_id].title
    first, second, result = export_import(doc, title, tmp_path / f"{template_id}.py")
    assert second == first
    assert result.title == title
    assert result.unmapped == []
    assert_same_project(doc, result.doc)


def test_names_the_file_spells_come_back(tmp_path: Path) -> None:
    """Inline ops keep the project's names: the export assigns them to a variable of that
    name unless fx would name the call the same; layers keep their attribute names."""
    doc = build_template("densenet_small")
    first, _, result = export_import(doc, "Small DenseNet", tmp_path / "dense.py")
    assert "block1_cat4 = torch.cat([block1_cat3, x], dim=1)" in first
    names = {n.name for n in result.doc.nodes}
    assert {f"block{b}_cat{i}" for b in (1, 2) for i in (1, 2, 3, 4)} <= names
    assert {"block1_layer1_conv", "trans1_pool", "fc"} <= names
    resnet = generate_code(build_template("resnet18"))
    assert "x = bn2 + x" in resnet  # layer1.0.add: fx's own name, so `x` stays
    path = tmp_path / "vgg.py"
    path.write_text(generate_code(build_template("vgg11")))
    assert doc.node("trans1_pool").params["stride"] == 2  # AvgPool2d(2, stride=2) ...
    assert result.doc.node("trans1_pool").params["stride"] is None  # ... is AvgPool2d(2)
    assert {"features_0", "classifier_6"} <= {n.name for n in import_file(path).doc.nodes}


def test_implied_settings_stay_unset(tmp_path: Path) -> None:
    """torch stores MaxPool2d(2)'s stride as 2 and Linear's in_features as a number: the
    import leaves both as the editor does (unset, auto), whichever form the file used."""
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent("""
        from torch import nn
        INPUT_SHAPE = (1, 12, 12)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.MaxPool2d(kernel_size=2, stride=2)
                self.b = nn.MaxPool2d(2)
                self.c = nn.MaxPool2d(2, stride=1)
                self.flat = nn.Flatten()
                self.fc = nn.Linear(4, 3)
            def forward(self, x):
                return self.fc(self.flat(self.c(self.b(self.a(x)))))
    """))
    doc = import_file(path).doc
    assert doc.node("a").params["stride"] is None and doc.node("b").params["stride"] is None
    assert doc.node("c").params["stride"] == 1
    assert doc.node("fc").params["in_features"] is None
    code = generate_code(doc)
    assert "self.a = nn.MaxPool2d(kernel_size=2)" in code
    assert "self.c = nn.MaxPool2d(kernel_size=2, stride=1)" in code
    assert "self.fc = nn.Linear(4, 3)" in code


def test_title_comes_from_the_class_docstring(tmp_path: Path) -> None:
    doc = build_template("mlp")
    title = "Ada's MLP: 784 × 10"
    first, second, result = export_import(doc, title, tmp_path / "mlp.py")
    assert result.title == "Ada’s MLP: 784 × 10"  # the apostrophe the export writes
    assert second == first
    plain = tmp_path / "plain.py"
    plain.write_text("from torch import nn\nINPUT_SHAPE = (3,)\n"
                     "class Tiny(nn.Module):\n    def __init__(self):\n"
                     "        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
                     "    def forward(self, x):\n        return self.fc(x)\n")
    assert import_file(plain, "Tiny").title == "Tiny"  # no docstring: the class name


def test_cli_export_import_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, project, second = tmp_path / "a.py", tmp_path / "p.json", tmp_path / "b.py"
    assert main(["export", "--template", "inception_mnist", "-o", str(first)]) == 0
    assert main(["import", f"{first}:Net", "-o", str(project)]) == 0
    assert load_project(project).name == TEMPLATES["inception_mnist"].title
    assert main(["export", str(project), "-o", str(second)]) == 0
    assert second.read_bytes() == first.read_bytes()
    capsys.readouterr()


LAYERS = sorted(t for t, spec in CATALOGUE.items() if spec.has_module)


@pytest.mark.parametrize("layer_type", LAYERS)
def test_every_layer_round_trips_byte_identical(layer_type: str, tmp_path: Path) -> None:
    doc = one_layer_network(layer_type)
    first, second, result = export_import(doc, layer_type, tmp_path / "net.py")
    assert second == first
    assert_same_project(doc, result.doc)


@pytest.mark.parametrize("merge", ["Add", "Multiply", "Concat"])
def test_merge_of_three_inputs_comes_back_as_one_node(merge: str, tmp_path: Path) -> None:
    """`a + b + c` traces as (a + b) + c: one statement's chain is one node again."""
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4]}, "features")
    for name in ("a", "b", "c"):
        doc.add_node("Linear", {"out_features": 4}, name)
        doc.connect("features", "out", name, "in")
    doc.add_node(merge, {"num_inputs": 3}, "total")
    for port, name in enumerate("abc", start=1):
        doc.connect(name, "out", "total", f"in{port}")
    doc.add_node("Output", {}, "scores")
    doc.connect("total", "out", "scores", "in")
    first, second, result = export_import(doc, "Three", tmp_path / "three.py")
    assert second == first
    assert_same_project(doc, result.doc)
    assert [n.type for n in result.doc.nodes].count(merge) == 1


def test_torchvision_resnet18_round_trips(tmp_path: Path) -> None:
    imported = import_torchvision("resnet18", input_shape=(3, 32, 32))
    first, second, again = export_import(imported.doc, imported.title, tmp_path / "r18.py")
    assert second == first
    assert again.title == "resnet18"
    assert_same_project(imported.doc, again.doc)


# -- what cannot be imported is named with its source line ------------------------------------

CONTROL_FLOW = '''\
import torch
from torch import nn

INPUT_SHAPE = (4,)


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = self.fc(x)
        if x.sum() > 0:
            x = -x
        return x
'''


def test_data_dependent_control_flow_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gated.py"
    path.write_text(CONTROL_FLOW)
    with pytest.raises(ModelImportError) as info:
        import_file(path, "Gated")
    message = str(info.value)
    assert "\n" not in message
    assert "`if x.sum() > 0:` at gated.py:14" in message
    assert "control flow" in message


def test_unsupported_call_names_the_op_and_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.py"
    path.write_text(CONTROL_FLOW.replace("        if x.sum() > 0:\n            x = -x\n",
                                         "        x = torch.fft.fft(x).real\n"))
    with pytest.raises(ModelImportError) as info:
        import_file(path, "Gated")
    message = str(info.value)
    assert "\n" not in message
    assert re.search(r"fft\w* at odd\.py:14", message), message


def test_unsupported_op_in_an_inner_module_names_its_line() -> None:
    class Inner(nn.Module):
        def forward(self, x):
            return x.sort(dim=1).values

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()

        def forward(self, x):
            return self.inner(x)

    with pytest.raises(ModelImportError) as info:
        import_module(Outer(), [(3,)])
    line = Inner.forward.__code__.co_firstlineno + 1
    assert f"x.sort at test_roundtrip.py:{line}" in str(info.value)
