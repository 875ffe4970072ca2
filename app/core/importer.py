"""An existing nn.Module -> NetworkDocument, by torch.fx symbolic tracing.

Each traced operation is looked up in the catalogue: torch.nn layers by class (their
settings read from the module's attributes), functional calls and tensor methods (flatten,
cat, +, *, view/reshape, relu, pooling, ...) by the names each entry's `traced` lists. Each node sits at the
traced module path (`layer1.0.conv1`; a functional op in the module whose forward() did it:
`layer1.0.add`), so the source's state_dict keys carry over unchanged; node names are the
paths with underscores (`layer1_0_conv1`). A functional op assigned to a variable takes
its name (`block1_cat = torch.cat(...)` -> block1_cat), read from the source line the
tracer saw, and the pieces of a multi-output op take theirs (`q, k, v = x.chunk(3)`: the
node q, its other outputs k and v). Where a path cannot be kept (an nn.Sequential root's `0`, a layer called
twice) the node sits at its name and `ImportResult.key_map` renames those keys. Anything
without a mapping is reported by name and source line in one line; nothing is dropped
silently.

What torch cannot tell apart comes back in the form the editor writes: a size the next
layer reads from its input (`in_features`) is left on auto, an argument torch derives
from another (MaxPool2d's stride) is left unset, and the title is the first line of the
class docstring. So an exported file imports as the project it came from.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import keyword
import linecache
import operator
import os
import re
import sys
import traceback
import types
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.fx
from torch import nn

from app.core.catalogue import CATALOGUE, IDS, LayerSpec, Role
from app.core.codegen import redundant_keywords
from app.core.graph import RESERVED_NAMES, DocumentError, NetworkDocument, module_path
from app.core.import_hooks import (
    UNKNOWN,
    BatchSize,
    Hidden,
    Packed,
    Port,
    Sizes,
    Unsupported,
    hint,
    target_name,
)
from app.core.layout import layered_layout
from app.core.params import ParamError
from app.core.shapes import ShapeInference, errors, infer_shapes, network_problems

TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


class ModelImportError(ValueError):
    """The module cannot be turned into a document; one line says why."""


class _Skip(Exception):
    """An input already failed (and was reported); stay quiet about its consumers."""


@dataclass
class ImportResult:
    doc: NetworkDocument
    key_map: dict[str, str]  # source state_dict key -> document (compiled module) key
    unmapped: list[str] = field(default_factory=list)  # source keys no traced op used
    title: str = "Network"  # the project title: the class docstring's first line

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The source module's state_dict with keys renamed for the compiled document."""
        return {self.key_map[k]: v for k, v in state_dict.items() if k in self.key_map}


# -- the tracing context ------------------------------------------------------------------------

# What a traced function or tensor method turns into: a node's output, or a size or tuple
# that later operations read.
Handler = Callable[["Context", torch.fx.Node], Any]


