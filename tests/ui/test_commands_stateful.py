"""Random editing sessions: undo all returns the project to its start, redo all to its end.

A hypothesis state machine drives the same commands the canvas and panels push (add,
delete, connect, disconnect, parameters, rename, move, paste, group/ungroup into blocks,
data and training settings, and undo in between) on templates with module paths.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.core.graph import DocumentError, module_path
from app.core.params import INT
from app.core.templates import get_template
from app.ui.canvas.clipboard import selection_payload
from app.ui.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    RenameNodeCommand,
    SetParamsCommand,
    delete_command,
    group_command,
    insert_after_command,
    insert_layer_command,
    paste_command,
    replace_wire_command,
    ungroup_command,
)
from app.ui.session import EditorSession

TEMPLATES = ["resnet18", "alexnet", "lenet5", "vgg11"]
LAYERS = ["ReLU", "Linear", "Conv2d", "BatchNorm2d", "Dropout", "Add", "Flatten"]


def has_nodes(machine: EditingMachine) -> bool:
    """Rules that pick a node wait until a deleted-out network has one again."""
    return bool(machine.doc.graph)


class EditingMachine(RuleBasedStateMachine):
    @initialize(template=st.sampled_from(TEMPLATES))
    def open(self, template: str) -> None:
        self.session = EditorSession(get_template(template).project())
        self.start = self.session.project.to_dict()

    # -- helpers -------------------------------------------------------------------------------
    @property
    def doc(self):
        return self.session.doc

    def pick_node(self, data: st.DataObject, layers_only: bool = False) -> str:
        names = sorted(n.name for n in self.doc.nodes
                       if not layers_only or n.type not in ("Input", "Output"))
        return data.draw(st.sampled_from(names or [""]))

    # -- network edits --------------------------------------------------------------------------
    @rule(layer=st.sampled_from(LAYERS), x=st.integers(-500, 500), y=st.integers(0, 3000))
    def add(self, layer: str, x: int, y: int) -> None:
        self.session.push(AddNodeCommand(self.session, layer, pos=(x, y)))

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        names = sorted(self.doc.graph)
        if not names:  # every node deleted: nothing to pick
            return
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
        self.session.push(delete_command(self.session, chosen))

    @precondition(has_nodes)
    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        src, dst = self.pick_node(data), self.pick_node(data)
        outs, ins = self.doc.node(src).output_ports(), self.doc.node(dst).input_ports()
        if outs and ins:
            self.session.push(ConnectCommand(self.session, src, data.draw(st.sampled_from(outs)),
                                             dst, data.draw(st.sampled_from(ins))))

    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        edges = sorted(self.doc.edges, key=repr)
        if edges:
            self.session.push(DisconnectCommand(self.session, data.draw(st.sampled_from(edges))))

    @precondition(has_nodes)
    @rule(data=st.data())
    def set_param(self, data: st.DataObject) -> None:
        name = self.pick_node(data)
        ints = [p for p in self.doc.node(name).spec.params
                if p.kind == INT and isinstance(p.default, int) and not p.optional]
        if ints:
            p = data.draw(st.sampled_from(ints))
            value = data.draw(st.integers(1, 64))
            self.session.push(SetParamsCommand(self.session, name, {p.name: value},
                                               mergeable=data.draw(st.booleans())))

    @precondition(has_nodes)
    @rule(data=st.data(), new=st.sampled_from(["renamed", "stem", "layer9", "conv1", "x1"]))
    def rename(self, data: st.DataObject, new: str) -> None:
        self.session.push(RenameNodeCommand(self.session, self.pick_node(data), new))

    @precondition(has_nodes)
    @rule(data=st.data(), dx=st.integers(-200, 200), dy=st.integers(-200, 200))
    def move(self, data: st.DataObject, dx: int, dy: int) -> None:
        names = data.draw(st.lists(st.sampled_from(sorted(self.doc.graph)), min_size=1,
                                   max_size=3, unique=True))
        moves = {n: (self.doc.node(n).pos, (self.doc.node(n).pos[0] + dx,
                                            self.doc.node(n).pos[1] + dy)) for n in names}
        self.session.push(MoveNodesCommand(self.session, moves))

    @precondition(has_nodes)
    @rule(data=st.data(), cut=st.booleans())
    def paste(self, data: st.DataObject, cut: bool) -> None:
        names = data.draw(st.lists(st.sampled_from(sorted(self.doc.graph)), min_size=1,
                                   max_size=5, unique=True))
        payload = selection_payload(self.doc, names)
        if cut:
            self.session.push(delete_command(self.session, names))
        command, _ = paste_command(self.session, payload, (40.0, 40.0))
        self.session.push(command)

    @rule(data=st.data(), layer=st.sampled_from(["ReLU", "Dropout", "Flatten"]))
    def insert_on_wire(self, data: st.DataObject, layer: str) -> None:
        edges = sorted(self.doc.edges, key=repr)
        if edges:
            e = data.draw(st.sampled_from(edges))
            self.session.push(insert_layer_command(self.session, e.dst, e.dst_port, layer, {}))

    @precondition(has_nodes)
    @rule(data=st.data(), layer=st.sampled_from(["ReLU", "Linear", "Output"]))
    def insert_after(self, data: st.DataObject, layer: str) -> None:
        try:
            command = insert_after_command(self.session, self.pick_node(data), layer)
        except DocumentError:
            return
        self.session.push(command)

    @precondition(has_nodes)
    @rule(data=st.data())
    def replace_wire(self, data: st.DataObject) -> None:
        src, dst = self.pick_node(data), self.pick_node(data)
        outs, ins = self.doc.node(src).output_ports(), self.doc.node(dst).input_ports()
        if outs and ins:
            ends = (src, data.draw(st.sampled_from(outs)), dst, data.draw(st.sampled_from(ins)))
            if self.doc.can_replace(*ends) is None:
                self.session.push(replace_wire_command(self.session, *ends))

    @rule(data=st.data())
    def group(self, data: st.DataObject) -> None:
        layers = sorted(n.name for n in self.doc.nodes if n.type not in ("Input", "Output"))
        if layers:
            names = data.draw(st.lists(st.sampled_from(layers), min_size=1, max_size=4,
                                       unique=True))
            self.session.push(group_command(self.session, names))

    @rule(data=st.data())
    def ungroup(self, data: st.DataObject) -> None:
        blocks = sorted({module_path(n).rsplit(".", 1)[0] for n in self.doc.nodes
                         if "." in module_path(n)})
        if blocks:
            self.session.push(ungroup_command(self.session, data.draw(st.sampled_from(blocks))))

    # -- project sections ---------------------------------------------------------------------
    @rule(key=st.sampled_from(["epochs", "lr", "batch_size"]), value=st.integers(1, 100))
    def edit_training(self, key: str, value: int) -> None:
        training = self.session.section("training")
        training[key] = value
        self.session.set_section("training", training)

    @rule(source=st.sampled_from(["mnist", "cifar10", "iris", "fashion_mnist"]),
          fraction=st.sampled_from([0.1, 0.2, 0.5]))
    def edit_data(self, source: str, fraction: float) -> None:
        data = self.session.section("data")
        data["source"] = source
        data.setdefault("split", {})["val_fraction"] = fraction
        self.session.set_section("data", data)

    @rule(data=st.data())
    def freeze(self, data: st.DataObject) -> None:
        training = self.session.section("training")
        frozen = set(training.get("freeze", []))
        name = self.pick_node(data, layers_only=True)
        if not name:  # no layer left to freeze
            return
        frozen ^= {module_path(self.doc.node(name))}
        training["freeze"] = sorted(frozen)
        self.session.set_section("training", training)

    @rule(steps=st.integers(1, 3))
    def undo(self, steps: int) -> None:
        for _ in range(steps):
            self.session.stack.undo()

    # -- the property -------------------------------------------------------------------------
    @invariant()
    def undo_all_then_redo_all(self) -> None:
        if not hasattr(self, "session"):
            return
        stack = self.session.stack
        end, index = copy.deepcopy(self.session.project.to_dict()), stack.index()
        stack.setIndex(0)
        assert self.session.project.to_dict() == self.start
        stack.setIndex(stack.count())
        assert self.session.project.to_dict() == (
            end if index == stack.count() else self.session.project.to_dict())
        stack.setIndex(index)
        assert self.session.project.to_dict() == end


EditingMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_editing_round_trips = EditingMachine.TestCase


@pytest.fixture(autouse=True)
def _app(qapp):  # the session's timers need a running QApplication
    return qapp
