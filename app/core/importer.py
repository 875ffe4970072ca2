"""An existing nn.Module -> NetworkDocument, by torch.fx symbolic tracing.

Each traced operation is looked up in a registry: torch.nn layers by class (their settings
read from the module's attributes), and a few functional calls and tensor methods
(flatten, cat, +, *, view/reshape, relu, pooling, ...) by target. Each node sits at the
traced module path (`layer1.0.conv1`; a functional op in the module whose forward() did it:
`layer1.0.add`), so the source's state_dict keys carry over unchanged; node names are the
paths with underscores (`layer1_0_conv1`). Where a path cannot be kept (an nn.Sequential
root's `0`, a layer called twice) the node sits at its name and `ImportResult.key_map`
renames those keys. Anything without a mapping is reported by name in one line; nothing is
dropped silently.
"""

from __future__ import annotations

import importlib.util
import keyword
import operator
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from app.core.catalogue import CATALOGUE, IDS, LayerSpec, Role
from app.core.graph import RESERVED_NAMES, DocumentError, NetworkDocument, module_path
from app.core.params import ParamError
from app.core.shapes import errors, infer_shapes, network_problems

ROW = 110.0
COLUMN = 240.0


class ModelImportError(ValueError):
    """The module cannot be turned into a document; one line says why."""


class Unsupported(Exception):
    """One operation has no TorchCanvas equivalent; the message names it."""


class _Skip(Exception):
    """An input already failed (and was reported); stay quiet about its consumers."""


# -- values flowing through the traced graph --------------------------------------------------

@dataclass(frozen=True)
class Port:
    node: str
    port: str = "out"
    last_step: bool = False  # a recurrent node's output read as out[:, -1]


@dataclass(frozen=True)
class Packed:
    """A module that returns a tuple: (sequence, hidden) for RNNs, (out, indices) for pools."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Hidden:
    node: str


@dataclass(frozen=True)
class BatchSize:
    """x.size(0) / x.shape[0]: only meaningful as the first argument of view/reshape."""


@dataclass(frozen=True)
class Sizes:
    """x.size() / x.shape."""


UNKNOWN = object()


@dataclass
class ImportResult:
    doc: NetworkDocument
    key_map: dict[str, str]  # source state_dict key -> document (compiled module) key
    unmapped: list[str] = field(default_factory=list)  # source keys no traced op used

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The source module's state_dict with keys renamed for the compiled document."""
        return {self.key_map[k]: v for k, v in state_dict.items() if k in self.key_map}


# -- the tracing context ------------------------------------------------------------------------

@dataclass
class _Context:
    root: nn.Module
    doc: NetworkDocument = field(default_factory=NetworkDocument)
    values: dict[torch.fx.Node, Any] = field(default_factory=dict)
    key_map: dict[str, str] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    per_row: dict[int, int] = field(default_factory=dict)
    module_calls: dict[str, str] = field(default_factory=dict)  # module path -> node name
    rnn_use: dict[str, set[str]] = field(default_factory=dict)

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
            raise Unsupported(f"the hidden state output of {value.node}")
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

    def name(self, hint: str) -> str:
        base = self.name_base(hint)
        candidate, i = base, 1
        while (candidate in self.doc.graph or candidate in RESERVED_NAMES
               or keyword.iskeyword(candidate)):
            candidate, i = f"{base}_{i}", i + 1
        return candidate

    def add(self, layer_type: str, params: dict[str, Any], hint: str,
            inputs: Sequence[Port]) -> Port:
        """A node named after `hint`, placed at module path `hint` when that is a valid,
        free path; a second call of a weightless module (torchvision's one `relu` per
        block) goes next to it (`layer1.0.relu_1`); anything else sits at its name."""
        name = self.name(hint)
        row = 1 + max((self.depth[p.node] for p in inputs), default=-1)
        column = self.per_row.get(row, 0)
        self.per_row[row] = column + 1
        suffix = name[len(self.name_base(hint)):]
        for path in dict.fromkeys((hint, hint + suffix, None)):
            try:
                node = self.doc.add_node(layer_type, params, name=name, path=path,
                                         pos=(column * COLUMN, row * ROW))
                break
            except DocumentError as exc:
                if path is None:
                    raise Unsupported(f"{hint} ({exc})") from None
        self.depth[name] = row
        for port, source in zip(node.input_ports(), inputs):
            self.doc.connect(source.node, source.port, name, port)
        return Port(name)


