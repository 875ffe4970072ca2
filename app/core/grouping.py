"""Which layers exported code writes as containers, read from the nodes' module paths.

A top-level attribute whose layers sit at `features.0`, `features.1`, ... and form one
straight chain in that order is a "sequential" group (`self.features = nn.Sequential(...)`).
One whose layers sit in numbered blocks (`layer1.0.conv1`, `layer1.1.conv1`, ...), each
block fed by the one before and by nothing else, is a "blocks" group: an nn.Sequential of
block-class instances. Blocks with the same layers and wiring share a class; a block that
only adds one sequential branch (ResNet's `downsample`) shares it too, the branch being an
optional argument as in torchvision's BasicBlock. Everything else stays flat.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from app.core.catalogue import Role
from app.core.graph import DocumentError, NetworkDocument, Node, check_identifier, module_path
from app.core.shapes import NodeResult

Signature = tuple[tuple[Any, ...], tuple[Any, ...]]


@dataclass(frozen=True)
class Group:
    attr: str  # the top-level attribute (first path segment)
    kind: str  # "sequential" or "blocks"
    nodes: tuple[str, ...]  # sequential: the chain, in index order
    entry: tuple[str, str]  # the (node, port) that feeds the group
    exit: str  # the node whose output leaves the group
    blocks: tuple[tuple[str, ...], ...] = ()  # blocks: each block's nodes


def find_groups(doc: NetworkDocument, order: list[str]) -> list[Group]:
    """The groups among the document's layers; `order` is the reading order."""
    members: dict[str, list[str]] = {}
    for name in order:
        node = doc.node(name)
        if node.spec.has_module and "." in module_path(node):
            members.setdefault(module_path(node).split(".")[0], []).append(name)
    groups = [_sequential(doc, attr, names) or _blocks(doc, attr, names)
              for attr, names in members.items() if not doc.has_node(attr)]
    return [g for g in groups if g is not None]


def _segments(doc: NetworkDocument, name: str) -> list[str]:
    return module_path(doc.node(name)).split(".")


def _sequential(doc: NetworkDocument, attr: str, names: list[str]) -> Group | None:
    paths = {name: _segments(doc, name) for name in names}
    if any(len(p) != 2 or not p[1].isdigit() for p in paths.values()):
        return None
    chain = sorted(names, key=lambda n: int(paths[n][1]))
    if [int(paths[n][1]) for n in chain] != list(range(len(chain))):
        return None  # nn.Sequential(a, b, ...) numbers its children 0, 1, ...
    for node in map(doc.node, chain):
        if (not node.spec.is_torch_layer or node.spec.sequence or node.spec.attention
                or node.input_ports() != ("in",) or node.output_ports() != ("out",)):
            return None
    for a, b in itertools.pairwise(chain):
        if [(e.src_port, e.dst) for e in doc.outgoing(a)] != [("out", b)]:
            return None
    entry = doc.incoming(chain[0])["in"]
    return Group(attr, "sequential", tuple(chain), (entry.src, entry.src_port), chain[-1])


def _blocks(doc: NetworkDocument, attr: str, names: list[str]) -> Group | None:
    blocks: dict[int, list[str]] = {}
    for name in names:
        path = _segments(doc, name)
        if len(path) < 3 or not path[1].isdigit() or path[2].isdigit():
            return None
        blocks.setdefault(int(path[1]), []).append(name)
    if sorted(blocks) != list(range(len(blocks))):
        return None
    entry = exit_ = None
    for k in range(len(blocks)):
        inside = set(blocks[k])
        sources = {(e.src, e.src_port) for n in inside for e in doc.incoming(n).values()
                   if e.src not in inside}
        exits = {(e.src, e.src_port) for n in inside for e in doc.outgoing(n)
                 if e.dst not in inside}
        if len(sources) != 1 or len(exits) != 1 or (k and sources != {(exit_, "out")}):
            return None
        entry = entry or sources.pop()
        exit_, port = exits.pop()
        if port != "out":
            return None
        if k + 1 < len(blocks) and not all(e.dst in blocks[k + 1] for e in doc.outgoing(exit_)):
            return None
    return Group(attr, "blocks", tuple(names), entry, exit_,
                 tuple(tuple(blocks[k]) for k in range(len(blocks))))


def collapse(doc: NetworkDocument, groups: list[Group]) -> NetworkDocument:
    """The document with each group replaced by one node named after its attribute, so
    forward() can be planned as if the group were a single layer."""
    inside = {name: g for g in groups for name in g.nodes}
    flat = NetworkDocument()
    for node in doc.nodes:
        if node.name not in inside:
            flat.add_node(node.type, node.params, name=node.name, port_names=node.port_names)
    for group in groups:
        flat.add_node("ReLU", name=group.attr)  # any one-in one-out type: only wiring counts
    for e in doc.edges:
        src = inside[e.src].attr if e.src in inside else e.src
        dst = inside[e.dst].attr if e.dst in inside else e.dst
        port = "in" if e.dst in inside else e.dst_port
        if src != dst and port not in flat.incoming(dst):  # a group has one entry
            flat.connect(src, e.src_port, dst, port)
    return flat


