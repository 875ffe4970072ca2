"""Output names (Node.port_names, `q, k, v = x.chunk(3)`) survive paste, duplicate and
the undo of a parameter change, all through the session's QUndoStack."""

from __future__ import annotations

import pytest

from app.core.graph import NetworkDocument
from app.ui.canvas.clipboard import selection_payload
from app.ui.commands import SetParamsCommand, delete_command, paste_command
from app.ui.session import EditorSession

QKV = {"out2": "k", "out3": "v"}


@pytest.fixture
def session(qapp) -> EditorSession:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4, 12]}, name="image")
    doc.add_node("Chunk", {"chunks": 3, "dim": -1}, name="q", pos=(0.0, 110.0),
                 port_names=QKV)
    doc.connect("image", "out", "q", "in")
    return EditorSession(doc)


def test_duplicate_drops_the_names_its_original_still_uses(session: EditorSession) -> None:
    doc = session.doc
    command, names = paste_command(session, selection_payload(doc, ["q"]))
    assert session.push(command)
    assert names == ["q1"] and doc.node("q1").port_names == {}  # code: q1_out2, q1_out3
    assert doc.node("q").port_names == QKV
    session.stack.undo()
    assert not doc.has_node("q1")


def test_cut_and_paste_keeps_the_names(session: EditorSession) -> None:
    doc = session.doc
    payload = selection_payload(doc, ["q"])
    assert session.push(delete_command(session, ["q"], []))
    command, names = paste_command(session, payload, (0.0, 0.0))
    assert session.push(command)
    assert names == ["q"] and doc.node("q").port_names == QKV
    session.stack.undo()
    session.stack.undo()
    assert doc.node("q").port_names == QKV  # the cut node itself is back
    session.stack.redo()
    session.stack.redo()
    assert doc.node("q").port_names == QKV  # redo puts the pasted node back whole


def test_paste_keeps_each_name_that_is_still_free(session: EditorSession) -> None:
    payload = selection_payload(session.doc, ["q"])
    other = EditorSession(NetworkDocument())
    other.doc.add_node("ReLU", name="k")  # a layer took one of the names
    command, names = paste_command(other, payload, (0.0, 0.0))
    assert other.push(command)
    assert other.doc.node(names[0]).port_names == {"out3": "v"}


def test_paste_of_two_copies_gives_each_name_once(session: EditorSession) -> None:
    item = selection_payload(session.doc, ["q"])["nodes"][0]
    other = EditorSession(NetworkDocument())
    payload = {"nodes": [item, dict(item, name="q", pos=[300, 0])], "edges": []}
    command, names = paste_command(other, payload, (0.0, 0.0))
    assert other.push(command)
    assert [other.doc.node(n).port_names for n in names] == [QKV, {}]


def test_a_malformed_name_on_the_clipboard_is_dropped_not_refused(
        session: EditorSession) -> None:
    item = dict(selection_payload(session.doc, ["q"])["nodes"][0],
                port_names={"out2": "self", "out3": "2v", "out9": "w", "out": "z"})
    other = EditorSession(NetworkDocument())
    command, names = paste_command(other, {"nodes": [item], "edges": []}, (0.0, 0.0))
    assert other.push(command)
    assert other.doc.node(names[0]).port_names == {}


def test_undo_of_fewer_chunks_brings_the_dropped_name_back(session: EditorSession) -> None:
    doc = session.doc
    assert session.push(SetParamsCommand(session, "q", {"chunks": 2}))
    assert doc.node("q").port_names == {"out2": "k"}
    session.stack.undo()
    assert doc.node("q").params["chunks"] == 3 and doc.node("q").port_names == QKV
    session.stack.redo()
    assert doc.node("q").port_names == {"out2": "k"}
    session.stack.undo()
    assert doc.node("q").port_names == QKV


def test_merged_edits_undo_to_the_state_before_the_first(session: EditorSession) -> None:
    doc = session.doc
    for chunks in (2, 4):  # one spin box: one history entry
        session.push(SetParamsCommand(session, "q", {"chunks": chunks}))
    assert session.stack.count() == 1 and doc.node("q").port_names == {"out2": "k"}
    session.stack.undo()
    assert doc.node("q").params["chunks"] == 3 and doc.node("q").port_names == QKV
