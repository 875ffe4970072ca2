"""The project is the document: section edits, whole-node delete/undo and paste, merging."""

from __future__ import annotations

import pytest

from app.core.project import Project
from app.core.templates import build_template, get_template
from app.ui.canvas.clipboard import selection_payload
from app.ui.commands import (
    SetParamsCommand,
    SetSectionCommand,
    changed_fields,
    delete_command,
    paste_command,
)
from app.ui.session import EditorSession


@pytest.fixture
def resnet(qapp) -> EditorSession:
    return EditorSession(get_template("resnet18").project())


def test_session_owns_the_project(resnet: EditorSession) -> None:
    assert isinstance(resnet.project, Project)
    assert resnet.doc is resnet.project.network
    other = Project(build_template("lenet5"), name="other")
    resnet.set_project(other)
    assert resnet.doc is other.network and resnet.project is other
    assert resnet.stack.count() == 0


def test_delete_and_undo_keeps_the_module_path(resnet: EditorSession) -> None:
    doc = resnet.doc
    before = resnet.project.to_dict()
    assert doc.node("layer1_0_conv1").path == "layer1.0.conv1"
    assert resnet.push(delete_command(resnet, ["layer1_0_conv1"]))
    assert doc.node_at("layer1.0.conv1") is None
    resnet.stack.undo()
    assert doc.node("layer1_0_conv1").path == "layer1.0.conv1"
    assert doc.node_at("layer1.0.conv1") == "layer1_0_conv1"
    assert resnet.project.to_dict() == before
    resnet.stack.redo()
    resnet.stack.undo()
    assert resnet.project.to_dict() == before


def test_cut_and_paste_keeps_paths_copy_falls_back_to_names(resnet: EditorSession) -> None:
    doc = resnet.doc
    names = ["layer1_0_conv1", "layer1_0_bn1"]
    payload = selection_payload(doc, names)
    copy_cmd, copies = paste_command(resnet, payload, (40.0, 40.0))
    assert resnet.push(copy_cmd)
    assert [doc.node(n).path for n in copies] == [None, None]  # originals hold the paths
    resnet.stack.undo()
    assert resnet.push(delete_command(resnet, names))
    cmd, pasted = paste_command(resnet, payload, (0.0, 0.0))
    assert resnet.push(cmd)
    assert pasted == names
    assert [doc.node(n).path for n in pasted] == ["layer1.0.conv1", "layer1.0.bn1"]
    assert doc.incoming("layer1_0_bn1")["in"].src == "layer1_0_conv1"


def test_section_edit_is_undoable_and_signalled(resnet: EditorSession) -> None:
    seen: list[str] = []
    resnet.sectionChanged.connect(seen.append)
    start = resnet.section("training")
    edited = resnet.section("training")
    edited["epochs"] = start.get("epochs", 1) + 5
    assert resnet.set_section("training", edited)
    edited["epochs"] = 99  # the command holds its own copy
    assert resnet.project.training["epochs"] == start.get("epochs", 1) + 5
    assert seen == ["training"]
    resnet.stack.undo()
    assert resnet.project.training == start and seen == ["training", "training"]
    assert not resnet.set_section("training", start)  # no change, no history entry
    assert resnet.stack.count() == 1


def test_section_edits_merge_only_on_the_same_field(resnet: EditorSession) -> None:
    data = resnet.section("data")
    base = resnet.section("training")
    for lr in (0.1, 0.2, 0.3):
        resnet.set_section("training", base | {"lr": lr})
    assert resnet.stack.count() == 1
    resnet.set_section("training", base | {"lr": 0.3, "epochs": 77})
    resnet.set_section("data", data | {"source": "other"})
    resnet.set_section("data", data | {"source": "third"})
    assert resnet.stack.count() == 3
    resnet.stack.undo()
    resnet.stack.undo()
    assert resnet.project.training == base | {"lr": 0.3}
    resnet.stack.undo()
    assert resnet.project.training == base


