"""Imported functional ops and the pieces of multi-output ops are named after the variables
the source assigns them to, and the names survive export -> import -> export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from app.core.codegen import generate_code
from app.core.graph import DocumentError, NetworkDocument
from app.core.importer import import_file, import_module, load_file_model

QKV_SOURCE = '''
import torch
from torch import nn
from torch.nn import functional as F

INPUT_SHAPE = (5, 8)


class Net(nn.Module):
    """Self-attention in four lines"""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1)
        weights = F.softmax(scores, dim=-1)
        out = weights @ v
        return self.proj(out)
'''

# What the forward() above exports as: the chunk's pieces are q, k and v; scores is the
# matrix product it assigns, not the transpose inside it; `out` is the exported code's own
# name, so that value flows on in `x` as a chain does.
QKV_FORWARD = [
    "x = self.qkv(x)",
    "q, k, v = x.chunk(3, dim=-1)",
    "x = k.transpose(-2, -1)",
    "scores = torch.matmul(q, x)",
    "x = self.weights(scores)",
    "x = torch.matmul(x, v)",
]


def _forward(code: str) -> list[str]:
    body = code[code.index("def forward"):code.index("def build_model")]
    return [line.strip() for line in body.splitlines()[1:] if line.strip()]


@pytest.fixture
def qkv_file(tmp_path: Path) -> Path:
    path = tmp_path / "qkv.py"
    path.write_text(QKV_SOURCE)
    return path


def test_unpacked_pieces_and_assigned_values_take_the_source_names(qkv_file: Path,
                                                                    tmp_path: Path) -> None:
    result = import_file(qkv_file, "Net")
    chunk = next(n for n in result.doc.nodes if n.type == "Chunk")
    assert (chunk.name, chunk.port_names) == ("q", {"out2": "k", "out3": "v"})
    code = generate_code(result.doc, result.title)
    assert _forward(code)[:-2] == QKV_FORWARD
    exported = tmp_path / "exported.py"
    exported.write_text(code)
    again = import_file(exported, "Net")
    assert generate_code(again.doc, again.title) == code  # export -> import -> export
    torch.manual_seed(0)
    original, _ = load_file_model(qkv_file, "Net")
    model, _ = load_file_model(exported, "Net")
    model.load_state_dict(result.convert_state_dict(original.state_dict()))
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), original.eval()(x), atol=1e-6)


def test_without_the_source_the_names_are_torch_fx_ones() -> None:
    """A class built from a string has no file to read: fx's names, as before."""
    namespace: dict = {}
    exec(compile(QKV_SOURCE, "<string>", "exec"), namespace)  # noqa: S102 - our own source
    doc = import_module(namespace["Net"](), [[5, 8]]).doc
    assert _forward(generate_code(doc))[:6] == [
        "x = self.qkv(x)",
        "chunk, chunk_out2, chunk_out3 = x.chunk(3, dim=-1)",
        "x = chunk_out2.transpose(-2, -1)",
        "x = torch.matmul(chunk, x)",
        "x = self.softmax(x)",
        "matmul_1 = torch.matmul(x, chunk_out3)",
    ]
    assert not any(n.port_names for n in doc.nodes)


def test_a_piece_name_taken_by_a_layer_or_reserved_is_not_used() -> None:
    class Clash(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b, out = torch.split(x, [4, 4, 2], dim=1)
            first, second = a.relu(), self.b(b)
            return torch.cat([first, second, out], dim=1)

    doc = import_module(Clash(), [[10]]).doc
    split = next(n for n in doc.nodes if n.type == "Split")
    # `b` is a layer's name, `out` the exported code's own: both keep the fallback name
    assert (split.name, split.port_names) == ("a", {})
    lines = _forward(generate_code(doc))
    assert "a, a_out2, a_out3 = x.split((4, 4, 2), dim=1)" in lines
    # `first, second = f(x), g(x)` is two values, neither of them the whole statement's
    assert not {"first", "second"} & {n.name for n in doc.nodes}


def test_a_piece_name_is_kept_from_later_nodes() -> None:
    class Again(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x.chunk(2, dim=1)
            b = b.sigmoid()
            return a * b

    doc = import_module(Again(), [[6]]).doc
    assert next(n.port_names for n in doc.nodes if n.type == "Chunk") == {"out2": "b"}
    lines = _forward(generate_code(doc))
    # the sigmoid's node is b_1; its module keeps the path `b`, an attribute, not the variable
    assert lines[:3] == ["a, b = x.chunk(2, dim=1)", "x = self.b(b)", "x = a * x"]


def test_port_names_are_saved_checked_and_follow_the_ports() -> None:
    doc = NetworkDocument()
    doc.add_node("Chunk", {"chunks": 3}, name="q", port_names={"out2": "k", "out3": "v"})
    again = NetworkDocument.from_dict(doc.to_dict())
    assert again.node("q").port_names == {"out2": "k", "out3": "v"}
    doc.set_params("q", {"chunks": 2})
    assert doc.node("q").port_names == {"out2": "k"}
    for bad, message in [({"out": "k"}, "no extra output 'out'"),
                         ({"out2": "self"}, "'self' cannot name output 'out2'"),
                         ({"out2": "2k"}, "not a valid node name"),
                         ({"out2": "k", "out3": "k"}, "two outputs share a name")]:
        with pytest.raises(DocumentError, match=message):
            NetworkDocument().add_node("Chunk", {"chunks": 3}, name="q", port_names=bad)
    plain = NetworkDocument()
    plain.add_node("Chunk", name="c")
    assert "port_names" not in plain.to_dict()["nodes"][0]  # older files stay the same


def test_a_port_name_a_node_took_later_falls_back_in_the_code(qkv_file: Path) -> None:
    doc = import_file(qkv_file, "Net").doc
    doc.rename_node("scores", "k")  # an edit after the import
    lines = _forward(generate_code(doc))
    assert "q, q_out2, v = x.chunk(3, dim=-1)" in lines
    assert "k = torch.matmul(q, x)" in lines


BLOCKS_SOURCE = '''
import torch
from torch import nn

INPUT_SHAPE = (4, 6, 6)


class Half(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Conv2d(2, 2, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat((x1, self.branch(x2)), dim=1)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stage = nn.Sequential(Half(), Half(), Half())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage(x)
'''


def test_pieces_keep_their_names_inside_a_block_class(tmp_path: Path) -> None:
    """ShuffleNet's `x1, x2 = x.chunk(2, dim=1)`: in the exported block class too."""
    path = tmp_path / "blocks.py"
    path.write_text(BLOCKS_SOURCE)
    result = import_file(path, "Net")
    chunk = next(n for n in result.doc.nodes if n.type == "Chunk")
    assert (chunk.name, chunk.port_names) == ("stage_0_x1", {"out2": "stage_0_x2"})
    code = generate_code(result.doc, result.title)
    assert "x1, x2 = x.chunk(2, dim=1)\n        x = self.branch(x2)" in code
    exported = tmp_path / "exported.py"
    exported.write_text(code)
    again = import_file(exported, "Net")
    assert generate_code(again.doc, again.title) == code