# -- block classes ---------------------------------------------------------------------------

@dataclass
class Block:
    """One block as a document of its own: node names are the paths inside the block with
    underscores (`downsample_0`), fed by an Input node, returned by an Output node."""

    doc: NetworkDocument
    results: dict[str, NodeResult]
    signature: Signature
    bypassed: dict[str, Signature]  # branch attribute -> signature without that branch


def _local_port_names(node: Node, local: str) -> dict[str, str]:
    """The node's output names inside its block: `stage2_1_x2` of node `stage2_1_x1` is
    `x2` in the block whose `x1` it is; a name that is no valid variable there is dropped."""
    head = node.name[:-len(local)] if node.name.endswith(local) else None
    names: dict[str, str] = {}
    for port, variable in node.port_names.items():
        short = variable[len(head):] if head is not None and variable.startswith(head) else ""
        try:
            check_identifier(short)
        except DocumentError:
            continue
        if short != local and short not in names.values():
            names[port] = short
    return names


def block(doc: NetworkDocument, results: dict[str, NodeResult],
          nodes: tuple[str, ...]) -> Block | None:
    """The block of a "blocks" group made of `nodes`; None when the paths inside the block
    do not make valid node names."""
    inside = set(nodes)
    entry = next((e.src, e.src_port) for n in nodes for e in doc.incoming(n).values()
                 if e.src not in inside)
    exit_ = next(e.src for n in nodes for e in doc.outgoing(n) if e.dst not in inside)
    prefix = len(".".join(_segments(doc, nodes[0])[:2])) + 1
    sub = NetworkDocument()
    local = {name: module_path(doc.node(name))[prefix:] for name in nodes}
    names = {name: path.replace(".", "_") for name, path in local.items()}
    ends = [_free("identity", names.values()), _free("result", names.values())]
    shape = results[entry[0]].outputs[entry[1]]
    try:
        sub.add_node("Input", {"shape": list(shape)}, name=ends[0])
        for name in nodes:
            node = doc.node(name)
            sub.add_node(node.type, node.params, name=names[name], path=local[name],
                         port_names=_local_port_names(node, names[name]))
        sub.add_node("Output", name=ends[1])
    except DocumentError:
        return None
    for name in nodes:
        for port, e in doc.incoming(name).items():
            src = (names[e.src], e.src_port) if e.src in names else (ends[0], "out")
            sub.connect(*src, names[name], port)
    sub.connect(names[exit_], "out", ends[1], "in")
    sub_results = {names[n]: results[n] for n in nodes} | {ends[0]: results[entry[0]]}
    order = sub.topological_order()
    bypassed = {g.attr: _bypass(sub, g) for g in find_groups(sub, order)
                if g.kind == "sequential"}
    return Block(sub, sub_results, _signature(sub), bypassed)


def _free(name: str, taken: Any) -> str:
    taken = set(taken)
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name}{i}", i + 1
    return candidate


def _fixed(node: Any) -> str:
    """Settings that shape forward() itself (a Concat's dim, a recurrent layer's output
    choice), which a block class cannot take as constructor arguments."""
    if node.spec.role is Role.INPUT:
        return ""
    spec = node.spec
    return repr({p.name: node.params[p.name] for p in spec.params
                 if not spec.is_torch_layer or p.graph_only})


def _signature(doc: NetworkDocument, skip: frozenset[str] = frozenset(),
               rewire: dict[str, tuple[str, str]] | None = None) -> Signature:
    """Layers and wiring; `skip` leaves out nodes, `rewire` replaces a source node by
    another (node, port)."""
    rewire = rewire or {}
    nodes = tuple(sorted((n.name, n.type, _fixed(n)) for n in doc.nodes if n.name not in skip))
    edges = tuple(sorted((*rewire.get(e.src, (e.src, e.src_port)), e.dst, e.dst_port)
                         for e in doc.edges if e.dst not in skip))
    return nodes, edges


def _bypass(doc: NetworkDocument, group: Group) -> Signature:
    """The signature with the branch replaced by a plain wire from its entry."""
    return _signature(doc, frozenset(group.nodes), {group.exit: group.entry})


@dataclass
class BlockClass:
    name: str
    template: Block  # an instance holding every layer, the optional branch included
    instances: list[Block] = field(default_factory=list)
    optional: str | None = None  # the branch some instances leave out

    def accepts(self, other: Block) -> bool:
        """Add `other` if it has this class's layers (with or without the branch)."""
        without = self.template.bypassed.get(self.optional) if self.optional else None
        if other.signature in (self.template.signature, without):
            pass
        elif self.optional is None and (branch := _branch(self.template, other)):
            self.optional = branch
        elif self.optional is None and (branch := _branch(other, self.template)):
            self.template, self.optional = other, branch
        else:
            return False
        self.instances.append(other)
        return True