@dataclass
class Context:
    """What the import knows so far: the document it builds and the value of each fx node."""

    root: nn.Module
    layer_types: dict[type, LayerSpec] = field(default_factory=dict)
    functions: dict[Any, Handler] = field(default_factory=dict)
    methods: dict[str, Handler] = field(default_factory=dict)
    doc: NetworkDocument = field(default_factory=NetworkDocument)
    values: dict[torch.fx.Node, Any] = field(default_factory=dict)
    key_map: dict[str, str] = field(default_factory=dict)
    module_calls: dict[str, str] = field(default_factory=dict)  # module path -> node name
    rnn_use: dict[str, set[str]] = field(default_factory=dict)
    variables: dict[torch.fx.Node, str] = field(default_factory=dict)  # op -> its name hint
    pieces: dict[torch.fx.Node, tuple[str | None, ...]] = field(default_factory=dict)
    port_names: set[str] = field(default_factory=set)  # given to extra outputs
    current: torch.fx.Node | None = None  # the traced call being read
    shapes: ShapeInference | None = None

    def sizes(self, arg: Any) -> Sizes:
        """x.size() of a value, from shape inference of the document built so far."""
        port = self.tensor(arg)
        if self.shapes is None:
            self.shapes = ShapeInference(self.doc)
        result = self.shapes.infer()[port.node]
        if result.blocked:
            raise _Skip
        if result.error is not None:
            raise Unsupported(f"the size of {port.node}: {result.error}")
        return Sizes(result.outputs[port.port], port)

    def value(self, arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            return self.values[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.value(a) for a in arg)
        return arg

    def tensor(self, arg: Any) -> Port:
        """An argument that must be a tensor produced by an earlier node."""
        value = self.value(arg)
        if value is UNKNOWN:
            raise _Skip
        if isinstance(value, Hidden):
            raise Unsupported(f"the second output of {value.node} (a recurrent layer's hidden "
                              "state, an attention's weights)")
        if isinstance(value, (BatchSize, Sizes)):
            raise Unsupported("arithmetic on tensor sizes")
        if not isinstance(value, Port):
            raise Unsupported(f"a constant {type(value).__name__} used as a tensor")
        if value.node in self.rnn_use:
            self.rnn_use[value.node].add("last" if value.last_step else "sequence")
        return value

    @staticmethod
    def name_base(hint: str) -> str:
        base = re.sub(r"\W", "_", hint.replace(".", "_")).strip("_")[:56]
        return base if base and base[0].isalpha() else f"n_{base}"

    def name(self, hint: str, taken: frozenset[str] = frozenset()) -> str:
        """A free name after `hint`: no node's, no output's, nor one of `taken`."""
        base = self.name_base(hint)
        candidate, i = base, 1
        while (candidate in self.doc.graph or candidate in self.port_names or candidate in taken
               or candidate in RESERVED_NAMES or keyword.iskeyword(candidate)):
            candidate, i = f"{base}_{i}", i + 1
        return candidate

    def add(self, layer_type: str, params: dict[str, Any], hint: str,
            inputs: Sequence[Port]) -> Port:
        """A node named after `hint` (or the variable the traced call is assigned to),
        placed at module path `hint` when that is a valid, free path; a second call of a
        weightless module (torchvision's one `relu` per block) goes next to it
        (`layer1.0.relu_1`); anything else sits at its name."""
        hint = self.variables.get(self.current, hint)
        name = self.name(hint)
        suffix = name[len(self.name_base(hint)):]
        params = _unset_implied(layer_type, params)
        if CATALOGUE[layer_type].variadic and "num_inputs" not in params:
            params = params | {"num_inputs": len(inputs)}
        # RegNet's `block1-0` is no attribute name: `block1_0` keeps the path's structure
        legal = ".".join(re.sub(r"\W", "_", s) for s in hint.split(".")) + suffix
        port_names = self.piece_names(layer_type, params, name)
        for path in dict.fromkeys((hint, hint + suffix, legal, None)):
            try:
                node = self.doc.add_node(layer_type, params, name=name, path=path,
                                         port_names=port_names)
                break
            except DocumentError as exc:
                if path is None:
                    raise Unsupported(f"{hint} ({exc})") from None
        for port, source in zip(node.input_ports(), inputs):
            self.doc.connect(source.node, source.port, name, port)
        self.port_names |= set(port_names.values())
        return Port(name)

    def piece_names(self, layer_type: str, params: dict[str, Any], name: str
                    ) -> dict[str, str]:
        """The variables a multi-output call is unpacked into (`q, k, v = x.chunk(3)`)
        name its extra outputs, where there is one variable per output."""
        pieces = self.pieces.get(self.current)
        if pieces is None:
            return {}
        spec = CATALOGUE[layer_type]
        try:
            ports = spec.output_ports(spec.validate(params))
        except ParamError:
            return {}
        if len(pieces) != len(ports):
            return {}
        names: dict[str, str] = {}
        for port, piece in zip(ports[1:], pieces[1:]):
            if piece is not None:
                names[port] = self.name(piece, frozenset({name, *names.values()}))
        return names


# -- torch.nn layers: settings from the module's attributes --------------------------------------

def _layer_types() -> dict[type, LayerSpec]:
    return {spec.module_class(): spec for spec in CATALOGUE.values() if spec.is_torch_layer}


def _resolve(dotted: str) -> Any:
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _traced_calls() -> tuple[dict[Any, Handler], dict[str, Handler]]:
    """Functions and tensor methods -> their handlers: the size and indexing operations
    that feed layers, then every layer the catalogue says a call can be."""
    functions: dict[Any, Handler] = {operator.getitem: _getitem, getattr: _getattr}
    methods: dict[str, Handler] = {"size": _size, "dim": _dim, "contiguous": _passthrough}
    for spec in CATALOGUE.values():
        if spec.traced is None:
            continue
        handler = functools.partial(spec.traced.hook, spec)
        functions |= {_resolve(name): handler for name in spec.traced.functions}
        methods |= dict.fromkeys(spec.traced.methods, handler)
    return functions, methods


def _read_attribute(module: nn.Module, name: str) -> Any:
    value = getattr(module, name)
    if name == "bias" and not isinstance(value, bool):
        return value is not None  # Linear/Conv store the tensor (or None), RNNs a flag
    if isinstance(value, torch.Size):
        value = tuple(value)
    return list(value) if isinstance(value, tuple) else value


def _normal(value: Any) -> Any:
    """(3, 3) and 3 mean the same to torch; compare them as equal."""
    if isinstance(value, (tuple, list)):
        items = [_normal(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else tuple(items)
    return value


def _settings(module: nn.Module) -> dict[str, Any]:
    """The module's plain configuration attributes (in-place flags and the train/eval mode
    change nothing in the graph)."""
    return {k: _normal(v) for k, v in vars(module).items()
            if not k.startswith("_") and k not in ("training", "inplace")
            and not isinstance(v, (torch.Tensor, nn.Module))}


def _layer_params(spec: LayerSpec, module: nn.Module, path: str) -> dict[str, Any]:
    try:
        params = spec.read(module) if spec.read else {
            p.name: _read_attribute(module, p.name) for p in spec.params
            if not p.graph_only and hasattr(module, p.name)}
    except Unsupported as exc:
        raise Unsupported(f"{path} ({type(module).__name__} with {exc})") from None
    try:
        full = spec.validate(params)
    except ParamError as exc:
        raise Unsupported(f"{path} ({type(module).__name__}: {exc})") from None
    with torch.device("meta"):
        rebuilt = spec.build(full)
    if _settings(rebuilt) != _settings(module):  # a setting the catalogue has no field for
        differ = sorted(k for k, v in _settings(module).items()
                        if _settings(rebuilt).get(k, v) != v or k not in _settings(rebuilt))
        raise Unsupported(f"{path} ({type(module).__name__} with {', '.join(differ)} not "
                          "supported)")
    return params


def _unset_implied(layer_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """Arguments torch derives itself when unset (MaxPool2d's stride) stay unset."""
    spec = CATALOGUE.get(layer_type)
    if spec is None or not spec.is_torch_layer:
        return params
    try:
        full = spec.validate(params)
    except ParamError:
        return params  # add_node says what is wrong with it
    return params | dict.fromkeys(redundant_keywords(spec, full))


def _call_module(ctx: Context, node: torch.fx.Node) -> Any:
    path = str(node.target)
    module = ctx.root.get_submodule(path)
    spec = ctx.layer_types.get(type(module))
    if spec is None:
        raise Unsupported(f"{path} ({type(module).__name__})")
    params = _layer_params(spec, module, path)
    full = spec.validate(params)
    ports = spec.input_ports(full)
    args, kwargs = node.args, node.kwargs
    if spec.attention and len(args) == 3 and set(kwargs) <= {"need_weights"}:
        if len(set(args)) > 1:
            raise Unsupported(f"{path} ({type(module).__name__} with different query, key "
                              "and value: only self-attention has a node)")
        args, kwargs = args[:1], {}  # self-attention(x, x, x): query, key and value are x
    if kwargs or len(args) != len(ports):
        raise Unsupported(f"{path} called with {len(node.args)} arguments; the "
                          f"{spec.type} node takes {len(ports)} ({', '.join(ports)})")
    has_state = bool(module.state_dict())
    if path in ctx.module_calls and has_state:
        raise Unsupported(f"{path} (a layer with weights used twice)")
    port = ctx.add(spec.type, params, path, [ctx.tensor(a) for a in args])
    ctx.module_calls[path] = port.node
    target = module_path(ctx.doc.node(port.node))
    ctx.key_map |= {f"{path}.{key}": f"{target}.{key}" for key in module.state_dict()}
    if spec.attention:
        return Packed((port, Hidden(port.node)))
    if spec.sequence:
        ctx.rnn_use[port.node] = set()
        return Packed((port, Hidden(port.node)))
    outputs = spec.output_ports(full)
    if len(outputs) > 1:  # torch returns a tuple (a max pooling's values and indices)
        return Packed(tuple(Port(port.node, name) for name in outputs))
    return port


# -- learnable tensors used directly (get_attr) -------------------------------------------------

def _initial_values(tensor: torch.Tensor) -> dict[str, Any]:
    """How the tensor's values look as a Parameter node's init: all equal (to a float32
    value, written shortest), else normal with their spread to one digit (the 0.02 of
    `normal_(std=0.02)`, which a sample of a few hundred values gives back)."""
    values = tensor.detach().flatten().float()
    if values.numel() and bool((values == values[0]).all()):
        return {"init": "constant", "value": float(f"{values[0].item():.7g}")}
    return {"init": "normal", "value": float(f"{values.std().item():.1g}")}


def _get_attr(ctx: Context, node: torch.fx.Node) -> Port:
    """A parameter read in forward() (`self.class_token`): a Parameter node at its path,
    so its state_dict key stays the same."""
    path = str(node.target)
    if path in ctx.module_calls:
        return Port(ctx.module_calls[path])
    try:
        tensor = ctx.root.get_parameter(path)
    except AttributeError:
        raise Unsupported(f"the buffer or constant {path} used directly in forward()") from None
    shape = list(tensor.shape)
    batch = len(shape) > 1 and shape[0] == 1  # ViT's 1 × tokens × features
    params = {"shape": shape[1:] if batch else shape, "batch_dim": batch}
    port = ctx.add("Parameter", params | _initial_values(tensor), path, [])
    ctx.module_calls[path] = port.node
    ctx.key_map[path] = module_path(ctx.doc.node(port.node))
    return port


# -- functional calls and tensor methods ---------------------------------------------------------

def _size(ctx: Context, node: torch.fx.Node) -> Any:
    sizes = ctx.sizes(node.args[0])
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    return sizes if dim is None else sizes[dim]


def _getattr(ctx: Context, node: torch.fx.Node) -> Any:
    if node.args[1] == "shape":
        return ctx.sizes(node.args[0])
    raise Unsupported(f"x.{node.args[1]}")


def _dim(ctx: Context, node: torch.fx.Node) -> int:
    return len(ctx.sizes(node.args[0]).sample) + 1


# Arithmetic on known sizes (`num_channels // groups`) is computed during the import, and so
# are the comparisons of torch._assert(x.dim() == 3, ...) checks (ViT's).
_SIZE_ARITHMETIC = (operator.add, operator.sub, operator.mul, operator.floordiv, operator.eq)


def _is_last_step(index: Any, batch_first: bool) -> bool:
    full = slice(None, None, None)
    if batch_first:
        return isinstance(index, tuple) and index in ((full, -1), (full, -1, full))
    return index == -1


def _getitem(ctx: Context, node: torch.fx.Node) -> Any:
    container, index = ctx.value(node.args[0]), node.args[1]
    if container is UNKNOWN:
        raise _Skip
    if isinstance(container, Packed) and isinstance(index, int):
        return container.items[index]
    if isinstance(container, Sizes) and isinstance(index, (int, slice)):
        return container[index]
    if isinstance(container, Port) and container.node in ctx.rnn_use:
        resolved = ctx.doc.node(container.node).params
        if not container.last_step and _is_last_step(index, resolved["batch_first"]):
            return Port(container.node, container.port, last_step=True)
    if isinstance(container, Port) and _is_selection(index):
        return ctx.add("Select", {"dim": len(index) - 1, "index": index[-1]}, hint(node),
                       [ctx.tensor(node.args[0])])
    raise Unsupported(f"indexing x[{index!r}]")


def _is_selection(index: Any) -> bool:
    """x[:, 0], x[:, :, -1]: whole dimensions, then one position."""
    return (isinstance(index, tuple) and len(index) > 1 and type(index[-1]) is int
            and all(i == slice(None) for i in index[:-1]))


def _passthrough(ctx: Context, node: torch.fx.Node) -> Port:
    return ctx.tensor(node.args[0])


def _call(ctx: Context, node: torch.fx.Node) -> Any:
    if node.target in _SIZE_ARITHMETIC and not node.kwargs:
        values = ctx.value(node.args)
        if UNKNOWN in values:
            raise _Skip  # a size of a value that failed (and was reported)
        if all(type(v) is int for v in values):
            return node.target(*values)
    table = ctx.methods if node.op == "call_method" else ctx.functions
    handler = table.get(node.target) if _hashable(node.target) else None
    if handler is None:
        raise Unsupported(target_name(node))
    return handler(ctx, node)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# -- the whole graph -----------------------------------------------------------------------------

def _placeholder(ctx: Context, node: torch.fx.Node, shape: Sequence[int]) -> Port:
    # the argument as written: fx renames one called `input` to `input_1` (a builtin)
    name = str(node.target).lstrip("*")
    hint = name if name not in RESERVED_NAMES else "input"
    return ctx.add("Input", {"shape": list(shape)}, hint, [])


def _outputs(ctx: Context, node: torch.fx.Node) -> None:
    result = node.args[0]
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    for i, item in enumerate(items, start=1):
        source = ctx.tensor(item)
        ctx.add("Output", {}, "output" if len(items) == 1 else f"output{i}", [source])


def _finish_recurrent(ctx: Context, problems: list[str]) -> None:
    for name, uses in ctx.rnn_use.items():
        if uses == {"last"}:
            ctx.doc.set_params(name, {"output": "last"})
        elif len(uses) > 1:
            problems.append(f"{name} (uses both the full sequence and the last step)")


def _finish_inputs(ctx: Context) -> None:
    """Inputs that feed an Embedding carry token ids."""
    for node in ctx.doc.nodes:
        if node.spec.role is Role.INPUT and any(
                ctx.doc.node(e.dst).spec.input_port(e.dst_port, ctx.doc.node(e.dst).params)
                .dtypes == IDS for e in ctx.doc.outgoing(node.name)):
            ctx.doc.set_params(node.name, {"dtype": "int64"})


# -- where in the source each traced call was made -----------------------------------------------

@dataclass(frozen=True)
class Site:
    """Where the model's code made a traced call."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"


def _user_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """The innermost frame outside torch: the line of the model's code that made a call;
    None for a node fx made after forward() returned (reached from the importer)."""
    while frame is not None and frame.f_code.co_filename.startswith(TORCH_DIR):
        frame = frame.f_back
    return None if frame is None or frame.f_code.co_filename == __file__ else frame


class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer, noting the source line of every node it records, which also
    keeps the catalogue's torchvision.ops layers (StochasticDepth) as one call instead
    of tracing into them."""

    def __init__(self, leaves: set[type]) -> None:
        super().__init__()
        self.leaves = leaves
        self.sites: dict[torch.fx.Node, Site] = {}

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return type(m) in self.leaves or super().is_leaf_module(m, module_qualified_name)

    def create_node(self, *args: Any, **kwargs: Any) -> torch.fx.Node:
        node = super().create_node(*args, **kwargs)
        frame = _user_frame(sys._getframe(1))
        if frame is not None:
            self.sites[node] = Site(frame.f_code.co_filename, frame.f_lineno)
        return node


class Sources:
    """The statements of the files the traced code lives in, each file parsed once."""

    def __init__(self) -> None:
        self.files: dict[str, dict[int, ast.stmt]] = {}

    def statement(self, site: Site) -> ast.stmt | None:
        """The innermost statement that spans the site's line."""
        if site.file not in self.files:
            self.files[site.file] = _statements_by_line(site.file)
        return self.files[site.file].get(site.line)

    @staticmethod
    def text(site: Site) -> str:
        return linecache.getline(site.file, site.line).strip()


def _statements_by_line(file: str) -> dict[int, ast.stmt]:
    linecache.checkcache(file)  # the file may have changed since an earlier import
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):
        return {}
    lines: dict[int, ast.stmt] = {}
    # Outer statements first, so each line ends up with the innermost one spanning it.
    for statement in sorted((s for s in ast.walk(tree) if isinstance(s, ast.stmt)),
                            key=lambda s: (s.lineno, -(s.end_lineno or s.lineno))):
        end = statement.end_lineno or statement.lineno
        lines |= dict.fromkeys(range(statement.lineno, end + 1), statement)
    return lines


def _assigned_names(statement: ast.stmt) -> tuple[str | None, ...]:
    """`name = ...`, `name: T = ...` or `a, b, c = ...`: the variables a statement assigns
    its value (or its value's items: a multi-output op's outputs, in order) to; None for
    `_`, a starred or attribute target, or a name exported code keeps for itself. Nothing
    for `a, b = f(x), g(x)`, whose value is no one call's."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return ()
    if isinstance(target, ast.Tuple | ast.List):
        if isinstance(statement.value, ast.Tuple | ast.List):
            return ()
        targets = target.elts
    else:
        targets = [target]
    return tuple(t.id if isinstance(t, ast.Name) and t.id not in RESERVED_NAMES
                 and t.id != "_" else None for t in targets)


def _statements(graph: torch.fx.Graph, sites: dict[torch.fx.Node, Site]
                ) -> dict[torch.fx.Node, ast.stmt]:
    """Each traced call -> the statement of the model's code that made it."""
    sources = Sources()
    found = {}
    for node in graph.nodes:
        statement = sources.statement(sites[node]) if node in sites else None
        if statement is not None and node.op.startswith("call"):
            found[node] = statement
    return found


def _variables(graph: torch.fx.Graph, statements: dict[torch.fx.Node, ast.stmt],
               module_paths: set[str]
               ) -> tuple[dict[torch.fx.Node, str], dict[torch.fx.Node, tuple[str | None, ...]]]:
    """Functional ops assigned to variables -> the name hint (`owner.variable`) of their
    value and of each piece unpacked from it: the last call of each run of calls made by
    one statement is the value it assigns."""
    last: dict[tuple[int, str], torch.fx.Node] = {}
    run: tuple[int, str] | None = None
    for node in graph.nodes:
        if node.target is operator.getitem and not isinstance(node.args[1], tuple):
            continue  # `a, b = x.chunk(2)` unpacks the value: chunk is what is assigned
        if node not in statements:
            run = None
            continue
        key = (id(statements[node]), hint(node).rpartition(".")[0])
        if key != run:
            last.pop(key, None)  # the statement runs again (a loop): a new value
            run = key
        last[key] = node
    variables, pieces = {}, {}
    for (_, owner), node in last.items():
        if node.op not in ("call_function", "call_method"):
            continue
        dotted = tuple(f"{owner}.{name}" if owner and name else name
                       for name in _assigned_names(statements[node]))
        dotted = tuple(None if name in module_paths else name for name in dotted)
        if dotted and dotted[0]:
            variables[node] = dotted[0]
        if len(dotted) > 1:
            pieces[node] = dotted
    return variables, pieces


CHAINED = frozenset({operator.add, operator.mul})  # (a + b) + c is one Add of a, b and c


def _join_chains(graph: torch.fx.Graph, statements: dict[torch.fx.Node, ast.stmt]) -> None:
    """`a + b + c` traces as two additions; one statement's chain becomes one call with
    every operand, which the merge reads as one node with that many inputs, as written."""
    for node in list(graph.nodes):
        inner = node.args[0] if node.op == "call_function" and node.args else None
        if (node.target in CHAINED and isinstance(inner, torch.fx.Node)
                and inner.op == "call_function" and inner.target == node.target
                and len(inner.users) == 1 and not (node.kwargs or inner.kwargs)
                and statements.get(inner) is not None
                and statements.get(inner) is statements.get(node)):
            node.args = (*inner.args, *node.args[1:])
            graph.erase_node(inner)


def _trace(module: nn.Module, label: str, leaves: set[type]
           ) -> tuple[torch.fx.GraphModule, dict[torch.fx.Node, Site]]:
    """The traced module and each node's source line. A failure names the line that
    stopped the tracer, e.g. `if x.sum() > 0:` (data-dependent control flow)."""
    tracer = _Tracer(leaves)
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # noqa: BLE001 - any tracing failure becomes one readable line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        stack = list(traceback.walk_tb(exc.__traceback__))
        site = next((Site(frame.f_code.co_filename, line) for frame, line in reversed(stack)
                     if _user_frame(frame) is frame), None)
        if site is None:
            raise ModelImportError(f"cannot trace {label} with torch.fx (data-dependent "
                                   f"control flow?): {first}") from None
        raise ModelImportError(f"cannot import {label}: `{Sources.text(site)}` at {site}: "
                               f"torch.fx cannot trace it ({first})") from None
    return torch.fx.GraphModule(tracer.root, graph, type(module).__name__), tracer.sites


def _class_title(module: nn.Module) -> str | None:
    """The first line of the model class's docstring (not of torch's own classes)."""
    cls = type(module)
    if cls.__module__.split(".")[0] == "torch" or not cls.__doc__:
        return None
    return inspect.cleandoc(cls.__doc__).splitlines()[0].strip() or None


def _leave_on_auto(doc: NetworkDocument) -> None:
    """Sizes a layer can read from its input (in_features, num_features) go back on
    auto where they equal what it reads, as the editor's own layers have them."""
    given = {n.name: {p.name: n.params[p.name] for p in n.spec.params
                      if p.auto and n.params[p.name] is not None} for n in doc.nodes}
    given = {name: values for name, values in given.items() if values}
    for name, values in given.items():
        doc.set_params(name, dict.fromkeys(values))
    results = infer_shapes(doc)
    for name, values in given.items():
        resolved = results[name].resolved if results[name].ok else {}
        keep = {k: v for k, v in values.items() if _normal(resolved.get(k)) != _normal(v)}
        if keep:
            doc.set_params(name, keep)


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]],
                  label: str | None = None, title: str | None = None) -> ImportResult:
    """The document for `module`, given one per-sample input shape (no batch) per input.
    `title` defaults to the first line of the class docstring, else `label`."""
    label = label or type(module).__name__
    layer_types = _layer_types()
    traced, sites = _trace(module, label, set(layer_types))
    ctx = Context(traced, layer_types, *_traced_calls())
    statements = _statements(traced.graph, sites)
    _join_chains(traced.graph, statements)
    ctx.variables, ctx.pieces = _variables(traced.graph, statements,
                                           {name for name, _ in module.named_modules()})
    problems: list[str] = []
    shapes = iter(input_shapes)
    for node in traced.graph.nodes:
        if node.op not in ("placeholder", "output") and not node.users:
            continue  # dead values, e.g. the `_` in `out, _ = self.lstm(x)`
        ctx.current = node
        try:
            if node.op == "placeholder":
                shape = next(shapes, None)
                if shape is None:
                    raise ModelImportError(f"{label} takes more inputs than the "
                                           f"{len(input_shapes)} shape(s) given")
                ctx.values[node] = _placeholder(ctx, node, shape)
            elif node.op == "output":
                _outputs(ctx, node)
            elif node.op == "call_module":
                ctx.values[node] = _call_module(ctx, node)
            elif node.op in ("call_function", "call_method"):
                ctx.values[node] = _call(ctx, node)
            elif node.op == "get_attr":
                ctx.values[node] = _get_attr(ctx, node)
            else:
                raise Unsupported(f"{node.op} {node.target}")
        except Unsupported as exc:
            problems.append(f"{exc} at {sites[node]}" if node in sites else str(exc))
            ctx.values[node] = UNKNOWN
        except _Skip:
            ctx.values[node] = UNKNOWN
    if ctx.shapes is not None:
        ctx.shapes.close()
    _finish_recurrent(ctx, problems)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ModelImportError(f"cannot import {label}: unsupported operations: "
                               f"{'; '.join(unique)}")
    _finish_inputs(ctx)
    _leave_on_auto(ctx.doc)
    _check(ctx.doc, label)
    for name, pos in layered_layout(ctx.doc).items():
        ctx.doc.move_node(name, pos)
    unmapped = [k for k in module.state_dict() if k not in ctx.key_map]
    return ImportResult(ctx.doc, ctx.key_map, unmapped,
                        title or _class_title(module) or label)