# -- torch.nn layers: settings from the module's attributes --------------------------------------

def _layer_types() -> dict[type, LayerSpec]:
    return {spec.module_class(): spec for spec in CATALOGUE.values() if spec.is_torch_layer}


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
    params = {p.name: _read_attribute(module, p.name) for p in spec.params
              if p.name not in spec.ctor_exclude and hasattr(module, p.name)}
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


def _call_module(ctx: _Context, node: torch.fx.Node) -> Any:
    path = str(node.target)
    module = ctx.root.get_submodule(path)
    if type(module) is nn.Identity:
        return ctx.tensor(node.args[0])
    spec = LAYER_TYPES.get(type(module))
    if spec is None:
        raise Unsupported(f"{path} ({type(module).__name__})")
    params = _layer_params(spec, module, path)
    ports = spec.input_ports(spec.validate(params))
    if node.kwargs or len(node.args) != len(ports):
        raise Unsupported(f"{path} called with {len(node.args)} arguments; the "
                          f"{spec.type} node takes {len(ports)} ({', '.join(ports)})")
    has_state = bool(module.state_dict())
    if path in ctx.module_calls and has_state:
        raise Unsupported(f"{path} (a layer with weights used twice)")
    port = ctx.add(spec.type, params, path, [ctx.tensor(a) for a in node.args])
    ctx.module_calls[path] = port.node
    target = module_path(ctx.doc.node(port.node))
    ctx.key_map |= {f"{path}.{key}": f"{target}.{key}" for key in module.state_dict()}
    if spec.sequence:
        ctx.rnn_use[port.node] = set()
        return Packed((port, Hidden(port.node)))
    if params.get("return_indices"):
        return Packed((port, Port(port.node, "indices")))
    return port


# -- functional calls and tensor methods ---------------------------------------------------------

@dataclass(frozen=True)
class Functional:
    """A call like F.max_pool2d(x, 2, stride=1) that is one catalogue layer: its arguments
    after the input, in torch's order, name the layer's parameters."""

    layer_type: str
    arg_names: tuple[str, ...] = ()

    def __call__(self, ctx: _Context, node: torch.fx.Node) -> Port:
        source = ctx.tensor(node.args[0])
        given = dict(zip(self.arg_names, ctx.value(node.args[1:])))
        given |= {k: ctx.value(v) for k, v in node.kwargs.items()}
        spec = CATALOGUE[self.layer_type]
        known = {p.name for p in spec.params}
        params = {}
        for key, value in given.items():
            if key in known:
                params[key] = list(value) if isinstance(value, tuple) else value
            elif key not in IGNORED_ARGUMENTS or value not in IGNORED_ARGUMENTS[key]:
                raise Unsupported(f"{_target_name(node)}({key}={value!r})")
        return ctx.add(self.layer_type, params, _hint(node), [source])


# Arguments that change nothing in the graph: in-place flags, the training flag that fx
# freezes at trace time (nn.Dropout follows train/eval mode instead), softmax's dtype=None.
IGNORED_ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "inplace": (True, False), "training": (True, False), "_stacklevel": (3, 5), "dtype": (None,),
}


def _merge(layer_type: str) -> Callable[[_Context, torch.fx.Node], Port]:
    def handle(ctx: _Context, node: torch.fx.Node) -> Port:
        if node.kwargs:
            raise Unsupported(f"{_target_name(node)} with {', '.join(node.kwargs)}")
        values = [ctx.value(a) for a in node.args]
        if not all(isinstance(v, Port) or v is UNKNOWN for v in values):
            raise Unsupported(f"{_target_name(node)} with a constant")
        inputs = [ctx.tensor(a) for a in node.args]
        return ctx.add(layer_type, {}, _hint(node), inputs)
    return handle