def test_changed_fields_walks_nested_dicts() -> None:
    old = {"params": {"batch_size": 32, "root": "a"}, "source": "mnist"}
    new = {"params": {"batch_size": 64, "root": "a"}, "source": "mnist", "extra": 1}
    assert changed_fields(old, new) == ["extra", "params.batch_size"]


def test_a_fix_is_its_own_undo_step(qapp) -> None:
    session = EditorSession(build_template("lenet5"))
    session.push(SetParamsCommand(session, "fc1", {"in_features": 100}))
    session.push(SetParamsCommand(session, "fc1", {"in_features": 300}))
    assert session.stack.count() == 1
    fix = SetParamsCommand(session, "fc1", {"in_features": 400}, mergeable=False)
    session.push(fix)
    assert session.stack.count() == 2
    session.stack.undo()
    assert session.doc.node("fc1").params["in_features"] == 300


def test_edits_of_two_fields_do_not_merge(qapp) -> None:
    session = EditorSession(build_template("lenet5"))
    session.push(SetParamsCommand(session, "conv1", {"out_channels": 7, "kernel_size": 3}))
    session.push(SetParamsCommand(session, "conv1", {"out_channels": 8, "kernel_size": 5}))
    assert session.stack.count() == 2
    session.push(SetSectionCommand(session, "canvas", {"a": 1}))
    assert session.stack.count() == 3


def test_group_and_ungroup_set_module_paths(qapp) -> None:
    from app.ui.commands import group_command, ungroup_command

    session = EditorSession(build_template("lenet5"))
    doc = session.doc
    assert session.push(group_command(session, ["conv1", "sigmoid1", "pool1"]))
    assert [doc.node(n).path for n in ("conv1", "sigmoid1", "pool1")] == [
        "block1.conv1", "block1.sigmoid1", "block1.pool1"]
    assert session.push(group_command(session, ["conv1", "sigmoid1"]))  # nested in block1
    assert doc.node("conv1").path == "block1.block1.conv1"
    assert session.push(ungroup_command(session, "block1"))
    assert [doc.node(n).path for n in ("conv1", "sigmoid1", "pool1")] == [None, None, None]
    session.stack.undo()
    assert doc.node("sigmoid1").path == "block1.block1.sigmoid1"


def test_insert_after_rewires_and_makes_room(qapp) -> None:
    from app.ui.commands import insert_after_command

    session = EditorSession(build_template("lenet5"))
    doc = session.doc
    before = session.project.to_dict()
    y_conv2 = doc.node("conv2").pos[1]
    cmd = insert_after_command(session, "pool1", "BatchNorm2d")
    assert session.push(cmd)
    new = cmd.children[0].name
    assert doc.incoming(new)["in"].src == "pool1"
    assert doc.incoming("conv2")["in"].src == new
    assert doc.node(new).pos[1] == doc.node("pool1").pos[1] + 110.0
    assert doc.node("conv2").pos[1] == y_conv2 + 110.0
    assert session.stack.count() == 1
    session.stack.undo()
    assert session.project.to_dict() == before


def test_replace_wire_is_one_step(qapp) -> None:
    from app.ui.commands import replace_wire_command

    session = EditorSession(build_template("lenet5"))
    doc = session.doc
    assert doc.can_connect("pool1", "out", "fc1", "in") is not None  # taken
    assert doc.can_replace("pool1", "out", "fc1", "in") is None
    assert doc.can_replace("fc3", "out", "conv1", "in") is not None  # a cycle
    assert doc.can_replace("flatten", "out", "fc1", "in") is not None  # the same wire
    assert session.push(replace_wire_command(session, "pool1", "out", "fc1", "in"))
    assert doc.incoming("fc1")["in"].src == "pool1"
    assert session.stack.count() == 1
    session.stack.undo()
    assert doc.incoming("fc1")["in"].src == "flatten"