def _check(doc: NetworkDocument, label: str) -> None:
    problems = errors(network_problems(doc, infer_shapes(doc)))
    if problems:
        raise ModelImportError(f"imported {label}, but the network has errors: "
                               f"{problems[0].message}")


# -- sources: torchvision by name, a class in a .py file -----------------------------------------

def torchvision_names() -> list[str]:
    import torchvision.models

    return sorted(torchvision.models.list_models(module=torchvision.models))


def import_torchvision(name: str, input_shape: Sequence[int] = (3, 224, 224),
                       **kwargs: Any) -> ImportResult:
    """A torchvision classification model by name, built with weights=None (no download)."""
    import torchvision.models

    if name not in torchvision_names():
        raise ModelImportError(f"unknown torchvision model {name!r}; known: "
                               f"{', '.join(torchvision_names())}")
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    return import_module(model.eval(), [input_shape], label=name, title=name)


def load_file_model(path: str | Path, class_name: str | None = None) -> tuple[nn.Module, Any]:
    """Run the .py file (the user chose it, as with any script) and build its model:
    `class_name()`, else `build_model()`, else `Net()`. Returns (model, the file's module)."""
    path = Path(path)
    if not path.is_file():
        raise ModelImportError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"torchcanvas_import_{uuid.uuid4().hex}",
                                                  path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file: report, never crash
        raise ModelImportError(f"{path}: running it failed: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    factory = (getattr(module, class_name, None) if class_name
               else getattr(module, "build_model", None) or getattr(module, "Net", None))
    if factory is None:
        wanted = class_name or "build_model() or class Net"
        raise ModelImportError(f"{path}: defines no {wanted}")
    try:
        model = factory()
    except Exception as exc:  # noqa: BLE001 - the user's constructor: report, never crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelImportError(f"{path}: {getattr(factory, '__name__', 'the factory')}() "
                               f"failed: {type(exc).__name__}: {first}") from None
    if not isinstance(model, nn.Module):
        raise ModelImportError(f"{path}: {class_name or 'build_model()'} is not an nn.Module")
    return model, module


def import_file(path: str | Path, class_name: str | None = None,
                input_shapes: Sequence[Sequence[int]] | None = None) -> ImportResult:
    """A model class from a .py file. Input shapes default to the file's INPUT_SHAPE or
    INPUT_SHAPES constant (which TorchCanvas exports write)."""
    model, module = load_file_model(path, class_name)
    if input_shapes is None:
        if hasattr(module, "INPUT_SHAPES"):
            input_shapes = list(module.INPUT_SHAPES)
        elif hasattr(module, "INPUT_SHAPE"):
            input_shapes = [module.INPUT_SHAPE]
        else:
            raise ModelImportError(f"{path}: give the input shape (e.g. --input-shape 1,28,28);"
                                   " the file has no INPUT_SHAPE")
    return import_module(model.eval(), input_shapes, label=class_name or Path(path).stem)