def _cat(ctx: _Context, node: torch.fx.Node) -> Port:
    tensors = node.args[0] if node.args else node.kwargs["tensors"]
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    inputs = [ctx.tensor(t) for t in tensors]
    return ctx.add("Concat", {"num_inputs": len(inputs), "dim": dim}, _hint(node), inputs)


def _reshape(ctx: _Context, node: torch.fx.Node) -> Port:
    source = ctx.tensor(node.args[0])
    dims = ctx.value(node.args[1:])
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not dims or not (isinstance(dims[0], BatchSize) or dims[0] == -1) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in dims[1:]):
        raise Unsupported(f"{_target_name(node)} that does not keep the batch dimension")
    if dims[0] == -1 and -1 in dims[1:]:
        raise Unsupported(f"{_target_name(node)}(-1, ..., -1)")
    return ctx.add("Reshape", {"shape": list(dims[1:])}, _hint(node), [source])


def _size(ctx: _Context, node: torch.fx.Node) -> Any:
    ctx.tensor(node.args[0])
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if dim is None:
        return Sizes()
    if dim == 0:
        return BatchSize()
    raise Unsupported(f"x.size({dim!r})")


def _getattr(ctx: _Context, node: torch.fx.Node) -> Any:
    if node.args[1] == "shape":
        ctx.tensor(node.args[0])
        return Sizes()
    raise Unsupported(f"x.{node.args[1]}")


def _is_last_step(index: Any, batch_first: bool) -> bool:
    full = slice(None, None, None)
    if batch_first:
        return isinstance(index, tuple) and index in ((full, -1), (full, -1, full))
    return index == -1


def _getitem(ctx: _Context, node: torch.fx.Node) -> Any:
    container, index = ctx.value(node.args[0]), node.args[1]
    if container is UNKNOWN:
        raise _Skip
    if isinstance(container, Packed) and isinstance(index, int):
        return container.items[index]
    if isinstance(container, Sizes) and index == 0:
        return BatchSize()
    if isinstance(container, Port) and container.node in ctx.rnn_use:
        resolved = ctx.doc.node(container.node).params
        if not container.last_step and _is_last_step(index, resolved["batch_first"]):
            return Port(container.node, container.port, last_step=True)
    raise Unsupported(f"indexing x[{index!r}]")


def _passthrough(ctx: _Context, node: torch.fx.Node) -> Port:
    return ctx.tensor(node.args[0])


def _flatten(ctx: _Context, node: torch.fx.Node) -> Port:
    return Functional("Flatten", ("start_dim", "end_dim"))(ctx, node)


FUNCTIONS: dict[Any, Callable[[_Context, torch.fx.Node], Any]] = {
    torch.flatten: _flatten,
    torch.cat: _cat, torch.concat: _cat,
    operator.add: _merge("Add"), operator.iadd: _merge("Add"), torch.add: _merge("Add"),
    operator.mul: _merge("Multiply"), operator.imul: _merge("Multiply"),
    torch.mul: _merge("Multiply"),
    operator.getitem: _getitem, getattr: _getattr,
    torch.relu: Functional("ReLU"), F.relu: Functional("ReLU"),
    torch.sigmoid: Functional("Sigmoid"), F.sigmoid: Functional("Sigmoid"),
    torch.tanh: Functional("Tanh"), F.tanh: Functional("Tanh"),
    F.gelu: Functional("GELU"), F.elu: Functional("ELU", ("alpha",)),
    F.leaky_relu: Functional("LeakyReLU", ("negative_slope",)),
    F.softmax: Functional("Softmax", ("dim",)), torch.softmax: Functional("Softmax", ("dim",)),
    F.log_softmax: Functional("LogSoftmax", ("dim",)),
    F.max_pool2d: Functional("MaxPool2d", ("kernel_size", "stride", "padding", "dilation",
                                           "ceil_mode", "return_indices")),
    F.avg_pool2d: Functional("AvgPool2d", ("kernel_size", "stride", "padding", "ceil_mode",
                                           "count_include_pad", "divisor_override")),
    F.adaptive_avg_pool2d: Functional("AdaptiveAvgPool2d", ("output_size",)),
    F.dropout: Functional("Dropout", ("p", "training", "inplace")),
}

