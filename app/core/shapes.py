"""Live shape inference over a NetworkDocument, with torch meta tensors (no real compute).

Every node gets a NodeResult: its output shapes (batch dimension left out) or a readable
error that names the node, says what it expected and what it got, and what to change.
Common mistakes are checked before torch runs so the message speaks the student's
language; anything else falls back to torch's own message.

Incremental: the inference listens to the document and recomputes the nodes an edit
touched, going further downstream only while results change; meta modules are cached by
their resolved parameters.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any

from app.core.catalogue import IDS, INDICES, TENSOR, LayerSpec, Role
from app.core.graph import Change, NetworkDocument, Node
from app.core.layer_checks import (
    Advice,
    Fix,
    LayerInput,
    NodeError,
    format_shape,
    keeps_layout,
    makes_feature_maps,
    rank_fits,
    tensor_lead,
)

__all__ = ["BATCH", "Fix", "NodeError", "NodeResult", "Problem", "ShapeInference", "errors",
           "format_shape", "infer_shapes", "network_problems"]

Shape = tuple[int, ...]
BATCH = 2  # > 1 so batch-statistics layers can run; never shown to the user


@dataclass
class NodeResult:
    outputs: dict[str, Shape] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    blocked: bool = False  # no result because an input has no result; not this node's fault
    # Nothing is wired into it yet (a blank network's Output, a node just dropped): still an
    # error for compiling, but a step to do rather than a mistake, so views show it calmly.
    unwired: bool = False
    warnings: list[str] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    explanation: str = ""
    # Output ports that carry channels-first feature maps (LayerInput.feature_map), decided
    # from this node's type and its first input's flag, so an edit upstream reaches a
    # Linear's "insert a Flatten" advice through the incremental early stop.
    feature_maps: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return self.error is None and not self.blocked

    @property
    def shape(self) -> Shape | None:
        return self.outputs.get("out")

    def seen_downstream(self) -> tuple[bool, dict[str, Shape], dict[str, str], frozenset[str]]:
        """All that the nodes it feeds read of this result (ShapeInference._gather and
        _pooled_shape): while it stays the same, their results do too."""
        return self.ok, self.outputs, self.dtypes, self.feature_maps


def _implied(spec_param_auto: str, shape: Shape) -> Any:
    if spec_param_auto == "channels":
        return shape[0]
    if spec_param_auto == "last":
        return [shape[-1]]
    return shape[-1]


_AUTO_WORDS = {"channels": "input channels", "features": "input features",
               "last": "normalised trailing shape"}


def _resolve(node: Node, spec: LayerSpec, inputs: list[LayerInput]) -> dict[str, Any]:
    """Fill auto parameters from the input; report explicit values that disagree."""
    resolved = dict(node.params)
    for p in spec.params:
        if not p.auto:
            continue
        if not inputs[0].shape:
            raise NodeError(f"{node.name} needs an input with at least one dimension")
        actual = _implied(p.auto, inputs[0].shape)
        value = resolved[p.name]
        if value is None:
            resolved[p.name] = actual
        elif p.auto == "last":
            trailing = list(inputs[0].shape[-len(value):])
            if len(value) > len(inputs[0].shape) or trailing != value:
                raise NodeError(
                    f"{node.name} normalises over {format_shape(tuple(value))} but its input "
                    f"ends in {format_shape(tuple(trailing))}: set {p.name} to match or leave "
                    "it on auto",
                    Fix(f"Leave {p.name} on auto", "set_param", node.name, p.name, None))
        elif value != actual:
            raise NodeError(
                f"{node.name} expects {value} {_AUTO_WORDS[p.auto]} but gets {actual} from "
                f"{inputs[0].src}: set {p.name}={actual} or leave it on auto",
                Fix(f"Set {p.name} = {actual}", "set_param", node.name, p.name, actual),
                Fix(f"Leave {p.name} on auto", "set_param", node.name, p.name, None))
    return resolved


def _dtypes_fit(node: Node, spec: LayerSpec, inputs: list[LayerInput]) -> None:
    """Each value port takes the element types its Port declares (token ids or floats)."""
    ports = {p.name: p for p in spec.input_port_specs(node.params)}
    for x in inputs:
        port = ports[x.port]
        if port.kind != TENSOR or x.dtype in port.dtypes:
            continue
        if port.dtypes == IDS:
            raise NodeError(f"{node.name} needs int64 token ids but gets {x.dtype} from "
                            f"{x.src}: set the Input's dtype to int64")
        raise NodeError(f"{node.name} gets int64 token ids from {x.src}: only an Embedding "
                        "can take them; insert an Embedding first")


def _torch_message(node: Node, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{node.name}: {text}"


# -- the inference engine ----------------------------------------------------------------

class ShapeInference:
    """Keeps one NodeResult per node up to date as the document changes.

    An edit marks only the nodes it touches; infer() recomputes them in topological order
    and goes on to the nodes a node feeds only when what they read of its result (its
    output shapes and dtypes, and whether it has any) came out different, so a parameter
    edit that keeps the output shape recomputes that node alone.
    """

    def __init__(self, doc: NetworkDocument) -> None:
        self.doc = doc
        self.results: dict[str, NodeResult] = {}
        self._memo: dict[str, list[tuple[Shape, str]]] = {}  # meta runs, by layer and input
        self._dirty: set[str] = set(doc.graph)
        self.recomputed: list[str] = []  # names recomputed by the last infer(), in order
        # Names whose result is new or different after the last infer() (a subset of
        # recomputed): what a view must redraw. Removed nodes are not listed; the
        # document's own change notifications say which those are.
        self.changed: set[str] = set()
        doc.subscribe(self._on_change)

    def close(self) -> None:
        self.doc.unsubscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.kind == "node_moved":
            return
        if change.kind == "reset":
            self.results.clear()
            self._dirty = set(self.doc.graph)
        elif change.kind == "node_removed":
            for name in change.nodes:
                self.results.pop(name, None)
                self._dirty.discard(name)
        elif change.kind == "node_renamed":
            # The new name has no previous result, so its successors (whose messages name
            # their inputs) are recomputed as well.
            self.results.pop(change.detail["old"], None)
            self._dirty.discard(change.detail["old"])
            self._dirty.add(change.detail["new"])
        elif change.kind in ("edge_added", "edge_removed"):
            for name in change.nodes:
                self._dirty.add(name)
                self._dirty.update(self._reads_through(name))
        else:  # node_added, params_changed, path_changed
            self._dirty.update(change.nodes)
            if change.kind == "params_changed":  # readers of a tensor see its batch_dim
                self._dirty.update(e.dst for name in change.nodes
                                   if self.doc.node(name).spec.holds_tensor
                                   for e in self.doc.outgoing(name))

    def infer(self) -> dict[str, NodeResult]:
        self.recomputed = []
        self.changed = set()
        if not self._dirty:
            return self.results
        dirty, self._dirty = self._dirty, set()
        if len(dirty) == len(self.doc.graph):  # a new engine or a reset: all in order
            for name in self.doc.topological_order():
                self._recompute(name)
            return self.results
        rank = self.doc.topological_rank()
        queue = [(rank[name], name) for name in dirty]
        heapq.heapify(queue)
        while queue:
            _, name = heapq.heappop(queue)
            if not self._recompute(name):
                continue  # early stop: the nodes it feeds cannot see a difference
            for dependent in self._dependents(name):
                if dependent not in dirty:
                    dirty.add(dependent)
                    heapq.heappush(queue, (rank[dependent], dependent))
        return self.results

    def _recompute(self, name: str) -> bool:
        """Infer one node; True when the nodes it feeds may see a different result."""
        result = self._infer_node(self.doc.node(name))
        self.recomputed.append(name)
        old = self.results.get(name)
        if result == old:
            return False
        self.results[name] = result
        self.changed.add(name)
        return old is None or result.seen_downstream() != old.seen_downstream()

    def _dependents(self, name: str) -> list[str]:
        """The nodes whose result reads `name`'s: its successors, and the MaxUnpools fed
        by a successor's indices (they read the shape before pooling, see _pooled_shape)."""
        successors = [edge.dst for edge in self.doc.outgoing(name)]
        return successors + [n for s in successors for n in self._reads_through(s)]

    def _reads_through(self, pool: str) -> list[str]:
        """The nodes fed by `pool`'s indices: their result reads `pool`'s input."""
        node = self.doc.node(pool)
        if not any(port.kind == INDICES for port in node.spec.outputs):
            return []
        kinds = {port.name: port.kind for port in node.spec.output_port_specs(node.params)}
        return [edge.dst for edge in self.doc.outgoing(pool) if kinds[edge.src_port] == INDICES]

    def _gather(self, node: Node) -> list[LayerInput] | NodeResult:
        incoming = self.doc.incoming(node.name)
        ports = node.spec.input_port_specs(node.params)
        gathered = []
        for port in ports:
            edge = incoming.get(port.name)
            if edge is None:
                where = f"its '{port.name}' port" if len(ports) > 1 else "it"
                return NodeResult(error=f"{node.name} has no input: connect a layer's output "
                                  f"to {where}", unwired=not incoming)
            upstream = self.results.get(edge.src)
            if upstream is None or not upstream.ok or edge.src_port not in upstream.outputs:
                return NodeResult(blocked=True)
            gathered.append(LayerInput(port.name, edge.src, upstream.outputs[edge.src_port],
                                       upstream.dtypes[edge.src_port],
                                       self._pooled_shape(edge.src)
                                       if port.kind == INDICES else None,
                                       edge.src_port in upstream.feature_maps,
                                       tensor_lead(self.doc.node(edge.src))))
        return gathered

    def _pooled_shape(self, pool: str) -> Shape | None:
        feed = self.doc.incoming(pool).get("in")
        upstream = self.results.get(feed.src) if feed else None
        return upstream.outputs.get(feed.src_port) if upstream else None

    def _infer_node(self, node: Node) -> NodeResult:
        spec = node.spec
        if spec.role is Role.INPUT:
            shape = tuple(node.params["shape"])
            if -1 in shape:
                return NodeResult(error=f"{node.name}: the input shape cannot contain -1")
            # an image input (channels × height × width) is channels-first too: pixels into
            # a Linear without a Flatten is the course MLP's classic mistake
            return NodeResult({"out": shape}, {"out": node.params["dtype"]}, dict(node.params),
                              feature_maps=frozenset({"out"} if len(shape) >= 3 else ()))
        inputs = self._gather(node)
        if isinstance(inputs, NodeResult):
            return inputs
        try:
            result = self._run(node, spec, inputs)
        except NodeError as exc:
            return NodeResult(resolved=dict(node.params), error=str(exc), fixes=exc.fixes)
        result.feature_maps = _feature_maps(spec, inputs, result.outputs)
        return result

    def _run(self, node: Node, spec: LayerSpec, inputs: list[LayerInput]) -> NodeResult:
        if spec.role is Role.OUTPUT:
            x = inputs[0]
            # Not a port: recorded so the canvas and `info` can show what the network returns.
            return NodeResult({"out": x.shape}, {"out": x.dtype}, {})
        _dtypes_fit(node, spec, inputs)
        if inputs:  # a Parameter node has none
            rank_fits(node, spec, inputs[0])
        resolved = _resolve(node, spec, inputs)
        advice: list[Advice] = [a for check in spec.checks
                                if (a := check(node, spec, inputs, resolved)) is not None]
        outputs = self._outputs(node, spec, resolved, inputs)
        ports = node.output_ports()
        explanation = spec.explain(inputs[0].shape, resolved) if spec.explain and inputs else ""
        return NodeResult(
            {p: shape for p, (shape, _) in zip(ports, outputs)},
            {p: dtype for p, (_, dtype) in zip(ports, outputs)},
            resolved, warnings=[a.message for a in advice],
            fixes=[fix for a in advice for fix in a.fixes], explanation=explanation)

    def _outputs(self, node: Node, spec: LayerSpec, resolved: dict[str, Any],
                 inputs: list[LayerInput]) -> list[tuple[Shape, str]]:
        if spec.shape_rule is not None:
            shapes = spec.shape_rule([x.shape for x in inputs], resolved)
            dtypes = [inputs[0].dtype if inputs and inputs[0].dtype in port.dtypes
                      else port.dtypes[0] for port in spec.output_port_specs(resolved)]
            return list(zip(shapes, dtypes))
        key = json.dumps([spec.type, resolved, [(x.shape, x.dtype) for x in inputs]],
                         sort_keys=True)
        if key not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = _meta_outputs(node, spec, resolved, inputs)
        return self._memo[key]


