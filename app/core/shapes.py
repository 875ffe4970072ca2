"""Live shape inference over a NetworkDocument, with torch meta tensors (no real compute).

Every node gets a NodeResult: its output shapes (batch dimension left out) or a readable
error that names the node, says what it expected and what it got, and what to change.
Common mistakes are checked before torch runs so the message speaks the student's
language; anything else falls back to torch's own message.

Incremental: the inference listens to the document and recomputes only the nodes
downstream of an edit; meta modules are cached by their resolved parameters.
"""

from __future__ import annotations

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
    rank_fits,
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
    warnings: list[str] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    explanation: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.blocked

    @property
    def shape(self) -> Shape | None:
        return self.outputs.get("out")


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
    """Keeps one NodeResult per node up to date as the document changes."""

    def __init__(self, doc: NetworkDocument) -> None:
        self.doc = doc
        self.results: dict[str, NodeResult] = {}
        self._memo: dict[str, list[tuple[Shape, str]]] = {}  # meta runs, by layer and input
        self._dirty: set[str] = set(doc.graph)
        self.recomputed: list[str] = []  # names recomputed by the last infer(), for tests
        doc.subscribe(self._on_change)

    def close(self) -> None:
        self.doc.unsubscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.kind == "node_moved":
            return
        if change.kind == "reset":
            self.results.clear()
            self._dirty = set(self.doc.graph)
            return
        if change.kind == "node_renamed":
            old, new = change.detail["old"], change.detail["new"]
            self.results.pop(old, None)
            self._dirty.discard(old)
        for name in change.nodes:
            if change.kind == "node_removed":
                self.results.pop(name, None)
                self._dirty.discard(name)
            elif self.doc.has_node(name):
                self._dirty |= self.doc.downstream(name)
        if change.kind == "node_renamed":
            self._dirty |= {n for e in self.doc.outgoing(new) for n in (e.dst,)}

    def infer(self) -> dict[str, NodeResult]:
        self.recomputed = []
        if self._dirty:
            dirty, self._dirty = self._dirty, set()
            for name in self.doc.topological_order():
                if name in dirty:
                    self.results[name] = self._infer_node(self.doc.node(name))
                    self.recomputed.append(name)
        return self.results

    def _gather(self, node: Node) -> list[LayerInput] | NodeResult:
        incoming = self.doc.incoming(node.name)
        ports = node.spec.input_port_specs(node.params)
        gathered = []
        for port in ports:
            edge = incoming.get(port.name)
            if edge is None:
                where = f"its '{port.name}' port" if len(ports) > 1 else "it"
                return NodeResult(error=f"{node.name} has no input: connect a layer's output "
                                  f"to {where}")
            upstream = self.results.get(edge.src)
            if upstream is None or not upstream.ok or edge.src_port not in upstream.outputs:
                return NodeResult(blocked=True)
            gathered.append(LayerInput(port.name, edge.src, upstream.outputs[edge.src_port],
                                       upstream.dtypes[edge.src_port],
                                       self._pooled_shape(edge.src)
                                       if port.kind == INDICES else None))
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
            return NodeResult({"out": shape}, {"out": node.params["dtype"]}, dict(node.params))
        inputs = self._gather(node)
        if isinstance(inputs, NodeResult):
            return inputs
        try:
            return self._run(node, spec, inputs)
        except NodeError as exc:
            return NodeResult(resolved=dict(node.params), error=str(exc), fixes=exc.fixes)

    def _run(self, node: Node, spec: LayerSpec, inputs: list[LayerInput]) -> NodeResult:
        if spec.role is Role.OUTPUT:
            x = inputs[0]
            # Not a port: recorded so the canvas and `info` can show what the network returns.
            return NodeResult({"out": x.shape}, {"out": x.dtype}, {})
        _dtypes_fit(node, spec, inputs)
        rank_fits(node, spec, inputs[0])
        resolved = _resolve(node, spec, inputs)
        advice: list[Advice] = [a for check in spec.checks
                                if (a := check(node, spec, inputs, resolved)) is not None]
        outputs = self._outputs(node, spec, resolved, inputs)
        ports = node.output_ports()
        explanation = spec.explain(inputs[0].shape, resolved) if spec.explain else ""
        return NodeResult(
            {p: shape for p, (shape, _) in zip(ports, outputs)},
            {p: dtype for p, (_, dtype) in zip(ports, outputs)},
            resolved, warnings=[a.message for a in advice],
            fixes=[fix for a in advice for fix in a.fixes], explanation=explanation)

    def _outputs(self, node: Node, spec: LayerSpec, resolved: dict[str, Any],
                 inputs: list[LayerInput]) -> list[tuple[Shape, str]]:
        if spec.shape_rule is not None:
            shapes = spec.shape_rule([x.shape for x in inputs], resolved)
            dtypes = [inputs[0].dtype if inputs[0].dtype in port.dtypes else port.dtypes[0]
                      for port in spec.output_port_specs(resolved)]
            return list(zip(shapes, dtypes))
        key = json.dumps([spec.type, resolved, [(x.shape, x.dtype) for x in inputs]],
                         sort_keys=True)
        if key not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = _meta_outputs(node, spec, resolved, inputs)
        return self._memo[key]


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


def network_problems(doc: NetworkDocument, results: dict[str, NodeResult]) -> list[Problem]:
    """Every problem in the graph: node errors first, then whole-network ones, then warnings."""
    problems = [Problem(r.error, name) for name, r in results.items() if r.error]
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
                                    "layer or delete the node", node.name, "warning"))
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
