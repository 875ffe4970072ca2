"""ONNX export: every template passes onnx.checker and onnxruntime gives torch's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from app.cli import main
from app.core.catalogue import CATALOGUE
from app.core.compiler import compile_document, example_inputs
from app.core.graph import NetworkDocument
from app.core.onnx_export import UNSUPPORTED, OnnxExportError, export_onnx
from app.core.templates import TEMPLATES, get_template
from tests.core.layer_networks import one_layer_network


def _round_trip(doc: NetworkDocument, path: Path, batch: int = 3) -> float:
    """Export, check, run in onnxruntime; the largest difference from torch's outputs."""
    torch.manual_seed(0)
    model = compile_document(doc).eval()
    export_onnx(doc, path, model)
    onnx.checker.check_model(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [n for n in doc.topological_order()
                                                      if doc.node(n).type == "Input"]
    inputs = example_inputs(doc, batch)  # another batch size than the export's: it is free
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    theirs = session.run(None, feeds)
    with torch.no_grad():
        ours = model(*inputs)
    ours = ours if isinstance(ours, tuple) else (ours,)
    assert [t.shape for t in theirs] == [tuple(t.shape) for t in ours]
    return max(float(np.abs(a - b.numpy()).max()) for a, b in zip(theirs, ours))


# At the small image sizes these train at, the features are 1×1 and an adaptive pool
# spreads them to 6×6 or 7×7, which torch's exporter cannot write.
REFUSED = {"alexnet": "avgpool", "vgg11": "avgpool", "vgg16": "avgpool"}


@pytest.mark.parametrize("template_id", sorted(set(TEMPLATES) - set(REFUSED)))
def test_every_template_round_trips(template_id: str, tmp_path: Path) -> None:
    doc = get_template(template_id).project().network  # the sizes the template trains at
    assert _round_trip(doc, tmp_path / "net.onnx") < 1e-4


@pytest.mark.parametrize("template_id", sorted(REFUSED))
def test_classic_templates_refuse_at_small_sizes(template_id: str, tmp_path: Path) -> None:
    doc = get_template(template_id).project().network
    with pytest.raises(OnnxExportError, match=rf"^cannot export to ONNX: {REFUSED[template_id]} "
                       r"\(AdaptiveAvgPool2d\): .* input size 1×1 .* output_size [67]×[67]"):
        export_onnx(doc, tmp_path / "net.onnx")


@pytest.mark.parametrize("layer_type", sorted(t for t, spec in CATALOGUE.items()
                                              if spec.has_module and t not in UNSUPPORTED))
def test_every_layer_round_trips(layer_type: str, tmp_path: Path) -> None:
    assert _round_trip(one_layer_network(layer_type), tmp_path / "layer.onnx") < 1e-4


def test_an_unsupported_layer_is_refused_by_name(tmp_path: Path) -> None:
    doc = one_layer_network("MaxUnpool2d", {"kernel_size": 2})
    with pytest.raises(OnnxExportError, match=r"^cannot export to ONNX: layer \(MaxUnpool2d\)"):
        export_onnx(doc, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_cli_writes_onnx_alone_or_beside_the_code(tmp_path: Path, capsys) -> None:
    onnx_path, code_path = tmp_path / "lenet.onnx", tmp_path / "lenet.py"
    assert main(["export", "--template", "lenet5", "--onnx", str(onnx_path)]) == 0
    model = onnx.load(str(onnx_path))
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["logits"]
    assert main(["export", "--template", "lenet5", "-o", str(code_path),
                 "--onnx", str(onnx_path)]) == 0
    assert code_path.exists()
    assert "wrote" in capsys.readouterr().out


def test_cli_refuses_in_one_line(tmp_path: Path, capsys) -> None:
    project = tmp_path / "net.json"
    from app.core.project import Project, save_project

    save_project(Project(one_layer_network("MaxUnpool2d", {"kernel_size": 2})), project)
    assert main(["export", str(project), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot export to ONNX: layer (MaxUnpool2d)")
    assert len(err.splitlines()) == 1
    assert main(["export", "--template", "lenet5"]) == 1
    assert "--onnx" in capsys.readouterr().err