def _feature_maps(spec: LayerSpec, inputs: list[LayerInput],
                  outputs: dict[str, Shape]) -> frozenset[str]:
    """The output ports carrying channels-first feature maps: all of a convolution's or
    pooling layer's, and those of a layer that keeps the layout and passes its first input's
    feature maps on with the shape unchanged."""
    if makes_feature_maps(spec):
        return frozenset(outputs)
    if not inputs or not inputs[0].feature_map or not keeps_layout(spec):
        return frozenset()
    return frozenset(port for port, shape in outputs.items() if shape == inputs[0].shape)


def _meta_outputs(node: Node, spec: LayerSpec, resolved: dict[str, Any],
                  inputs: list[LayerInput]) -> list[tuple[Shape, str]]:
    """Run the layer on meta tensors: torch itself computes and validates the shapes."""
    import torch

    from app.core.execution import build_meta, run_node

    try:
        args = [torch.empty((BATCH, *x.shape), dtype=getattr(torch, x.dtype), device="meta")
                for x in inputs]
        outputs = run_node(spec, build_meta(spec, resolved), resolved, args)
    except Exception as exc:  # noqa: BLE001 - torch's own validation becomes the message
        raise NodeError(_torch_message(node, exc)) from None
    return [(tuple(t.shape[1:]), str(t.dtype).removeprefix("torch.")) for t in outputs]