METHODS: dict[str, Callable[[_Context, torch.fx.Node], Any]] = {
    "view": _reshape, "reshape": _reshape, "flatten": _flatten,
    "size": _size, "contiguous": _passthrough,
    "relu": Functional("ReLU"), "sigmoid": Functional("Sigmoid"), "tanh": Functional("Tanh"),
    "softmax": Functional("Softmax", ("dim",)),
}


def _hint(node: torch.fx.Node) -> str:
    """A name for a functional op: fx's own (`add`, `flatten`) prefixed with the path of the
    module whose forward() did it, so `out += identity` in layer1.0 becomes layer1_0_add."""
    stack = node.meta.get("nn_module_stack") or {}
    owner = next(reversed(stack), "") if stack else ""
    base = re.sub(r"_\d+$", "", node.name)
    return f"{owner}.{base}" if owner else base


def _target_name(node: torch.fx.Node) -> str:
    if node.op == "call_method":
        return f"x.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    return f"{module}.{name}" if module and module != "_operator" else f"operator.{name}"


def _call(ctx: _Context, node: torch.fx.Node) -> Any:
    table, key = (METHODS, node.target) if node.op == "call_method" else (FUNCTIONS,
                                                                           node.target)
    handler = table.get(key) if _hashable(key) else None
    if handler is None:
        raise Unsupported(_target_name(node))
    return handler(ctx, node)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# -- the whole graph -----------------------------------------------------------------------------

def _placeholder(ctx: _Context, node: torch.fx.Node, shape: Sequence[int]) -> Port:
    hint = node.name if node.name not in RESERVED_NAMES else "input"
    return ctx.add("Input", {"shape": list(shape)}, hint, [])


def _outputs(ctx: _Context, node: torch.fx.Node) -> None:
    result = node.args[0]
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    for i, item in enumerate(items, start=1):
        source = ctx.tensor(item)
        ctx.add("Output", {}, "output" if len(items) == 1 else f"output{i}", [source])


def _finish_recurrent(ctx: _Context, problems: list[str]) -> None:
    for name, uses in ctx.rnn_use.items():
        if uses == {"last"}:
            ctx.doc.set_params(name, {"output": "last"})
        elif len(uses) > 1:
            problems.append(f"{name} (uses both the full sequence and the last step)")


def _finish_inputs(ctx: _Context) -> None:
    """Inputs that feed an Embedding carry token ids."""
    for node in ctx.doc.nodes:
        if node.spec.role is Role.INPUT and any(
                ctx.doc.node(e.dst).spec.input_port(e.dst_port, ctx.doc.node(e.dst).params)
                .dtypes == IDS for e in ctx.doc.outgoing(node.name)):
            ctx.doc.set_params(node.name, {"dtype": "int64"})


def _trace(module: nn.Module, label: str) -> torch.fx.GraphModule:
    try:
        return torch.fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001 - any tracing failure becomes one readable line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelImportError(f"cannot trace {label} with torch.fx (data-dependent control "
                               f"flow?): {first}") from None


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]],
                  label: str | None = None) -> ImportResult:
    """The document for `module`, given one per-sample input shape (no batch) per input."""
    label = label or type(module).__name__
    traced = _trace(module, label)
    ctx = _Context(traced)
    problems: list[str] = []
    shapes = iter(input_shapes)
    for node in traced.graph.nodes:
        if node.op not in ("placeholder", "output") and not node.users:
            continue  # dead values, e.g. the `_` in `out, _ = self.lstm(x)`
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
            else:
                raise Unsupported(f"{node.op} {node.target}")
        except Unsupported as exc:
            problems.append(str(exc))
            ctx.values[node] = UNKNOWN
        except _Skip:
            ctx.values[node] = UNKNOWN
    _finish_recurrent(ctx, problems)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ModelImportError(f"cannot import {label}: unsupported operations: "
                               f"{'; '.join(unique)}")
    _finish_inputs(ctx)
    _check(ctx.doc, label)
    unmapped = [k for k in module.state_dict() if k not in ctx.key_map]
    return ImportResult(ctx.doc, ctx.key_map, unmapped)


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
    return import_module(model.eval(), [input_shape], label=name)


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


LAYER_TYPES = _layer_types()
