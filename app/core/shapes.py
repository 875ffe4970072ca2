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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.catalogue import IDS, INDICES, TENSOR, LayerSpec, Role
from app.core.graph import Change, NetworkDocument, Node
from app.core.shape_rules import RULES, broadcastable, output_dtypes

Shape = tuple[int, ...]
BATCH = 2  # > 1 so batch-statistics layers can run; never shown to the user


@dataclass
class Fix:
    """A one-click remedy: set a parameter, or insert a layer in front of an input port."""

    label: str
    kind: str  # "set_param" | "insert"
    node: str
    param: str | None = None
    value: Any = None
    layer_type: str | None = None
    layer_params: dict[str, Any] = field(default_factory=dict)
    port: str = "in"


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


class NodeError(Exception):
    def __init__(self, message: str, *fixes: Fix) -> None:
        super().__init__(message)
        self.fixes = list(fixes)


def format_shape(shape: Shape) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


_RANK_WORDS = {
    1: "features",
    2: "channels × length",
    3: "channels × height × width",
    4: "channels × depth × height × width",
}


@dataclass
class _Input:
    port: str
    src: str
    shape: Shape
    dtype: str
    pooled_from: Shape | None = None  # for pooling indices: the shape that was pooled

    @property
    def label(self) -> str:
        return f"{self.port} (from {self.src}, {format_shape(self.shape)})"


# -- checks in the student's language ---------------------------------------------------

