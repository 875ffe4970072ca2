"""Undo commands against the document, without a window."""

from __future__ import annotations

import pytest

from app.core.graph import NetworkDocument
from app.core.layout import layered_layout
from app.core.templates import build_template
from app.ui.commands import (
    AddNodeCommand,
    ConnectCommand,
    MoveNodesCommand,
    RenameNodeCommand,
    SetParamsCommand,
    delete_command,
    fix_command,
    move_input_command,
    paste_command,
)
from app.ui.session import EditorSession


@pytest.fixture
def session(qapp) -> EditorSession:
    return EditorSession(build_template("lenet5"))


def test_add_connect_undo_redo(session: EditorSession) -> None:
    doc = session.doc
    session.doc.disconnect(doc.incoming("logits")["in"])
    assert session.push(AddNodeCommand(session, "Softmax", name="probs", pos=(0, 1600)))
    assert session.push(ConnectCommand(session, "fc3", "out", "probs", "in"))
    assert doc.incoming("probs")["in"].src == "fc3"
    session.stack.undo()
    assert not doc.incoming("probs")
    session.stack.undo()
    assert not doc.has_node("probs")
    session.stack.redo()
    session.stack.redo()
    assert doc.incoming("probs")["in"].src == "fc3"


def test_refused_edit_is_reported_and_not_recorded(session: EditorSession) -> None:
    messages: list[str] = []
    session.errorReported.connect(messages.append)
    assert not session.push(ConnectCommand(session, "image", "out", "conv1", "in"))
    assert "already fed by image" in messages[0]
    assert session.stack.count() == 0


def test_param_edits_of_one_field_merge(session: EditorSession) -> None:
    for value in (7, 8, 9):
        session.push(SetParamsCommand(session, "conv1", {"out_channels": value}))
    assert session.stack.count() == 1
    session.stack.undo()
    assert session.doc.node("conv1").params["out_channels"] == 6


def test_a_refused_edit_does_not_merge_into_the_last_one(session: EditorSession) -> None:
    """Hypothesis found it: QUndoStack offers a refused edit for merging before dropping it."""
    session.push(SetParamsCommand(session, "conv1", {"out_channels": 7}))
    assert not session.push(SetParamsCommand(session, "conv1", {"out_channels": 0}))
    assert session.doc.node("conv1").params["out_channels"] == 7
    session.stack.undo()
    session.stack.redo()
    assert session.doc.node("conv1").params["out_channels"] == 7
    assert session.stack.count() == 1


def test_moves_merge_and_named_moves_do_not(session: EditorSession) -> None:
    start = session.doc.node("conv1").pos
    session.push(MoveNodesCommand(session, {"conv1": (start, (10.0, 0.0))}))
    session.push(MoveNodesCommand(session, {"conv1": ((10.0, 0.0), (20.0, 0.0))}))
    assert session.stack.count() == 1
    session.stack.undo()
    assert session.doc.node("conv1").pos == start


def test_delete_restores_wires_exactly(session: EditorSession) -> None:
    before = session.doc.to_dict()
    session.push(delete_command(session, ["pool1", "conv2"]))
    assert not session.doc.has_node("conv2")
    session.stack.undo()
    assert session.doc.to_dict() == before


def test_compound_is_all_or_nothing(session: EditorSession) -> None:
    before = session.doc.to_dict()
    payload = {"nodes": [{"name": "a", "type": "ReLU", "params": {}, "pos": [0, 0]}],
               "edges": [{"src": "a", "src_port": "out", "dst": "a", "dst_port": "in"}]}
    command, _ = paste_command(session, payload, (0, 0))
    assert not session.push(command)  # self-loop refused: the added node is rolled back
    assert session.doc.to_dict() == before


def test_paste_renames_taken_names(session: EditorSession) -> None:
    payload = {"nodes": [{"name": "conv1", "type": "Conv2d", "params": {"out_channels": 4},
                          "pos": [0, 0]},
                         {"name": "relu", "type": "ReLU", "params": {}, "pos": [0, 110]}],
               "edges": [{"src": "conv1", "src_port": "out", "dst": "relu", "dst_port": "in"}]}
    command, names = paste_command(session, payload, (40, 40))
    assert session.push(command)
    assert names[0] != "conv1" and session.doc.node(names[0]).params["out_channels"] == 4
    assert session.doc.incoming(names[1])["in"].src == names[0]


def test_rename_undo(session: EditorSession) -> None:
    session.push(RenameNodeCommand(session, "conv1", "features"))
    assert session.doc.incoming("sigmoid1")["in"].src == "features"
    session.stack.undo()
    assert session.doc.incoming("sigmoid1")["in"].src == "conv1"


def test_insert_fix_is_one_undoable_step(qapp, image_into_linear: NetworkDocument) -> None:
    session = EditorSession(image_into_linear)
    session.infer_now()
    fix = session.result("fc").fixes[0]
    assert fix.kind == "insert" and fix.layer_type == "Flatten"
    before = session.doc.to_dict()
    assert session.push(fix_command(session, fix))
    session.infer_now()
    flatten = session.doc.incoming("fc")["in"].src
    assert session.doc.node(flatten).type == "Flatten"
    assert session.doc.incoming(flatten)["in"].src == "image"
    assert session.result("fc").shape == (10,) and not session.result("fc").warnings
    assert session.doc.node("fc").pos[1] == 220  # made room below the inserted layer
    assert session.stack.count() == 1
    session.stack.undo()
    assert session.doc.to_dict() == before


def test_swap_merge_inputs(qapp) -> None:
    session = EditorSession(build_template("residual_cnn"))
    add = next(n.name for n in session.doc.nodes if n.type == "Add")
    a, b = (session.doc.incoming(add)[p].src for p in ("in1", "in2"))
    session.push(move_input_command(session, add, "in1", "in2"))
    assert [session.doc.incoming(add)[p].src for p in ("in1", "in2")] == [b, a]
    session.stack.undo()
    assert [session.doc.incoming(add)[p].src for p in ("in1", "in2")] == [a, b]


def test_layered_layout_points_every_wire_down() -> None:
    doc = build_template("residual_cnn")
    pos = layered_layout(doc)
    assert all(pos[e.dst][1] > pos[e.src][1] for e in doc.edges)
    assert len(set(pos.values())) == len(pos)  # no two layers on the same spot