def infer_shapes(doc: NetworkDocument) -> dict[str, NodeResult]:
    """One-shot inference (no incremental state kept)."""
    engine = ShapeInference(doc)
    try:
        return dict(engine.infer())
    finally:
        engine.close()


@dataclass(frozen=True)
class Problem:
    message: str
    node: str | None = None
    severity: str = "error"  # "error" stops compilation; "warning" does not
    # Remedies that belong to this problem rather than to its node's shape result
    # (e.g. "Set Input to 1×28×28 from the dataset").
    fixes: tuple[Fix, ...] = ()
    # A step still to do while building (wire an unwired node), not a mistake: shown as a
    # hint, though an error one still stops compilation.
    step: bool = False


def network_problems(doc: NetworkDocument, results: dict[str, NodeResult]) -> list[Problem]:
    """Every problem in the graph: node errors first, then whole-network ones, then warnings."""
    problems = [Problem(r.error, name, step=r.unwired) for name, r in results.items() if r.error]
    roles = {n.spec.role for n in doc.nodes}
    if Role.INPUT not in roles:
        problems.append(Problem("the network has no Input node: add one and set its shape"))
    if Role.OUTPUT not in roles:
        problems.append(Problem("the network has no Output node: connect the last layer to an "
                                "Output"))
    for name, r in results.items():
        problems += [Problem(w, name, "warning") for w in r.warnings]
    for node in doc.nodes:
        if node.output_ports() and not doc.outgoing(node.name):
            problems.append(Problem(f"{node.name}'s output is not used: connect it to the next "
                                    "layer or delete the node", node.name, "warning",
                                    step=node.spec.role is Role.INPUT))
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