def _branch(rich: Block, plain: Block) -> str | None:
    return next((attr for attr, sig in rich.bypassed.items() if sig == plain.signature), None)


# -- collapsed blocks on the canvas (a view of the network; the network is unchanged) ---------

def enclosing_blocks(doc: NetworkDocument, name: str) -> list[str]:
    """The containers around a layer, outermost first: layer1.0.conv1 -> [layer1, layer1.0]."""
    segments = _segments(doc, name)[:-1]
    return [".".join(segments[:i]) for i in range(1, len(segments) + 1)]


def collapsed_members(doc: NetworkDocument, collapsed: list[str] | tuple[str, ...]
                      ) -> dict[str, tuple[str, ...]]:
    """Each collapsed block that holds layers -> its layers in document order. A block inside
    another collapsed block is hidden in it; names that hold no layer (a block ungrouped or
    deleted since) are ignored, so the saved list may go stale without harm."""
    wanted = set(collapsed)
    members: dict[str, list[str]] = {}
    for node in doc.nodes:
        outer = next((b for b in enclosing_blocks(doc, node.name) if b in wanted), None)
        if outer is not None:
            members.setdefault(outer, []).append(node.name)
    return {block: tuple(names) for block, names in members.items()}


@dataclass(frozen=True)
class Boundary:
    """What crosses a block's edge: the outside (node, port)s that feed it, each with the
    inside (node, port)s it feeds, and the inside (node, port)s read from outside."""

    inputs: tuple[tuple[tuple[str, str], tuple[tuple[str, str], ...]], ...]
    outputs: tuple[tuple[str, str], ...]


def boundary(doc: NetworkDocument, members: tuple[str, ...]) -> Boundary:
    inside = set(members)
    feeds: dict[tuple[str, str], list[tuple[str, str]]] = {}
    outputs: dict[tuple[str, str], None] = {}
    for name in members:
        for port, e in doc.incoming(name).items():
            if e.src not in inside:
                feeds.setdefault((e.src, e.src_port), []).append((name, port))
        for e in doc.outgoing(name):
            if e.dst not in inside:
                outputs[(e.src, e.src_port)] = None
    return Boundary(tuple((src, tuple(dsts)) for src, dsts in feeds.items()), tuple(outputs))


@dataclass(frozen=True)
class BlockSummary:
    """What a collapsed block's node says: its layers, learnable parameters (by formula, as
    `info` counts them) and the shapes going in and out; None where shapes are not known."""

    layers: int
    params: int | None
    in_shapes: tuple[tuple[int, ...], ...] | None
    out_shapes: tuple[tuple[int, ...], ...] | None
    errors: int


def block_summary(doc: NetworkDocument, results: dict[str, NodeResult],
                  members: tuple[str, ...]) -> BlockSummary:
    found = [results.get(n) for n in members]
    errors = sum(1 for r in found if r is not None and r.error)
    ok = all(r is not None and not r.error and not r.blocked for r in found)
    counts = [(doc.node(n).spec.count, n) for n in members]
    params = sum(count(results[n].resolved) for count, n in counts
                 if count is not None) if ok else None
    edge = boundary(doc, members)
    in_shapes = _shapes(results, [src for src, _ in edge.inputs])
    out_shapes = _shapes(results, list(edge.outputs)) if ok else None
    return BlockSummary(len(members), params, in_shapes, out_shapes, errors)


def _shapes(results: dict[str, NodeResult], ports: list[tuple[str, str]]
            ) -> tuple[tuple[int, ...], ...] | None:
    shapes = []
    for node, port in ports:
        result = results.get(node)
        if result is None or result.error or result.blocked or port not in result.outputs:
            return None
        shapes.append(tuple(result.outputs[port]))
    return tuple(shapes)


OPENING_VIEW = 8  # an imported network opens showing at least this many nodes


def opening_collapsed(doc: NetworkDocument) -> list[str]:
    """The blocks a network opens with collapsed: every block of two or more layers at the
    shallowest module-path depth whose collapsed view still shows OPENING_VIEW nodes (as the
    ResNet-18 template opens: layer1 ... layer4; DenseNet's dense blocks and transitions,
    one level inside its single `features` container)."""
    paths = [module_path(n).split(".") for n in doc.nodes]
    for depth in range(1, max((len(p) for p in paths), default=1)):
        members: dict[str, int] = {}
        for path in paths:
            key = ".".join(path[:depth]) + ("." if len(path) > depth else "")
            members[key] = members.get(key, 0) + 1
        if len(members) >= OPENING_VIEW:
            return [k[:-1] for k, count in members.items() if k.endswith(".") and count > 1]
    return []


def opening_canvas(doc: NetworkDocument) -> dict[str, Any]:
    """The canvas section an imported network's project starts with (see opening_collapsed)."""
    collapsed = opening_collapsed(doc)
    return {"collapsed": collapsed} if collapsed else {}
