"""Undoable edits: one small QUndoCommand per NetworkDocument operation.

Modelled on orange-canvas-core's document/commands.py: `do` and `revert` are each one
call on the model, and compound edits (delete a selection, paste, a one-click fix) are
built from child commands. A refused edit (DocumentError) is reported through the
session, marks the command obsolete so QUndoStack drops it, and undoes any children
that already ran, so the document is never left half-edited.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from app.core.catalogue import spec_for
from app.core.graph import (
    DocumentError,
    Edge,
    NetworkDocument,
    Node,
    check_identifier,
    module_path,
)
from app.core.templates import COLUMN, ROW

if TYPE_CHECKING:
    from app.core.shapes import Fix
    from app.ui.session import EditorSession

Pos = tuple[float, float]

MOVE_ID = 1
PARAMS_ID = 2
SECTION_ID = 3


class DocCommand(QUndoCommand):
    """Base: subclasses implement `do` and `revert` against `self.doc`."""

    def __init__(self, session: EditorSession, text: str) -> None:
        super().__init__(text)
        self.session = session

    @property
    def doc(self) -> NetworkDocument:
        return self.session.doc

    def do(self) -> None:
        raise NotImplementedError

    def revert(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        try:
            self.do()
        except DocumentError as exc:
            self.setObsolete(True)
            self.session.report(str(exc))

    def undo(self) -> None:
        self.revert()

    def mergeWith(self, other: QUndoCommand) -> bool:
        # QUndoStack offers a refused (obsolete) edit for merging before it drops it; taking
        # its values would make the kept entry redo an edit the document refused.
        return not other.isObsolete() and self.merge(other)

    def merge(self, other: QUndoCommand) -> bool:
        """Absorb `other`, the edit pushed right after this one; False keeps both."""
        return False


class CompoundCommand(DocCommand):
    """Runs child commands in order and reverts them in reverse; all or nothing."""

    def __init__(self, session: EditorSession, text: str,
                 children: Sequence[DocCommand] = ()) -> None:
        super().__init__(session, text)
        self.children: list[DocCommand] = list(children)

    def add(self, child: DocCommand) -> DocCommand:
        self.children.append(child)
        return child

    def do(self) -> None:
        done: list[DocCommand] = []
        try:
            for child in self.children:
                child.do()
                done.append(child)
        except DocumentError:
            for child in reversed(done):
                child.revert()
            raise

    def revert(self) -> None:
        for child in reversed(self.children):
            child.revert()


class AddNodeCommand(DocCommand):
    def __init__(self, session: EditorSession, layer_type: str, params: dict[str, Any] | None
                 = None, name: str | None = None, pos: Pos = (0.0, 0.0),
                 path: str | None = None, port_names: dict[str, str] | None = None) -> None:
        super().__init__(session, f"Add {layer_type}")
        self.layer_type = layer_type
        self.params = dict(params or {})
        self.name = name
        self.pos = pos
        self.path = path
        self.port_names = dict(port_names or {})
        self._node: Node | None = None

    def do(self) -> None:
        # Redo puts back the very node the first run made (and undo removed).
        if self._node is None:
            self._node = self.doc.add_node(self.layer_type, self.params, self.name, self.pos,
                                           self.path, self.port_names)
            self.name = self._node.name
        else:
            self.doc.insert_node(self._node)

    def revert(self) -> None:
        self._node = self.doc.remove_node(self.name)


class RemoveNodeCommand(DocCommand):
    """Removes a node with its wires; undo puts the same node (module path included) and
    its wires back."""

    def __init__(self, session: EditorSession, name: str) -> None:
        super().__init__(session, f"Delete {name}")
        self.name = name
        self._node: Node | None = None
        self._edges: list[Edge] = []

    def do(self) -> None:
        self._edges = list(self.doc.incoming(self.name).values()) + self.doc.outgoing(self.name)
        self._node = self.doc.remove_node(self.name)

    def revert(self) -> None:
        self.doc.insert_node(self._node)
        for e in self._edges:
            if self.doc.has_node(e.src) and self.doc.has_node(e.dst):
                self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)


class RenameNodeCommand(DocCommand):
    def __init__(self, session: EditorSession, old: str, new: str) -> None:
        super().__init__(session, f"Rename {old} to {new}")
        self.old, self.new = old, new

    def do(self) -> None:
        self.doc.rename_node(self.old, self.new)

    def revert(self) -> None:
        self.doc.rename_node(self.new, self.old)


class SetParamsCommand(DocCommand):
    """Consecutive edits of the same parameter of one node merge into one history entry
    (clicking a spin box arrow five times is one change to the student). Edits of several
    parameters at once, and one-click fixes (`mergeable=False`), are steps of their own.
    Undo puts the node's whole previous state back, as orange-canvas-core's commands do:
    its parameters and the output names the change dropped with their ports."""

    def __init__(self, session: EditorSession, name: str, changes: dict[str, Any],
                 mergeable: bool = True) -> None:
        keys = ", ".join(sorted(changes))
        super().__init__(session, f"Set {name}.{keys}")
        self.name = name
        self.changes = dict(changes)
        self.old: dict[str, Any] = {}
        self.old_port_names: dict[str, str] = {}
        self.mergeable = mergeable and len(changes) == 1

    def id(self) -> int:
        return PARAMS_ID

    def do(self) -> None:
        port_names = dict(self.doc.node(self.name).port_names)
        old = self.doc.set_params(self.name, self.changes)
        if not self.old:
            self.old, self.old_port_names = old, port_names

    def revert(self) -> None:
        self.doc.set_params(self.name, self.old, port_names=self.old_port_names)

    def merge(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, SetParamsCommand) or not (self.mergeable and other.mergeable)
                or other.name != self.name or set(other.changes) != set(self.changes)):
            return False
        self.changes = dict(other.changes)
        return True


class SetPathCommand(DocCommand):
    """Give a node's layer another module path (grouping into blocks, ungrouping)."""

    def __init__(self, session: EditorSession, name: str, path: str | None) -> None:
        super().__init__(session, f"Move {name} to {path or name}")
        self.name, self.path = name, path
        self.old: str | None = None

    def do(self) -> None:
        self.old = self.doc.set_path(self.name, self.path)

    def revert(self) -> None:
        self.doc.set_path(self.name, self.old)


