"""NetworkDocument: the single source of truth for a network's nodes and wires.

A networkx MultiDiGraph holds the nodes (keyed by their unique name) and the edges
(keyed by the destination port, since an input port takes exactly one wire). Views
subscribe to change notifications; every edit goes through the methods here.
"""

from __future__ import annotations

import copy
import itertools
import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from app.core.catalogue import PORT_KINDS, Role, spec_for
from app.core.params import ParamError

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A module path segment: an attribute name or an nn.Sequential index (no leading zeros, so
# `features.01` cannot alias `features.1`).
_INDEX_RE = re.compile(r"^(0|[1-9][0-9]{0,8})$")
MAX_PATH = 200

# Node names become attributes of an nn.Module and variables in exported code; these would
# shadow torch.nn.Module's own attributes or the names the generated code relies on.
RESERVED_NAMES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad", "self", "torch", "nn", "F", "x", "out", "Net", "build_model", "main",
    "inputs", "outputs", "model", "super", "print", "len", "tuple", "list", "dict",
})


class DocumentError(ValueError):
    """An edit was refused; the message says why in plain words."""


@dataclass
class Node:
    name: str
    type: str
    params: dict[str, Any]
    pos: tuple[float, float] = (0.0, 0.0)
    path: str | None = None  # dotted module path (`layer1.0.conv1`); None: the node's name
    # The variable exported code gives an extra output, by port: `k` and `v` of an import's
    # `q, k, v = x.chunk(3)`. The main output's variable is the node's name.
    port_names: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self):
        return spec_for(self.type)

    def input_ports(self) -> tuple[str, ...]:
        return self.spec.input_ports(self.params)

    def output_ports(self) -> tuple[str, ...]:
        return self.spec.output_ports(self.params)


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str


@dataclass(frozen=True)
class Change:
    """What changed: kind is one of node_added, node_removed, node_renamed, params_changed,
    node_moved, path_changed, edge_added, edge_removed, reset. `nodes` are the names whose inferred shapes
    may change (the view and shape inference use them to limit work)."""

    kind: str
    nodes: tuple[str, ...] = ()
    edge: Edge | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def check_identifier(name: str) -> None:
    """Node names become Python attribute names in generated code, so they must be safe."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or keyword.iskeyword(name):
        raise DocumentError(
            f"{name!r} is not a valid node name: use letters, digits and _, starting with a "
            "letter")
    if name in RESERVED_NAMES:
        raise DocumentError(f"{name!r} is reserved by PyTorch or the generated code; choose "
                            "another node name")
    if len(name) > 64:
        raise DocumentError(f"node name {name[:20]!r}... is longer than 64 characters")


def module_path(node: Node) -> str:
    """Where the node's layer sits in the compiled model and the exported code; its
    state_dict keys start with this path."""
    return node.path or node.name


def check_path(path: str) -> None:
    """A module path is dot-separated attribute names and nn.Sequential indices, starting
    with a name (it becomes `self.<first segment>` in exported code)."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        raise DocumentError(f"module path {str(path)[:40]!r} must be text of 1 to {MAX_PATH} "
                            "characters")
    segments = path.split(".")
    if _INDEX_RE.match(segments[0]):
        raise DocumentError(f"module path {path!r} must start with a name, not an index")
    for segment in segments:
        if _INDEX_RE.match(segment):
            continue
        try:
            check_identifier(segment)
        except DocumentError as exc:
            raise DocumentError(f"module path {path!r}: {exc}".replace("node name",
                                                                       "path segment"))


