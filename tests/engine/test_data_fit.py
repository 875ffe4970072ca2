"""The Input must take what the data gives; the problem comes with a one-click fix."""

from __future__ import annotations

from app.core.data_fit import input_problems
from app.core.shapes import errors, infer_shapes, network_problems
from app.core.templates import TEMPLATES, blank_project
from app.data.sources import load_source


def apply(doc, fix) -> None:
    assert fix.kind == "set_param"
    doc.set_params(fix.node, {fix.param: fix.value})


def test_wrong_input_shape_offers_the_datasets_shape() -> None:
    doc = TEMPLATES["resnet18"].project().network  # 3×32×32
    bundle = load_source("digits")
    problems = input_problems(doc, bundle.input_shape, bundle.input_dtype, "Digits")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.node == "image" and problem.severity == "error"
    assert "3×32×32" in problem.message and "1×28×28" in problem.message
    assert [f.label for f in problem.fixes] == ["Set Input to 1×28×28 from the dataset"]
    apply(doc, problem.fixes[0])
    assert doc.node("image").params["shape"] == [1, 28, 28]
    assert input_problems(doc, bundle.input_shape, bundle.input_dtype) == []
    # ResNet's adaptive pool takes the new size: the network stays valid.
    assert errors(network_problems(doc, infer_shapes(doc))) == []


def test_token_data_asks_for_an_int64_input() -> None:
    doc = blank_project().network
    bundle = load_source("seq_tokens")
    problems = input_problems(doc, bundle.input_shape, bundle.input_dtype)
    assert [f.label for p in problems for f in p.fixes] == [
        "Set Input to 12 from the dataset", "Set Input dtype to int64 from the dataset"]
    for p in problems:
        apply(doc, p.fixes[0])
    assert doc.node("image").params == {"shape": [12], "dtype": "int64"}


def test_matching_or_ambiguous_inputs_have_no_problem() -> None:
    assert input_problems(blank_project().network, (1, 28, 28)) == []
    doc = blank_project().network
    doc.add_node("Input", {"shape": [4]}, "second", (200.0, 0.0))
    assert input_problems(doc, (3, 32, 32)) == []


def test_blank_project_stores_the_default_data_source_and_fits_it() -> None:
    project = blank_project()
    assert project.data == {"source": "digits"}
    bundle = load_source(project.data["source"])
    assert input_problems(project.network, bundle.input_shape, bundle.input_dtype) == []
    assert [n.type for n in project.network.nodes] == ["Input", "Output"]