def _check_rank(node: Node, spec: LayerSpec, x: _Input) -> None:
    if spec.ranks is None or len(x.shape) in spec.ranks:
        return
    want = " or ".join(f"{r}-D ({_RANK_WORDS[r]})" for r in spec.ranks)
    if spec.sequence:
        want = "a 2-D input (sequence × features)"
    message = (f"{node.name} expects {want} input but gets {format_shape(x.shape)} from "
               f"{x.src}")
    fixes = []
    if len(x.shape) == 1 and 3 in spec.ranks:
        side = math.isqrt(x.shape[0])
        for channels in (1, 3):
            side = math.isqrt(x.shape[0] // channels)
            if channels * side * side == x.shape[0]:
                target = [channels, side, side]
                message += f": insert a Reshape to {format_shape(tuple(target))}"
                fixes.append(Fix(f"Insert Reshape to {format_shape(tuple(target))}", "insert",
                                 node.name, layer_type="Reshape",
                                 layer_params={"shape": target}))
                break
    elif len(x.shape) > max(spec.ranks):
        message += ": insert a Flatten before it, or use a layer for that many dimensions"
        fixes.append(Fix("Insert Flatten", "insert", node.name, layer_type="Flatten"))
    raise NodeError(message, *fixes)


def _implied(spec_param_auto: str, shape: Shape) -> Any:
    if spec_param_auto == "channels":
        return shape[0]
    if spec_param_auto == "last":
        return [shape[-1]]
    return shape[-1]


_AUTO_WORDS = {"channels": "input channels", "features": "input features",
               "last": "normalised trailing shape"}


def _resolve(node: Node, spec: LayerSpec, inputs: list[_Input]) -> dict[str, Any]:
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


def _as_list(value: Any, n: int) -> list[int]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


def _check_window(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    """Kernel larger than the (padded) input: the most common CNN mistake."""
    n = spec.ranks[0] - 1
    spatial = inputs[0].shape[-n:]
    k = _as_list(p["kernel_size"], n)
    pad = _as_list(p.get("padding", 0), n)
    dil = _as_list(p.get("dilation", 1), n)
    for size, ki, pi, di in zip(spatial, k, pad, dil):
        if size + 2 * pi < di * (ki - 1) + 1:
            kernel = "×".join(map(str, k))
            raise NodeError(
                f"{node.name}: the {kernel} kernel is larger than its "
                f"{format_shape(spatial)} input from {inputs[0].src} (with padding "
                f"{pi}): reduce kernel_size, add padding, or remove a pooling layer upstream")
        if spec.category == "Pooling" and pi * 2 > ki:
            raise NodeError(f"{node.name}: padding {pi} is more than half the kernel size {ki};"
                            " torch only allows padding ≤ kernel_size / 2")


def _check_groups(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    for name in ("in_channels", "out_channels"):
        if p[name] % p["groups"]:
            raise NodeError(f"{node.name}: {name}={p[name]} is not divisible by "
                            f"groups={p['groups']}; pick a groups value that divides both")


def _check_conv(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    _check_groups(node, spec, inputs, p)
    _check_window(node, spec, inputs, p)


def _check_transposed(node: Node, spec: LayerSpec, inputs: list[_Input],
                      p: dict[str, Any]) -> None:
    _check_groups(node, spec, inputs, p)
    for op, st, dil in zip(*(_as_list(p[k], 2) for k in ("output_padding", "stride",
                                                          "dilation"))):
        if op >= max(st, dil):
            raise NodeError(f"{node.name}: output padding {op} must be smaller than stride "
                            f"({st}) or dilation ({dil}); lower output_padding or raise stride")


def _check_group_norm(node: Node, spec: LayerSpec, inputs: list[_Input],
                      p: dict[str, Any]) -> None:
    if p["num_channels"] % p["num_groups"]:
        raise NodeError(f"{node.name}: {p['num_channels']} channels cannot be split into "
                        f"{p['num_groups']} groups; num_groups must divide the channel count")


def _check_dim(node: Node, dim: int, rank: int) -> int:
    """Validate a torch dim (batch counted) against a per-sample rank."""
    full = rank + 1
    if not -full <= dim < full:
        raise NodeError(f"{node.name}: dim={dim} is out of range for a {full}-D tensor "
                        f"(batch × {format_shape(()) if rank == 0 else rank}-D sample)")
    dim %= full
    if dim == 0:
        raise NodeError(f"{node.name}: dim=0 is the batch dimension; use dim=1 or later")
    return dim


def _check_softmax(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    _check_dim(node, p["dim"], len(inputs[0].shape))


def _check_concat(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    first = inputs[0]
    ranks = {len(x.shape) for x in inputs}
    if len(ranks) > 1:
        raise NodeError(f"{node.name}: inputs must have the same number of dimensions: "
                        + ", ".join(x.label for x in inputs))
    dim = _check_dim(node, p["dim"], len(first.shape)) - 1
    for x in inputs[1:]:
        other = [d for i, d in enumerate(x.shape) if i != dim]
        if other != [d for i, d in enumerate(first.shape) if i != dim]:
            fixes = []
            if len(x.shape) == 3 and dim == 0:
                size = list(first.shape[1:])
                fixes.append(Fix(f"Insert AdaptiveAvgPool2d to {format_shape(tuple(size))} on "
                                 f"{x.port}", "insert", node.name, layer_type="AdaptiveAvgPool2d",
                                 layer_params={"output_size": size}, port=x.port))
            raise NodeError(
                f"{node.name} joins along dim {p['dim']}, so all other dimensions must match: "
                f"{first.label} vs {x.label}; change the layers feeding it so they agree",
                *fixes)


def _check_elementwise(node: Node, spec: LayerSpec, inputs: list[_Input],
                       p: dict[str, Any]) -> None:
    first, combined = inputs[0], inputs[0].shape
    for x in inputs[1:]:
        if broadcastable(combined, x.shape):
            combined = RULES["Add"]([combined, x.shape], p)[0]
        else:
            fixes = []
            hint = "make the shapes equal"
            if len(x.shape) == len(first.shape) == 3 and x.shape[1:] == first.shape[1:]:
                hint = (f"set {x.src}'s out_channels={first.shape[0]} or insert a 1×1 "
                        f"convolution on {x.port}")
                fixes.append(Fix(f"Insert 1×1 Conv2d to {first.shape[0]} channels on {x.port}",
                                 "insert", node.name, layer_type="Conv2d",
                                 layer_params={"out_channels": first.shape[0], "kernel_size": 1},
                                 port=x.port))
            verb = "add" if spec.type == "Add" else "multiply"
            raise NodeError(f"{node.name} cannot {verb} {first.label} and {x.label}: shapes "
                            f"must match (or broadcast); {hint}", *fixes)


def _check_reshape(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    total = math.prod(inputs[0].shape)
    known = math.prod(d for d in p["shape"] if d != -1)
    fits = total % known == 0 if -1 in p["shape"] else total == known
    if not fits:
        raise NodeError(f"{node.name} cannot reshape {format_shape(inputs[0].shape)} ({total} "
                        f"values) into {format_shape(tuple(p['shape']))}: the sizes must "
                        f"multiply to {total}")


def _check_flatten(node: Node, spec: LayerSpec, inputs: list[_Input],
                   p: dict[str, Any]) -> None:
    rank = len(inputs[0].shape) + 1
    start, end = (_check_dim(node, p[k], rank - 1) if -rank <= p[k] < rank else None
                  for k in ("start_dim", "end_dim"))
    if start is None or end is None or start > end:
        raise NodeError(f"{node.name}: start_dim={p['start_dim']} and end_dim={p['end_dim']} "
                        f"do not describe a range of the {rank}-D input (batch is dim 0); "
                        "use start_dim=1, end_dim=-1 to flatten each sample")


def _check_rnn(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    if not p["batch_first"]:
        raise NodeError(f"{node.name}: with batch_first off, torch reads the batch dimension as "
                        "time; canvas tensors are batch × sequence × features, so turn "
                        "batch_first on",
                        Fix("Turn batch_first on", "set_param", node.name, "batch_first", True))
    if p["dropout"] > 0 and p["num_layers"] == 1:
        raise NodeError(f"{node.name}: dropout only acts between stacked layers; set "
                        "num_layers > 1 or dropout = 0",
                        Fix("Set dropout = 0", "set_param", node.name, "dropout", 0.0))


def _check_unpool(node: Node, spec: LayerSpec, inputs: list[_Input], p: dict[str, Any]) -> None:
    values, indices = inputs
    if indices.dtype != "int64" or indices.pooled_from is None:
        raise NodeError(f"{node.name}.indices needs the 'indices' output of a MaxPool2d")
    if values.shape != indices.shape:
        raise NodeError(f"{node.name}: values {values.label} and indices {indices.label} must "
                        "have the same shape; feed it the pooling layer's output and indices")
    k, s, pad = (_as_list(p[name], 2) for name in ("kernel_size", "stride", "padding"))
    s = s if p["stride"] is not None else k
    restored = tuple((h - 1) * si - 2 * pi + ki for h, si, pi, ki in
                     zip(values.shape[1:], s, pad, k))
    original = indices.pooled_from[1:]
    if restored != original:
        raise NodeError(f"{node.name} restores {format_shape(restored)} but {indices.src} pooled "
                        f"a {format_shape(original)} input, so some positions in its indices do "
                        "not fit: give it the same kernel_size, stride and padding as the "
                        "pooling layer and an input size the pooling divides exactly")


_CHECKS: dict[str, Callable[[Node, LayerSpec, list[_Input], dict[str, Any]], None]] = {
    "Conv1d": _check_conv, "Conv2d": _check_conv, "Conv3d": _check_conv,
    "ConvTranspose2d": _check_transposed,
    "MaxPool1d": _check_window, "MaxPool2d": _check_window, "AvgPool2d": _check_window,
    "GroupNorm": _check_group_norm,
    "Softmax": _check_softmax, "LogSoftmax": _check_softmax,
    "Concat": _check_concat, "Add": _check_elementwise, "Multiply": _check_elementwise,
    "Reshape": _check_reshape,
    "Flatten": _check_flatten,
    "RNN": _check_rnn, "LSTM": _check_rnn, "GRU": _check_rnn,
    "MaxUnpool2d": _check_unpool,
}

def _check_dtypes(node: Node, spec: LayerSpec, inputs: list[_Input]) -> None:
    """Each value port takes the element types its Port declares (token ids or floats)."""
    for x in inputs:
        port = spec.input_port(x.port, node.params)
        if port.kind != TENSOR or x.dtype in port.dtypes:
            continue
        if port.dtypes == IDS:
            raise NodeError(f"{node.name} needs int64 token ids but gets {x.dtype} from "
                            f"{x.src}: set the Input's dtype to int64")
        raise NodeError(f"{node.name} gets int64 token ids from {x.src}: only an Embedding "
                        "can take them; insert an Embedding first")


def _warnings(node: Node, spec: LayerSpec, inputs: list[_Input]) -> tuple[list[str], list[Fix]]:
    if spec.type == "Linear" and len(inputs[0].shape) >= 3:
        flat = math.prod(inputs[0].shape)
        message = (f"{node.name} acts on the last dimension only of "
                   f"{format_shape(inputs[0].shape)}; insert a Flatten to use all {flat} features")
        return ([message],
                [Fix("Insert Flatten", "insert", node.name, layer_type="Flatten")])
    return [], []


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

    def _gather(self, node: Node) -> list[_Input] | NodeResult:
        incoming = self.doc.incoming(node.name)
        gathered = []
        for port in node.input_ports():
            edge = incoming.get(port)
            if edge is None:
                where = f"its '{port}' port" if len(node.input_ports()) > 1 else "it"
                return NodeResult(error=f"{node.name} has no input: connect a layer's output "
                                  f"to {where}")
            upstream = self.results.get(edge.src)
            if upstream is None or not upstream.ok or edge.src_port not in upstream.outputs:
                return NodeResult(blocked=True)
            gathered.append(_Input(port, edge.src, upstream.outputs[edge.src_port],
                                   upstream.dtypes[edge.src_port],
                                   self._pooled_shape(edge.src)
                                   if node.spec.input_port(port, node.params).kind == INDICES
                                   else None))
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

    def _run(self, node: Node, spec: LayerSpec, inputs: list[_Input]) -> NodeResult:
        if spec.role is Role.OUTPUT:
            x = inputs[0]
            # Not a port: recorded so the canvas and `info` can show what the network returns.
            return NodeResult({"out": x.shape}, {"out": x.dtype}, {})
        _check_dtypes(node, spec, inputs)
        _check_rank(node, spec, inputs[0])
        resolved = _resolve(node, spec, inputs)
        check = _CHECKS.get(spec.type)
        if check:
            check(node, spec, inputs, resolved)
        outputs = self._outputs(node, spec, resolved, inputs)
        ports = node.output_ports()
        warnings, fixes = _warnings(node, spec, inputs)
        explanation = spec.explain(inputs[0].shape, resolved) if spec.explain else ""
        return NodeResult(
            {p: shape for p, (shape, _) in zip(ports, outputs)},
            {p: dtype for p, (_, dtype) in zip(ports, outputs)},
            resolved, warnings=warnings, fixes=fixes, explanation=explanation)

    def _outputs(self, node: Node, spec: LayerSpec, resolved: dict[str, Any],
                 inputs: list[_Input]) -> list[tuple[Shape, str]]:
        rule = RULES.get(spec.type)
        if rule is not None:
            shapes = rule([x.shape for x in inputs], resolved)
            return list(zip(shapes, output_dtypes(spec.type, inputs[0].dtype, len(shapes))))
        key = json.dumps([spec.type, resolved, [(x.shape, x.dtype) for x in inputs]],
                         sort_keys=True)
        if key not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = _meta_outputs(node, spec, resolved, inputs)
        return self._memo[key]


def _meta_outputs(node: Node, spec: LayerSpec, resolved: dict[str, Any],
                  inputs: list[_Input]) -> list[tuple[Shape, str]]:
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