class SetSectionCommand(DocCommand):
    """Replace a project section ("data", "training", "canvas") with a new value.

    Both values are deep-copied, so later edits of the caller's object change nothing.
    Consecutive commands that change the same single field of the same section merge
    (typing a learning rate, dragging a slider); anything else is its own step.
    """

    def __init__(self, session: EditorSession, section: str, value: Any,
                 text: str | None = None) -> None:
        self.section = section
        self.old = copy.deepcopy(getattr(session.project, section))
        self.new = copy.deepcopy(value)
        self.fields = changed_fields(self.old, self.new)
        super().__init__(session, text or f"Set {section}: {', '.join(self.fields) or 'all'}")

    def id(self) -> int:
        return SECTION_ID

    def do(self) -> None:
        self.session.write_section(self.section, self.new)

    def revert(self) -> None:
        self.session.write_section(self.section, self.old)

    def merge(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, SetSectionCommand) or other.section != self.section
                or len(self.fields) != 1 or other.fields != self.fields):
            return False
        self.new = other.new
        return True


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ (`params.batch_size`); dataclasses compare
    field by field."""
    if is_dataclass(old) and is_dataclass(new) and type(old) is type(new):
        old, new = asdict(old), asdict(new)
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                out += changed_fields(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [prefix.rstrip(".")] if old != new else []


_MISSING = object()


class MoveNodesCommand(DocCommand):
    """Moves nodes; consecutive moves of the same nodes merge (a drag, or arrow-key nudges)."""

    def __init__(self, session: EditorSession, moves: dict[str, tuple[Pos, Pos]],
                 text: str | None = None) -> None:
        super().__init__(session, text or _move_text(moves))
        self.moves = dict(moves)
        self.mergeable = text is None

    def id(self) -> int:
        return MOVE_ID

    def do(self) -> None:
        self.doc.move_nodes({name: new for name, (_, new) in self.moves.items()})

    def revert(self) -> None:
        self.doc.move_nodes({name: old for name, (old, _) in self.moves.items()})

    def merge(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, MoveNodesCommand) or not (self.mergeable and other.mergeable)
                or set(other.moves) != set(self.moves)):
            return False
        self.moves = {n: (self.moves[n][0], other.moves[n][1]) for n in self.moves}
        return True


def _move_text(moves: dict[str, Any]) -> str:
    return f"Move {next(iter(moves))}" if len(moves) == 1 else f"Move {len(moves)} nodes"


class ConnectCommand(DocCommand):
    def __init__(self, session: EditorSession, src: str, src_port: str, dst: str,
                 dst_port: str) -> None:
        super().__init__(session, f"Connect {src} → {dst}")
        self.edge = Edge(src, src_port, dst, dst_port)

    def do(self) -> None:
        e = self.edge
        self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)

    def revert(self) -> None:
        self.doc.disconnect(self.edge)


class DisconnectCommand(DocCommand):
    def __init__(self, session: EditorSession, edge: Edge) -> None:
        super().__init__(session, f"Disconnect {edge.src} → {edge.dst}")
        self.edge = edge

    def do(self) -> None:
        self.doc.disconnect(self.edge)

    def revert(self) -> None:
        e = self.edge
        self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)


# -- compound edits -------------------------------------------------------------------------

def delete_command(session: EditorSession, nodes: Iterable[str],
                   edges: Iterable[Edge] = ()) -> CompoundCommand:
    """Delete wires first (so undo restores them exactly), then the nodes."""
    nodes = list(dict.fromkeys(nodes))
    doc = session.doc
    wires = list(dict.fromkeys(edges))
    for name in nodes:
        wires += [e for e in list(doc.incoming(name).values()) + doc.outgoing(name)
                  if e not in wires]
    what = nodes[0] if len(nodes) == 1 and not edges else f"{len(nodes) + len(wires)} items"
    if not nodes and len(wires) == 1:
        what = f"wire {wires[0].src} → {wires[0].dst}"
    cmd = CompoundCommand(session, f"Delete {what}")
    for edge in wires:
        cmd.add(DisconnectCommand(session, edge))
    for name in nodes:
        cmd.add(RemoveNodeCommand(session, name))
    return cmd


def paste_command(session: EditorSession, payload: dict[str, Any],
                  offset: Pos | None = None) -> tuple[CompoundCommand, list[str]]:
    """Add copied nodes (renamed where taken) and the wires between them, shifted by
    `offset`; by default beside the originals where no pasted layer covers another."""
    doc = session.doc
    if offset is None:
        offset = free_offset(doc, [tuple(item.get("pos", (0.0, 0.0)))
                                   for item in payload["nodes"]])
    taken = set(doc.graph)
    names: list[str] = []
    for item in payload["nodes"]:
        names.append(_free_name(item["name"], spec_for(item["type"]).prefix, taken))
        taken.add(names[-1])
    renames = {item["name"]: name for item, name in zip(payload["nodes"], names)}
    # every pasted name is known before any output keeps its own: no output takes a node's
    variables = taken | {v for n in doc.nodes for v in n.port_names.values()}
    cmd = CompoundCommand(session, "Paste" if len(payload["nodes"]) != 1
                          else f"Paste {payload['nodes'][0]['type']}")
    paths: list[str] = []
    for item, name in zip(payload["nodes"], names):
        x, y = item.get("pos", (0.0, 0.0))
        path = _pasted_path(doc, name, item.get("path"), paths)
        cmd.add(AddNodeCommand(session, item["type"], item.get("params", {}), name,
                               (x + offset[0], y + offset[1]), path,
                               _pasted_port_names(item, variables)))
    for e in payload.get("edges", []):
        if e["src"] in renames and e["dst"] in renames:
            cmd.add(ConnectCommand(session, renames[e["src"]], e["src_port"], renames[e["dst"]],
                                   e["dst_port"]))
    return cmd, names


def free_offset(doc: NetworkDocument, spots: Sequence[Pos]) -> Pos:
    """The shift that puts layers at `spots` in free space: whole columns to the right, the
    nearest where none of them overlaps a layer of the document."""
    taken = [n.pos for n in doc.nodes]
    right = max((p[0] for p in taken), default=0.0)
    left = min((s[0] for s in spots), default=0.0)
    columns = int((right - left) // COLUMN) + 2
    for k in range(1, columns + 1):
        dx = k * COLUMN
        if not any(_overlaps((x + dx, y), pos) for x, y in spots for pos in taken):
            return dx, 0.0
    return columns * COLUMN, 0.0


def _pasted_path(doc: NetworkDocument, name: str, path: Any, chosen: list[str]) -> str | None:
    """A pasted layer keeps its module path (cut and paste moves it whole) unless the path
    is taken, in the document or by another pasted layer; then it sits at its name."""
    if not isinstance(path, str) or doc.path_conflict(name, path):
        return None
    if any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in chosen):
        return None
    chosen.append(path)
    return path


def _pasted_port_names(item: dict[str, Any], variables: set[str]) -> dict[str, str]:
    """The copied node's output names that no node or other output of the document (or
    of the paste) uses; `variables` gains them. Each dropped one falls back to
    `<name>_<port>` in the exported code, as two outputs may not share a variable.
    Malformed entries (a hand-edited clipboard) are dropped, never refused."""
    names = item.get("port_names")
    kept: dict[str, str] = {}
    if not isinstance(names, dict):
        return kept
    spec = spec_for(item["type"])
    try:
        extra = spec.output_ports(spec.validate(dict(item.get("params") or {})))[1:]
    except (TypeError, ValueError):  # ParamError: adding the node is refused, with why
        return kept
    for port, variable in names.items():
        if port not in extra or not isinstance(variable, str) or variable in variables:
            continue
        try:
            check_identifier(variable)
        except DocumentError:
            continue
        kept[port] = variable
        variables.add(variable)
    return kept


def _free_name(wanted: str, prefix: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    stem = wanted.rstrip("0123456789") or prefix or "node"
    i = 1
    while f"{stem}{i}" in taken:
        i += 1
    return f"{stem}{i}"


def _ports(layer_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = spec_for(layer_type)
    params = spec.defaults()
    return spec.input_ports(params), spec.output_ports(params)


def _overlaps(a: Pos, b: Pos) -> bool:
    # A layer's card with its port labels (node_item.boundingRect, 220 x 106) fits inside
    # one COLUMN x ROW cell, so cards whose corners are a cell apart never touch.
    return abs(a[0] - b[0]) < COLUMN and abs(a[1] - b[1]) < ROW


def _clear_space(doc: NetworkDocument, placed: dict[str, Pos]) -> dict[str, Pos]:
    """Final positions of every node once the `placed` ones sit where given: any other node
    in the way moves down just below it, and those it then lands on move in turn, so an
    unconnected Output under a chain being built keeps moving down below the chain."""
    final = {n.name: n.pos for n in doc.nodes} | placed
    fixed = set(placed)
    pending = sorted((n for n in final if n not in fixed), key=lambda n: final[n][::-1])
    while True:
        hit = next((b for b in pending if any(_overlaps(final[a], final[b]) for a in fixed)),
                   None)
        if hit is None:
            return final
        while blockers := [a for a in fixed if _overlaps(final[a], final[hit])]:
            final[hit] = (final[hit][0], max(final[a][1] for a in blockers) + ROW)
        pending.remove(hit)
        fixed.add(hit)


def _make_room(session: EditorSession, new: str, pos: Pos, below: Iterable[str] = ()
               ) -> MoveNodesCommand | None:
    """The move that lets layer `new` sit at `pos`: `below` (what it now feeds) moves down a
    row and anything else in the way moves further down; None when nothing needs to move."""
    doc = session.doc
    placed = {new: pos} | {n: (doc.node(n).pos[0], doc.node(n).pos[1] + ROW) for n in below}
    final = _clear_space(doc, placed)
    moves = {n: (doc.node(n).pos, final[n]) for n in sorted(final)
             if n != new and final[n] != doc.node(n).pos}
    return MoveNodesCommand(session, moves, "Make room") if moves else None


def free_spot(doc: NetworkDocument, pos: Pos) -> Pos:
    """The free place nearest `pos` for a new layer (itself when nothing is there)."""
    steps = [(i * COLUMN / 4, j * ROW / 2) for i in range(-8, 9) for j in range(-8, 9)]
    for dx, dy in sorted(steps, key=lambda d: (d[0] ** 2 + d[1] ** 2, -d[1], d[0])):
        spot = (pos[0] + dx, pos[1] + dy)
        if not any(_overlaps(spot, n.pos) for n in doc.nodes):
            return spot
    return pos[0], max((n.pos[1] for n in doc.nodes), default=pos[1]) + ROW


def _add_room(cmd: CompoundCommand, room: MoveNodesCommand | None) -> None:
    if room is not None:
        cmd.add(room)


def insert_layer_command(session: EditorSession, node: str, port: str, layer_type: str,
                         params: dict[str, Any], label: str | None = None) -> CompoundCommand:
    """Put a new layer in front of node.port, already wired, making room below it.

    The compound is orange's InsertNodeCommand: add node, move nodes down, remove the
    old wire, add two wires. Its first child is the AddNodeCommand.
    """
    doc = session.doc
    ins, outs = _ports(layer_type)
    if not ins or not outs:
        raise DocumentError(f"{layer_type} has no input or no output to wire in")
    old = doc.incoming(node).get(port)
    target = doc.node(node)
    name = doc.unique_name(spec_for(layer_type).prefix)
    cmd = CompoundCommand(session, label or f"Insert {layer_type} before {node}")
    x = doc.node(old.src).pos[0] if old is not None else target.pos[0]
    cmd.add(AddNodeCommand(session, layer_type, params, name, (x, target.pos[1])))
    _add_room(cmd, _make_room(session, name, (x, target.pos[1]), doc.downstream(node)))
    if old is None:
        cmd.add(ConnectCommand(session, name, outs[0], node, port))
    else:
        _route_through(cmd, (old.src, old.src_port), [old], name, ins[0], outs[0])
    return cmd


def insert_on_wires_command(session: EditorSession, wires: Sequence[Edge], layer_type: str,
                            label: str) -> CompoundCommand:
    """Put a new layer on several wires from one output (the canvas draws the wires into a
    collapsed block as one line): it takes that output and feeds every layer they fed."""
    doc = session.doc
    ins, outs = _ports(layer_type)
    if not ins or not outs:
        raise DocumentError(f"{layer_type} has no input or no output to wire in")
    src, src_port = wires[0].src, wires[0].src_port
    name = doc.unique_name(spec_for(layer_type).prefix)
    top = min(doc.node(e.dst).pos[1] for e in wires)
    cmd = CompoundCommand(session, label)
    pos = (doc.node(src).pos[0], top)
    cmd.add(AddNodeCommand(session, layer_type, {}, name, pos))
    _add_room(cmd, _make_room(session, name, pos,
                              set().union(*(doc.downstream(e.dst) for e in wires))))
    _route_through(cmd, (src, src_port), wires, name, ins[0], outs[0])
    return cmd


def insert_after_command(session: EditorSession, node: str, layer_type: str,
                         params: dict[str, Any] | None = None) -> CompoundCommand:
    """Put a new layer right below `node`, fed by its first output and feeding whatever that
    output fed; everything downstream moves down a row. First child: the AddNodeCommand."""
    doc = session.doc
    ins, outs = _ports(layer_type)
    if not ins:
        raise DocumentError(f"{layer_type} takes no input, so it cannot follow {node}")
    src_ports = doc.node(node).output_ports()
    if not src_ports:
        raise DocumentError(f"{node} has no output to follow")
    src_port = src_ports[0]
    wires = [e for e in doc.outgoing(node) if e.src_port == src_port] if outs else []
    name = doc.unique_name(spec_for(layer_type).prefix)
    x, y = doc.node(node).pos
    cmd = CompoundCommand(session, f"Insert {layer_type} after {node}")
    cmd.add(AddNodeCommand(session, layer_type, params or {}, name, (x, y + ROW)))
    below = set().union(*(doc.downstream(n) for n in doc.graph.successors(node)))
    _add_room(cmd, _make_room(session, name, (x, y + ROW), below))
    _route_through(cmd, (node, src_port), wires, name, ins[0], outs[0] if outs else "")
    return cmd


def _route_through(cmd: CompoundCommand, src: tuple[str, str], wires: Sequence[Edge],
                   layer: str, layer_in: str, layer_out: str) -> None:
    """The rewiring tail of every insert (orange's InsertNodeCommand): the `wires` leaving
    output `src` are removed, `src` feeds the new layer, and the layer feeds what they fed."""
    session = cmd.session
    for e in wires:
        cmd.add(DisconnectCommand(session, e))
    cmd.add(ConnectCommand(session, *src, layer, layer_in))
    for e in wires:
        cmd.add(ConnectCommand(session, layer, layer_out, e.dst, e.dst_port))


def replace_wire_command(session: EditorSession, src: str, src_port: str, dst: str,
                         dst_port: str) -> CompoundCommand:
    """Connect into an input, replacing the wire already there (one undo step)."""
    old = session.doc.incoming(dst).get(dst_port)
    cmd = CompoundCommand(session, f"Connect {src} → {dst}" if old is None
                          else f"Replace {old.src} → {dst} by {src} → {dst}")
    if old is not None:
        cmd.add(DisconnectCommand(session, old))
    cmd.add(ConnectCommand(session, src, src_port, dst, dst_port))
    return cmd


def fix_command(session: EditorSession, fix: Fix) -> DocCommand:
    """A one-click shape fix as one undoable edit."""
    if fix.kind == "set_param":
        cmd = SetParamsCommand(session, fix.node, {fix.param: fix.value}, mergeable=False)
        cmd.setText(f"Fix: {fix.label}")
        return cmd
    if fix.kind == "insert":
        return insert_layer_command(session, fix.node, fix.port, fix.layer_type,
                                    dict(fix.layer_params), f"Fix: {fix.label}")
    raise ValueError(f"unknown fix kind {fix.kind!r}")


def move_input_command(session: EditorSession, node: str, port: str,
                       other: str) -> CompoundCommand:
    """Swap the wires on two input ports of a merge node (Concat order matters)."""
    incoming = session.doc.incoming(node)
    a, b = incoming.get(port), incoming.get(other)
    cmd = CompoundCommand(session, f"Swap {node}.{port} and {node}.{other}")
    for edge in (a, b):
        if edge is not None:
            cmd.add(DisconnectCommand(session, edge))
    if a is not None:
        cmd.add(ConnectCommand(session, a.src, a.src_port, node, other))
    if b is not None:
        cmd.add(ConnectCommand(session, b.src, b.src_port, node, port))
    return cmd


def append_layer_command(session: EditorSession, layer_type: str, after: str | None,
                         pos: Pos) -> CompoundCommand:
    """Palette double-click / Enter: inserted after the selected layer (see
    insert_after_command), or added at the free spot nearest `pos` when none is selected or it cannot follow it.
    The first child is the AddNodeCommand."""
    doc = session.doc
    if after is not None and doc.has_node(after):
        try:
            return insert_after_command(session, after, layer_type)
        except DocumentError:
            pass
    cmd = CompoundCommand(session, f"Add {layer_type}")
    cmd.add(AddNodeCommand(session, layer_type, {}, doc.unique_name(spec_for(layer_type).prefix),
                           free_spot(doc, pos)))
    return cmd


# -- blocks: module paths -------------------------------------------------------------------

def block_of(doc: NetworkDocument, names: Iterable[str]) -> str:
    """The innermost container the layers share ("" at the top level)."""
    parents = [module_path(doc.node(n)).split(".")[:-1] for n in names]
    common: list[str] = []
    for segments in zip(*parents, strict=False):
        if len(set(segments)) != 1:
            break
        common.append(segments[0])
    return ".".join(common)


def group_command(session: EditorSession, names: Sequence[str],
                  block: str | None = None) -> CompoundCommand:
    """Move the layers into a new block (a module container) inside the one they share.

    Each keeps the last segment of its module path (its name where two would clash), so
    exported code gets `self.block1 = ...` holding them and state_dict keys say so.
    """
    doc = session.doc
    names = list(dict.fromkeys(names))
    parent = block_of(doc, names)
    if block is None:
        block = _free_block(doc, parent)
    full = f"{parent}.{block}" if parent else block
    leaves = [module_path(doc.node(n)).rsplit(".", 1)[-1] for n in names]
    cmd = CompoundCommand(session, f"Group {len(names)} layers into {full}")
    for name, leaf in zip(names, leaves, strict=True):
        leaf = name if leaves.count(leaf) > 1 or leaf.isdigit() else leaf
        cmd.add(SetPathCommand(session, name, f"{full}.{leaf}"))
    return cmd


def ungroup_command(session: EditorSession, block: str) -> CompoundCommand:
    """Dissolve a block: its layers move to the container around it, at their names."""
    doc = session.doc
    parent = block.rpartition(".")[0]
    inside = [n.name for n in doc.nodes if module_path(n).startswith(block + ".")]
    cmd = CompoundCommand(session, f"Ungroup {block}")
    for name in sorted(inside):
        cmd.add(SetPathCommand(session, name, f"{parent}.{name}" if parent else None))
    return cmd


def _free_block(doc: NetworkDocument, parent: str) -> str:
    i = 1
    while True:
        name = f"block{i}"
        full = f"{parent}.{name}" if parent else name
        if not doc.has_node(name) and doc.path_conflict(name, full) is None and not any(
                module_path(n).startswith(full + ".") for n in doc.nodes):
            return name
        i += 1