class NetworkDocument:
    def __init__(self) -> None:
        self.graph = nx.MultiDiGraph()
        self._listeners: list[Callable[[Change], None]] = []
        self._order: list[str] | None = None  # cached topological order
        self._rank: dict[str, int] | None = None  # node -> its index in that order
        # Module paths must be unique and prefix-free (a module is a layer or a container,
        # never both); these indexes make that check independent of the graph's size.
        self._paths: dict[str, str] = {}  # module path -> node name
        self._containers: dict[str, int] = {}  # proper prefix -> number of paths under it

    # -- observation -----------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.remove(listener)

    def _emit(self, change: Change) -> None:
        if change.kind not in ("params_changed", "node_moved", "path_changed"):
            self._order = self._rank = None
        for listener in list(self._listeners):
            listener(change)

    # -- queries ---------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        try:
            return self.graph._node[name]["node"]
        except KeyError:
            raise DocumentError(f"there is no node named {name!r}") from None

    def has_node(self, name: str) -> bool:
        return name in self.graph

    @property
    def nodes(self) -> list[Node]:
        return [data["node"] for _, data in self.graph.nodes(data=True)]

    @property
    def edges(self) -> list[Edge]:
        return [data["edge"] for _, _, data in self.graph.edges(data=True)]

    # incoming/outgoing read networkx's adjacency dicts (`_pred`/`_succ`, the documented
    # data structure of its graph classes) rather than the public views: a view builds an
    # object per level on every call, which cost a fifth of inference + compile on a
    # 1000-node graph (6 us per call against 1).
    def incoming(self, name: str) -> dict[str, Edge]:
        """Edges into `name`, by destination port."""
        return {key: data["edge"] for keyed in self.graph._pred.get(name, {}).values()
                for key, data in keyed.items()}

    def outgoing(self, name: str) -> list[Edge]:
        return [data["edge"] for keyed in self.graph._succ.get(name, {}).values()
                for data in keyed.values()]

    def topological_order(self) -> list[str]:
        """Sources first; ties broken by name so the order (and saved files) is stable."""
        if self._order is None:
            self._order = list(nx.lexicographical_topological_sort(self.graph))
        return list(self._order)

    def topological_rank(self) -> Mapping[str, int]:
        """Each node's index in topological_order() (cached until the wiring changes)."""
        if self._rank is None:
            self._rank = {name: i for i, name in enumerate(self.topological_order())}
        return self._rank

    def ends(self, role: Role) -> list[str]:
        """The Input (or Output) nodes in topological order: the order the compiled module
        takes its inputs and returns its outputs."""
        return [n for n in self.topological_order() if self.node(n).spec.role is role]

    def downstream(self, name: str) -> set[str]:
        return {name} | nx.descendants(self.graph, name)

    def node_at(self, path: str) -> str | None:
        """The node whose layer sits at module path `path`, if any."""
        return self._paths.get(path)

    def node_for_key(self, key: str) -> str | None:
        """The node owning a state_dict / named_parameters key (`features.0.weight`)."""
        prefix = key
        while "." in prefix:
            prefix = prefix.rpartition(".")[0]
            if prefix in self._paths:
                return self._paths[prefix]
        return None

    def unique_name(self, prefix: str) -> str:
        prefix = prefix or "node"
        i = 1
        while f"{prefix}{i}" in self.graph:
            i += 1
        return f"{prefix}{i}"

    # -- edits -----------------------------------------------------------------------------
    def add_node(self, layer_type: str, params: dict[str, Any] | None = None,
                 name: str | None = None, pos: tuple[float, float] = (0.0, 0.0),
                 path: str | None = None, port_names: dict[str, str] | None = None) -> Node:
        if not isinstance(layer_type, str):
            raise DocumentError(f"layer type must be text (got {layer_type!r})")
        try:
            spec = spec_for(layer_type)
        except KeyError as exc:
            raise DocumentError(str(exc.args[0])) from None
        name = self.unique_name(spec.prefix) if name is None else name
        check_identifier(name)
        if name in self.graph:
            raise DocumentError(f"a node named {name!r} already exists")
        try:
            full = spec.validate(dict(params or {}))
        except ParamError as exc:
            raise DocumentError(f"{name}: {exc}") from None
        node = Node(name, layer_type, full, (float(pos[0]), float(pos[1])), path)
        node.port_names = _port_names(node, port_names or {})
        self._claim(node, path)
        self.graph.add_node(name, node=node)
        self._emit(Change("node_added", (name,)))
        return node

    def remove_node(self, name: str) -> Node:
        """Remove a node and its wires; returns the node, which `insert_node` puts back."""
        node = self.node(name)
        for edge in list(self.incoming(name).values()) + self.outgoing(name):
            self.disconnect(edge)
        self._index(module_path(node), name, -1)
        self.graph.remove_node(name)
        self._emit(Change("node_removed", (name,)))
        return node

    def insert_node(self, node: Node) -> Node:
        """Put a removed node back whole (name, parameters, position and module path),
        as orange-canvas-core's RemoveNodeCommand re-inserts the node object."""
        check_identifier(node.name)
        if node.name in self.graph:
            raise DocumentError(f"a node named {node.name!r} already exists")
        self._claim(node, node.path)
        self.graph.add_node(node.name, node=node)
        self._emit(Change("node_added", (node.name,)))
        return node

    def rename_node(self, old: str, new: str) -> None:
        node = self.node(old)
        if new == old:
            return
        check_identifier(new)
        if new in self.graph:
            raise DocumentError(f"a node named {new!r} already exists")
        self._index(module_path(node), old, -1)
        node.name = new
        try:
            self._claim(node, node.path)  # renaming keeps an explicit path
        except DocumentError:
            node.name = old
            self._index(module_path(node), old, +1)
            raise
        nx.relabel_nodes(self.graph, {old: new}, copy=False)
        for _, _, data in self.graph.edges(data=True):
            e = data["edge"]
            if old in (e.src, e.dst):
                data["edge"] = Edge(new if e.src == old else e.src, e.src_port,
                                    new if e.dst == old else e.dst, e.dst_port)
        self._emit(Change("node_renamed", (new,), detail={"old": old, "new": new}))

    def set_params(self, name: str, changes: dict[str, Any],
                   port_names: dict[str, str] | None = None) -> dict[str, Any]:
        """Change some parameters; returns the previous values (for undo).

        Wires on ports that the change removes (fewer merge inputs, indices turned off)
        are refused rather than silently dropped. Names of outputs the change removes are
        dropped; `port_names` (an undo putting the node back whole) replaces them all.
        """
        node = self.node(name)
        try:
            full = node.spec.validate(node.params | changes)
        except ParamError as exc:
            raise DocumentError(f"{name}: {exc}") from None
        trial = Node(name, node.type, full)
        lost = [e for e in self.incoming(name).values() if e.dst_port not in trial.input_ports()]
        lost += [e for e in self.outgoing(name) if e.src_port not in trial.output_ports()]
        if lost:
            port = lost[0].dst_port if lost[0].dst == name else lost[0].src_port
            raise DocumentError(f"{name}: port {port!r} is still connected; remove that wire "
                                "first")
        kept = {p: v for p, v in node.port_names.items() if p in trial.output_ports()}
        names = kept if port_names is None else _port_names(trial, port_names)
        old = {k: node.params[k] for k in changes}
        node.params = full
        node.port_names = names
        self._emit(Change("params_changed", (name,), detail={"params": sorted(changes)}))
        return old

    def set_path(self, name: str, path: str | None) -> str | None:
        """Give the node's layer a module path (None: its name); returns the old path."""
        node = self.node(name)
        old = node.path
        if path == old:
            return old
        self._index(module_path(node), name, -1)
        try:
            self._claim(node, path)
        except DocumentError:
            self._index(module_path(node), name, +1)
            raise
        node.path = path
        self._emit(Change("path_changed", (name,), detail={"old": old, "new": path}))
        return old

    def path_conflict(self, name: str, path: str | None) -> str | None:
        """Why a node called `name` could not take module path `path` (None: its name):
        malformed, taken, or nesting inside or around another node's path; None if free."""
        if path is not None:
            try:
                check_path(path)
            except DocumentError as exc:
                return f"{name}: {exc}"
        path = path or name
        owner = self._paths.get(path)
        if owner is not None:
            return f"{name}: module path {path!r} is already {owner}'s"
        if self._containers.get(path):
            inner = next(p for p in self._paths if p.startswith(path + "."))
            return (f"{name}: module path {path!r} holds {self._paths[inner]} ({inner}); a "
                    "module cannot be both a layer and a container")
        for outer in _prefixes(path):
            if outer in self._paths:
                return (f"{name}: module path {path!r} would sit inside "
                        f"{self._paths[outer]}'s layer ({outer})")
        return None

    def _claim(self, node: Node, path: str | None) -> None:
        """Index `path` (or the node's name) for `node`; refused with the reason when it
        conflicts (see path_conflict)."""
        reason = self.path_conflict(node.name, path)
        if reason:
            raise DocumentError(reason)
        self._index(path or node.name, node.name, +1)

    def _index(self, path: str, name: str, delta: int) -> None:
        """Add (+1) or remove (-1) the node's path and the containers it sits in."""
        if delta > 0:
            self._paths[path] = name
        else:
            del self._paths[path]
        for prefix in _prefixes(path):
            count = self._containers.get(prefix, 0) + delta
            if count:
                self._containers[prefix] = count
            else:
                del self._containers[prefix]

    def move_node(self, name: str, pos: tuple[float, float]) -> None:
        self.move_nodes({name: pos})

    def move_nodes(self, positions: dict[str, tuple[float, float]]) -> None:
        """Move several nodes as one change: an insert moves every layer below it, and
        each listener is told once."""
        nodes = [(self.node(name), pos) for name, pos in positions.items()]
        for node, pos in nodes:
            node.pos = (float(pos[0]), float(pos[1]))
        if nodes:
            self._emit(Change("node_moved", tuple(positions)))

    def can_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """None when the wire is allowed, otherwise the reason it is refused."""
        if not (self.has_node(src) and self.has_node(dst)):
            return "both ends must be existing nodes"
        if src == dst:
            return f"{src} cannot feed itself"
        if src_port not in self.node(src).output_ports():
            return f"{src} has no output port {src_port!r}"
        if dst_port not in self.node(dst).input_ports():
            return f"{dst} has no input port {dst_port!r}"
        taken = self.incoming(dst).get(dst_port)
        if taken is not None:
            return f"{dst}.{dst_port} is already fed by {taken.src}; remove that wire first"
        source = self.node(src).spec.output_port(src_port, self.node(src).params)
        target = self.node(dst).spec.input_port(dst_port, self.node(dst).params)
        if source.kind != target.kind:
            return (f"{src}.{src_port} carries {PORT_KINDS[source.kind]} but "
                    f"{dst}.{dst_port} takes {PORT_KINDS[target.kind]}")
        if nx.has_path(self.graph, dst, src):
            return f"connecting {src} to {dst} would make a cycle ({dst} already feeds {src})"
        return None

    def can_replace(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """As can_connect, but a wire already on dst.dst_port would be replaced, not refuse.
        (Removing a wire into dst cannot open or close a path from dst, so only the
        taken-port rule is lifted.)"""
        taken = self.incoming(dst).get(dst_port) if self.has_node(dst) else None
        if taken is None:
            return self.can_connect(src, src_port, dst, dst_port)
        if (taken.src, taken.src_port) == (src, src_port):
            return f"{src}.{src_port} already feeds {dst}.{dst_port}"
        self.graph.remove_edge(taken.src, dst, key=dst_port)
        try:
            return self.can_connect(src, src_port, dst, dst_port)
        finally:
            self.graph.add_edge(taken.src, dst, key=dst_port, edge=taken)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        reason = self.can_connect(src, src_port, dst, dst_port)
        if reason:
            raise DocumentError(reason)
        edge = Edge(src, src_port, dst, dst_port)
        self.graph.add_edge(src, dst, key=dst_port, edge=edge)
        self._emit(Change("edge_added", (dst,), edge=edge))
        return edge

    def disconnect(self, edge: Edge) -> None:
        if not self.graph.has_edge(edge.src, edge.dst, key=edge.dst_port):
            raise DocumentError(f"there is no wire {edge.src}.{edge.src_port} -> "
                                f"{edge.dst}.{edge.dst_port}")
        self.graph.remove_edge(edge.src, edge.dst, key=edge.dst_port)
        self._emit(Change("edge_removed", (edge.dst,), edge=edge))

    def chain(self, *names: str) -> None:
        """Wire out -> in along a sequence of single-port nodes (templates and tests)."""
        for a, b in itertools.pairwise(names):
            self.connect(a, "out", b, "in")

    def clear(self) -> None:
        self.graph.clear()
        self._paths.clear()
        self._containers.clear()
        self._emit(Change("reset"))

    # -- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        order = self.topological_order()
        rank = {name: i for i, name in enumerate(order)}
        return {
            "nodes": [_node_dict(self.node(n)) for n in order],
            "edges": [
                {"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                for e in sorted(self.edges, key=lambda e: (rank[e.dst], e.dst_port))
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkDocument:
        """Rebuild a document; raises DocumentError naming the bad node or edge."""
        doc = cls()
        if not isinstance(data, dict):
            raise DocumentError("network must be an object with 'nodes' and 'edges'")
        for i, item in enumerate(_list_field(data, "nodes")):
            if not isinstance(item, dict) or not {"name", "type"} <= set(item):
                raise DocumentError(f"nodes[{i}] needs a 'name' and a 'type'")
            pos = item.get("pos", (0.0, 0.0))
            if (not isinstance(pos, (list, tuple)) or len(pos) != 2
                    or not all(isinstance(v, (int, float)) for v in pos)):
                raise DocumentError(f"nodes[{i}].pos must be two numbers")
            params = item.get("params", {})
            if not isinstance(params, dict):
                raise DocumentError(f"nodes[{i}].params must be an object")
            path = item.get("path")
            if path is not None and not isinstance(path, str):
                raise DocumentError(f"nodes[{i}].path must be text")
            port_names = item.get("port_names", {})
            if not isinstance(port_names, dict):
                raise DocumentError(f"nodes[{i}].port_names must be an object")
            doc.add_node(item["type"], params, name=item["name"], pos=tuple(pos), path=path,
                         port_names=port_names)
        for i, item in enumerate(_list_field(data, "edges")):
            keys = ("src", "src_port", "dst", "dst_port")
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in keys):
                raise DocumentError(f"edges[{i}] needs src, src_port, dst and dst_port strings")
            try:
                doc.connect(*(item[k] for k in keys))
            except DocumentError as exc:
                raise DocumentError(f"edges[{i}]: {exc}") from None
        return doc

    def copy(self) -> NetworkDocument:
        return NetworkDocument.from_dict(self.to_dict())


def _node_dict(node: Node) -> dict[str, Any]:
    item = {"name": node.name, "type": node.type, "params": copy.deepcopy(node.params),
            "pos": list(node.pos)}
    if node.path is not None:  # omitted by default, so older files stay byte-identical
        item["path"] = node.path
    if node.port_names:
        item["port_names"] = dict(node.port_names)
    return item


def _port_names(node: Node, names: dict[str, str]) -> dict[str, str]:
    """Variable names for a node's extra outputs: each an output port other than the main
    one, each a free identifier."""
    extra = node.output_ports()[1:]
    for port, variable in names.items():
        if port not in extra:
            raise DocumentError(f"{node.name}: no extra output {port!r} to name")
        if not isinstance(variable, str) or variable in RESERVED_NAMES or variable == node.name:
            raise DocumentError(f"{node.name}: {variable!r} cannot name output {port!r}")
        check_identifier(variable)
    if len(set(names.values())) < len(names):
        raise DocumentError(f"{node.name}: two outputs share a name")
    return dict(names)


def _prefixes(path: str) -> list[str]:
    """`a.b.c` -> [`a`, `a.b`]: the containers a module at `path` sits in."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _list_field(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise DocumentError(f"'{key}' must be a list")
    return value
