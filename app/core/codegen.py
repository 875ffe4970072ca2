"""NetworkDocument -> a readable, standalone PyTorch `.py` file.

The file needs only torch, defines `class Net(nn.Module)` and `build_model()`, and when
run as a script prints a summary and does a dummy forward pass. Attribute names are the
node names, exactly as the compiler registers them, so `Net().load_state_dict(
compiled.state_dict())` works with strict=True.

Safety: nothing from a project file is ever pasted into the code as code. Node names are
re-checked as identifiers, layer classes come from the catalogue (not the file), every
parameter value goes through `literal_code` (repr of a checked int/float/bool/str/tuple), and
free text (the title) is reduced to harmless characters before it enters a docstring.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from app.core.catalogue import LayerSpec, Role
from app.core.compiler import check_compilable, input_specs, network_outputs, token_limit
from app.core.graph import (
    DocumentError,
    NetworkDocument,
    check_identifier,
    check_path,
    module_path,
)
from app.core.grouping import Block, BlockClass, Group, block, collapse, find_groups
from app.core.layer_code import CodegenError, Writer, call, literal_code, tensor_constructor
from app.core.param_count import formula_parameters
from app.core.shapes import NodeResult

__all__ = ["CodegenError", "constructor_call", "generate_code", "reading_order",
           "redundant_keywords"]

INDENT = "    "
MAX_LINE = 88  # ruff's and black's default, so the file is clean under a user's own settings
MAIN_VAR = "x"  # the value flowing down the main path, as torchvision's forward() names it
# Torch constructors whose leading required arguments torchvision writes by keyword anyway.
KEYWORD_STYLE = frozenset({"kernel_size"})


# -- reading order and variable names ------------------------------------------------------

def reading_order(doc: NetworkDocument) -> list[str]:
    """A topological order that follows each chain to its end before starting a branch, so
    a residual block or an Inception branch reads as one run of lines. Ties are broken by
    the document's own (lexicographic) topological order, which keeps the output stable.
    A learnable tensor comes just before its first reader, as torchvision reads
    `self.layer_scale` where it uses it."""
    rank = {name: i for i, name in enumerate(doc.topological_order())}
    tensors = {name for name in rank if doc.node(name).spec.holds_tensor}
    waiting = {name: sum(e.src not in tensors for e in doc.incoming(name).values())
               for name in rank}
    ready = {name for name, n in waiting.items() if n == 0 and name not in tensors}
    order: list[str] = []
    placed: set[str] = set()
    while ready:
        followers = [e.dst for e in doc.outgoing(order[-1])] if order else []
        preferred = [n for n in followers if n in ready]
        pick = min(preferred or ready, key=rank.__getitem__)
        ready.remove(pick)
        incoming = doc.incoming(pick)
        for port in doc.node(pick).input_ports():
            source = incoming[port].src if port in incoming else None
            if source in tensors and source not in placed:
                placed.add(source)
                order.append(source)
        order.append(pick)
        for edge in doc.outgoing(pick):
            waiting[edge.dst] -= 1
            if waiting[edge.dst] == 0:
                ready.add(edge.dst)
    return order + sorted(tensors - placed, key=rank.__getitem__)


@dataclass(frozen=True)
class Flow:
    """Which variable holds each (node, port) value, in reading order."""

    statements: list[str]  # nodes that become lines of forward(), in order
    inputs: list[str]  # Input nodes, in the order the compiled module takes them
    outputs: list[tuple[str, str]]  # (node, port) returned, in the compiled order
    names: dict[tuple[str, str], str]


def _plan(doc: NetworkDocument, named: frozenset[str] = frozenset()) -> Flow:
    """Name every value. A value read only by the very next line lives in `x` (so a chain
    reads `x = self.conv1(x)`); a value read later or more than once (a skip connection,
    a branch point) keeps its node's name; an unread one goes to `_`. The `named` nodes
    always keep their name: an import reads an inline op's name from its variable."""
    inputs = doc.ends(Role.INPUT)
    outputs = network_outputs(doc)
    statements = [n for n in reading_order(doc) if doc.node(n).spec.has_module]
    following = dict(zip(statements, [*statements[1:], None]))
    following |= {n: statements[0] if statements else None for n in inputs}
    taken = {n.name for n in doc.nodes} | {MAIN_VAR, "out", "_"}
    given = _given_port_names(doc, taken)
    taken |= set(given.values())
    names: dict[tuple[str, str], str] = {}
    input_in_main = False
    for name in [*inputs, *statements]:
        ports = doc.node(name).output_ports()
        for port in ports:
            # an Output node is the `return`, not a line that reads the value
            readers = [e.dst for e in doc.outgoing(name) if e.src_port == port
                       and doc.node(e.dst).spec.role is not Role.OUTPUT]
            returned = (name, port) in outputs
            flows_on = len(ports) == 1 and name not in named and (
                (len(readers) == 1 and readers[0] == following[name] and not returned)
                or (not readers and returned and len(outputs) == 1
                    and following[name] is None))
            if name in inputs:  # at most one input can arrive as `x`
                flows_on, input_in_main = flows_on and not input_in_main, input_in_main or flows_on
            if flows_on:
                names[(name, port)] = MAIN_VAR
            elif not readers and not returned:
                names[(name, port)] = "_"
            else:
                names[(name, port)] = given.get((name, port)) or _port_variable(name, port,
                                                                                taken)
    return Flow(statements, inputs, outputs, names)


# What torch.fx names the call a line makes (`x + y` -> add), as its node names do.
_OPERATOR_NAMES = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv",
                   ast.MatMult: "matmul"}


def _traced_name(spec: LayerSpec, resolved: dict[str, Any], inputs: int) -> str | None:
    """The name torch.fx gives the last call of an inline op's line (`torch.cat` -> cat)."""
    lines = _writer(spec)("self.op", resolved, [f"a{i}" for i in range(inputs)], ["y"])
    value = getattr(ast.parse(lines[-1]).body[-1], "value", None)
    if isinstance(value, ast.BinOp):
        return _OPERATOR_NAMES.get(type(value.op))
    if isinstance(value, ast.Subscript):
        return "getitem"
    func = value.func if isinstance(value, ast.Call) else None
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _named_ops(doc: NetworkDocument, results: dict[str, NodeResult]) -> frozenset[str]:
    """Inline ops whose name is not the one an import gives them (torch.fx's name for the
    call): their line assigns a variable of that name, so `block1_cat = torch.cat(...)`
    comes back as block1_cat, where `x = torch.cat(...)` would come back as cat."""
    return frozenset(
        node.name for node in doc.nodes
        if node.spec.has_module and not node.spec.is_torch_layer and node.name != _traced_name(
            node.spec, results[node.name].resolved, len(node.input_ports())))


def _given_port_names(doc: NetworkDocument, taken: set[str]) -> dict[tuple[str, str], str]:
    """The extra outputs' own variable names (`k, v` of `q, k, v = x.chunk(3)`), each used
    where no node and no other output has it."""
    given: dict[tuple[str, str], str] = {}
    for node in doc.nodes:
        for port, variable in node.port_names.items():
            if variable not in taken and variable not in given.values():
                given[(node.name, port)] = variable
    return given


def _port_variable(name: str, port: str, taken: set[str]) -> str:
    """The node's own name for its main output (node names are unique and never clash with
    `x`/`out`, which are reserved); a fresh `<name>_<port>` for an extra output."""
    if port == "out":
        return name
    candidate, i = f"{name}_{port}", 2
    while candidate in taken:
        candidate, i = f"{name}_{port}{i}", i + 1
    taken.add(candidate)
    return candidate


# -- literals and constructor calls -----------------------------------------------------------

_REQUIRED = inspect.Parameter.empty


def _rnn_signature() -> list[tuple[str, Any]]:
    # nn.LSTM/GRU/RNN take *args; their real signature is RNNBase's minus `mode`, and RNN
    # adds `nonlinearity` (torch reads it from kwargs, default "tanh").
    params = inspect.signature(nn.RNNBase.__init__).parameters.values()
    out = [(p.name, p.default) for p in params if p.name not in ("self", "mode")]
    return out[:3] + [("nonlinearity", "tanh")] + out[3:]


def torch_signature(cls: type) -> list[tuple[str, Any]]:
    """(name, default) of a torch layer's constructor arguments, in order."""
    if issubclass(cls, nn.RNNBase):
        return _rnn_signature()
    params = inspect.signature(cls.__init__).parameters.values()
    return [(p.name, p.default) for p in params
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def argument_code(value: Any) -> str:
    """A constructor argument from `LayerSpec.ctor_kwargs`: tuples as tuples, the lists a
    layer must get as lists as lists, torch.nn classes by name (`nn.SiLU`)."""
    if isinstance(value, type) and value.__module__.startswith("torch.nn."):
        return f"nn.{value.__name__}"
    return literal_code(value, tuples=False)


def _is_default(value: Any, default: Any) -> bool:
    if default is _REQUIRED or isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, (tuple, list)) and isinstance(value, (tuple, list)):
        return tuple(value) == tuple(default)
    return type(value) is not tuple and value == default


def constructor_call(spec: LayerSpec, resolved: dict[str, Any],
                     symbols: dict[str, str] | None = None) -> str:
    """`nn.Conv2d(1, 6, kernel_size=5, padding=2)`: torch's required leading arguments
    positionally, everything else by keyword and only when it differs from torch's default.
    `symbols` names block-class arguments that replace values (`out_channels`)."""
    kwargs = spec.ctor_kwargs(resolved)
    symbols = symbols or {}
    implied = redundant_keywords(spec, resolved)
    signature = torch_signature(spec.module_class())
    args: list[str] = []
    positional = True
    for name, default in signature:
        if name not in kwargs:
            continue
        positional = positional and default is _REQUIRED and name not in KEYWORD_STYLE
        value = kwargs.pop(name)
        text = symbols.get(name) or argument_code(value)
        if positional:
            args.append(text)
        elif name in symbols or not (_is_default(value, default) or name in implied):
            args.append(f"{name}={text}")
    args += [f"{name}={argument_code(value)}" for name, value in kwargs.items()]
    return f"{spec.code_name}({', '.join(args)})"


def _settings(module: nn.Module) -> dict[str, Any]:
    return {k: v for k, v in vars(module).items() if not k.startswith("_")
            and k != "training" and not isinstance(v, (torch.Tensor, nn.Module))}


def redundant_keywords(spec: LayerSpec, resolved: dict[str, Any]) -> frozenset[str]:
    """Arguments whose torch default None makes the layer derive the same value itself
    (MaxPool2d's stride from kernel_size): torch keeps no trace of whether they were
    given, so export leaves them out and import leaves them unset, one form for both."""
    given = [p.name for p in spec.params if p.default is None and not p.auto
             and not p.graph_only and resolved.get(p.name) is not None]
    if not given or not spec.is_torch_layer or any(
            resolved.get(p.name) is None for p in spec.params if p.auto):
        return frozenset()
    with torch.device("meta"):
        built = _settings(spec.build(resolved))
        return frozenset(name for name in given
                         if _settings(spec.build(resolved | {name: None})) == built)


def is_positional(spec: LayerSpec, kwarg: str) -> bool:
    """Whether constructor_call writes `kwarg` positionally."""
    for name, default in torch_signature(spec.module_class()):
        if default is not _REQUIRED or name in KEYWORD_STYLE:
            return False
        if name == kwarg:
            return True
    return False


# -- forward() lines --------------------------------------------------------------------------

def _optional(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
    """A block's optional branch (torchvision's `downsample`): skipped when None."""
    return [f"{outs[0]} = {args[0]} if {ref} is None else {ref}({args[0]})"]


def _writer(spec: LayerSpec) -> Writer:
    if spec.code is not None:
        return spec.code
    if not spec.is_torch_layer:
        raise CodegenError(f"no code template for {spec.type} nodes")
    return call


# -- line wrapping ---------------------------------------------------------------------------

def _split_arguments(text: str) -> list[str]:
    """Split at top-level commas (values are literals and names: no quotes hold brackets)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def fit(line: str, indent: str, width: int = MAX_LINE - len(INDENT)) -> list[str]:
    """Black-style wrapping of one `target = call(args)` line that is too long: the
    arguments on their own line, or one per line when even that is too long. `width`
    leaves room for the class body's indentation, added later."""
    value = line.find(" = ") + 3 if " = " in line else 0  # the call is on the right
    if len(indent + line) <= width or not line.endswith(")") or "(" not in line[value:]:
        return [indent + line]
    opening = line.index("(", value)
    head, inner = line[:opening], line[opening + 1:-1]
    one_line = indent + INDENT + inner
    if len(one_line) <= width:
        return [f"{indent}{head}(", one_line, f"{indent})"]
    lines = [f"{indent}{head}("]
    for arg in _split_arguments(inner):  # a nested call too long for its line is wrapped too
        wrapped = fit(arg, indent + INDENT, width)
        lines += [*wrapped[:-1], wrapped[-1] + ","]
    return [*lines, f"{indent})"]


# -- the file -------------------------------------------------------------------------------

def _clean_text(text: str, limit: int = 80) -> str:
    """Free text for a docstring or comment: letters, digits and plain punctuation only, so
    it can never close the string or start code. Cleaning its own result changes nothing,
    so a title read back from an exported file exports the same."""
    cleaned = re.sub(r"[^A-Za-z0-9 .,:;()+\-/&'’×]", " ", text)
    return re.sub(r"\s+", " ", cleaned).strip()[:limit].strip().replace("'", "’") or "Network"


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(["batch", *map(str, shape)])


def _groups(names: list[str]) -> dict[str, str]:
    """Runs of three or more consecutive layers sharing a name prefix (layer1_0_..., incep1_...)
    get a comment header: name of the first layer -> header text."""
    headers: dict[str, str] = {}
    i = 0
    while i < len(names):
        prefix = names[i].split("_")[0]
        j = i
        while j < len(names) and names[j].split("_")[0] == prefix and "_" in names[j]:
            j += 1
        if j - i >= 3:
            headers[names[i]] = prefix
        i = max(j, i + 1)
    return headers


# -- containers and block classes --------------------------------------------------------------

@dataclass
class Arg:
    """A block-class constructor argument: a value that differs between the instances."""

    name: str
    hint: str
    positional: bool
    uses: list[tuple[str, str]]  # (node, constructor keyword) in the class body
    values: list[Any]  # one per instance


@dataclass
class Scope:
    """One class body: its document, which groups its layers form and how to refer to
    them. Groups are planned as single nodes (`collapse`), so forward() calls them once."""

    doc: NetworkDocument
    results: dict[str, NodeResult]
    groups: dict[str, Group]
    flow: Flow
    instances: dict[str, list[tuple[BlockClass, Block]]]  # "blocks" group -> its blocks
    symbols: dict[str, dict[str, str]] = field(default_factory=dict)
    optional: str | None = None  # a group passed in as a constructor argument


def _scope(doc: NetworkDocument, results: dict[str, NodeResult],
           classes: list[BlockClass] | None) -> Scope:
    """`classes` collects block classes; None (inside a block class) keeps blocks flat."""
    groups: dict[str, Group] = {}
    instances = {}
    for group in find_groups(doc, reading_order(doc)):
        if group.kind == "blocks":
            blocks = [block(doc, results, nodes) for nodes in group.blocks]
            if classes is None or None in blocks:
                continue
            instances[group.attr] = [(_place(classes, b), b) for b in blocks]
        groups[group.attr] = group
    flow = _plan(collapse(doc, list(groups.values())), _named_ops(doc, results))
    return Scope(doc, results, groups, flow, instances)


def _place(classes: list[BlockClass], new: Block) -> BlockClass:
    found = next((c for c in classes if c.accepts(new)), None)
    if found is None:
        found = BlockClass("Block" if not classes else f"Block{len(classes) + 1}", new, [new])
        classes.append(found)
    return found


def _type_hint(values: list[Any]) -> str:
    names = {"tuple": "tuple[int, ...]", "list": "list[int]", "NoneType": "None",
             "type": "type[nn.Module]"}
    kinds = dict.fromkeys(names.get(type(v).__name__, type(v).__name__) for v in values)
    return " | ".join(kinds)


def _class_args(cls: BlockClass) -> list[Arg]:
    """Constructor values that differ between the instances, one argument per distinct
    column (a block's conv2.in_channels equals its conv1.out_channels: one argument)."""
    template = cls.template
    branch = f"{cls.optional}." if cls.optional else None
    args: dict[str, Arg] = {}
    for name in reading_order(template.doc):
        node = template.doc.node(name)
        if not node.spec.is_torch_layer or (branch and module_path(node).startswith(branch)):
            continue
        for kwarg in node.spec.ctor_kwargs(template.results[name].resolved):
            values = [b.doc.node(name).spec.ctor_kwargs(b.results[name].resolved)[kwarg]
                      for b in cls.instances]
            if len({repr(v) for v in values}) < 2:
                continue
            same = next((a for a in args.values() if a.values == values), None)
            if same is not None:
                same.uses.append((name, kwarg))
                continue
            arg_name = kwarg if kwarg not in args else f"{name}_{kwarg}"
            args[arg_name] = Arg(arg_name, _type_hint(values),
                                 is_positional(node.spec, kwarg), [(name, kwarg)], values)
    return sorted(args.values(), key=lambda a: not a.positional)


def _def_line(name: str, params: list[str], returns: str) -> list[str]:
    line = f"def {name}({', '.join(['self', *params])}) -> {returns}:"
    if len(INDENT * 2 + line) <= MAX_LINE:
        return [line]
    return [f"def {name}(", *[f"{INDENT}{p}," for p in ["self", *params]], f") -> {returns}:"]


def _class_lines(cls: BlockClass, args: list[Arg], users: list[str]) -> list[str]:
    scope = _scope(cls.template.doc, cls.template.results, None)
    scope.symbols = {}
    for arg in args:
        for node, kwarg in arg.uses:
            scope.symbols.setdefault(node, {})[kwarg] = arg.name
    scope.optional = cls.optional
    params = [f"{a.name}: {a.hint}" for a in args]
    if cls.optional:
        params.append(f"{cls.optional}: nn.Module | None = None")
    body = ['"""The repeated block of ' + ", ".join(users) + '."""', ""]
    body += _def_line("__init__", params, "None") + [f"{INDENT}super().__init__()"]
    init, refs = _init_lines(scope)
    body += init + [""] + _forward_lines(scope, refs)
    return [f"class {cls.name}(nn.Module):", *[INDENT + line if line else "" for line in body]]


def _sequential(scope: Scope, group: Group) -> str:
    calls = [constructor_call(scope.doc.node(n).spec, scope.results[n].resolved,
                              scope.symbols.get(n)) for n in group.nodes]
    return f"nn.Sequential({', '.join(calls)})"


def _instance(cls: BlockClass, args: list[Arg], b: Block) -> str:
    i = cls.instances.index(b)
    values = [argument_code(a.values[i]) if a.positional
              else f"{a.name}={argument_code(a.values[i])}" for a in args]
    branch = next((g for g in find_groups(b.doc, reading_order(b.doc))
                   if g.attr == cls.optional), None)
    if branch is not None:
        values.append(f"{branch.attr}={_sequential(_scope(b.doc, b.results, None), branch)}")
    return f"{cls.name}({', '.join(values)})"


def _group_init(scope: Scope, group: Group, args: dict[str, list[Arg]]) -> str:
    if group.attr == scope.optional:
        return f"self.{group.attr} = {group.attr}"
    if group.kind == "sequential":
        return f"self.{group.attr} = {_sequential(scope, group)}"
    blocks = [_instance(cls, args[cls.name], b) for cls, b in scope.instances[group.attr]]
    return f"self.{group.attr} = nn.Sequential({', '.join(blocks)})"


class Containers:
    """Flat-style layers at nested paths: the containers are made on first use, as the
    compiler makes them (nn.Sequential when every child is numbered, else nn.Module)."""

    def __init__(self, paths: list[str]) -> None:
        self.kids: dict[str, set[str]] = {}
        for path in paths:
            parts = path.split(".")
            for depth in range(1, len(parts)):
                self.kids.setdefault(".".join(parts[:depth]), set()).add(parts[depth])
        self.refs: dict[str, str] = {"": "self"}
        self.count: dict[str, int] = {}

    def lines(self, path: str, call: str) -> list[str]:
        """Create the missing containers on `path`, then put `call` at it."""
        parts = path.split(".")
        made = []
        for depth in range(1, len(parts) + 1):
            here = ".".join(parts[:depth])
            if here in self.refs:
                continue
            value = call if depth == len(parts) else (
                "nn.Sequential()" if all(k.isdigit() for k in self.kids[here]) else "nn.Module()")
            made.append(self._attach(".".join(parts[:depth - 1]), parts[depth - 1], value))
        return made

    def _attach(self, outer: str, key: str, value: str) -> str:
        parent = self.refs[outer]
        here = f"{outer}.{key}" if outer else key
        position = self.count.get(outer, 0)
        self.count[outer] = position + 1
        if not key.isdigit():
            self.refs[here] = f"{parent}.{key}"
            return f"{parent}.{key} = {value}"
        if int(key) == position:  # appended in order, so self.x[k] finds it
            self.refs[here] = f"{parent}[{key}]"
            return f"{parent}.append({value})"
        self.refs[here] = f'getattr({parent}, "{key}")'
        return f'{parent}.add_module("{key}", {value})'


def _init_lines(scope: Scope, args: dict[str, list[Arg]] | None = None
                ) -> tuple[list[str], dict[str, str]]:
    """__init__'s body and each forward() statement's module reference."""
    doc, flow = scope.doc, scope.flow
    layers = [n for n in flow.statements if n in scope.groups
              or doc.node(n).spec.is_torch_layer or doc.node(n).spec.holds_tensor]
    containers = Containers([module_path(doc.node(n)) for n in layers if n not in scope.groups])
    headers = _groups(layers)
    lines: list[str] = []
    for name in layers:
        if name in headers:
            lines += ["", f"{INDENT}# {headers[name]}"]
        if name in scope.groups:
            made = [_group_init(scope, scope.groups[name], args or {})]
        else:
            node = doc.node(name)
            resolved = scope.results[name].resolved
            call = (tensor_constructor(resolved) if node.spec.holds_tensor else
                    constructor_call(node.spec, resolved, scope.symbols.get(name)))
            made = containers.lines(module_path(node), call)
        lines += [out for line in made for out in fit(line, INDENT)]
    refs = {n: f"self.{n}" if n in scope.groups else containers.refs.get(
        module_path(doc.node(n)), "") for n in flow.statements}
    return lines, refs


def _forward_lines(scope: Scope, refs: dict[str, str]) -> list[str]:
    flow, flat = scope.flow, collapse(scope.doc, list(scope.groups.values()))
    params = [f"{flow.names[(n, 'out')]}: torch.Tensor" for n in flow.inputs]
    returns = "torch.Tensor" if len(flow.outputs) == 1 else "tuple[torch.Tensor, ...]"
    lines = _def_line("forward", params, returns)
    headers = _groups(flow.statements)
    for name in flow.statements:
        if name in headers and len(lines) > 1:
            lines += ["", f"{INDENT}# {headers[name]}"]
        node = flat.node(name)
        incoming = flat.incoming(name)
        args = [flow.names[(incoming[p].src, incoming[p].src_port)] for p in node.input_ports()]
        outs = [flow.names[(name, p)] for p in node.output_ports()]
        if name in scope.groups:
            write, resolved = (_optional if name == scope.optional else call), {}
        else:
            write, resolved = _writer(node.spec), scope.results[name].resolved
        for line in write(refs[name], resolved, args, outs):
            lines += fit(line, INDENT)
    lines.append(f"{INDENT}return {', '.join(flow.names[ref] for ref in flow.outputs)}")
    return lines


def _example_input(shape: tuple[int, ...], dtype: str, doc: NetworkDocument, var: str) -> str:
    if dtype == "int64":
        return f"torch.randint(0, {literal_code(token_limit(doc))}, (2, *{var}))"
    return f"torch.randn(2, *{var})"


def _main_lines(doc: NetworkDocument) -> list[str]:
    specs = input_specs(doc)
    lines = ["def main() -> None:", f"{INDENT}model = build_model().eval()", f"{INDENT}print(model)",
             f"{INDENT}n_params = sum(p.numel() for p in model.parameters())",
             f'{INDENT}print(f"parameters: {{n_params:,}}")']
    if len(specs) == 1:
        lines.append(f"{INDENT}inputs = [{_example_input(*specs[0], doc, 'INPUT_SHAPE')}]")
    else:
        made = [_example_input(s, d, doc, f"INPUT_SHAPES[{i}]") for i, (s, d) in
                enumerate(specs)]
        lines.append(f"{INDENT}inputs = [{', '.join(made)}]")
    lines += [f"{INDENT}with torch.no_grad():", f"{INDENT * 2}outputs = model(*inputs)",
              f"{INDENT}if isinstance(outputs, torch.Tensor):", f"{INDENT * 2}outputs = (outputs,)",
              f"{INDENT}shapes_in = [tuple(t.shape) for t in inputs]",
              f"{INDENT}shapes_out = [tuple(t.shape) for t in outputs]",
              f'{INDENT}print(f"forward pass: {{shapes_in}} -> {{shapes_out}}")']
    return lines


def _input_constants(doc: NetworkDocument) -> list[str]:
    specs = input_specs(doc)
    if len(specs) == 1:
        shape = literal_code(specs[0][0])
        return [f"INPUT_SHAPE = {shape}  # one sample; the batch dimension comes first"]
    shapes = ", ".join(literal_code(s) for s, _ in specs)
    return [f"INPUT_SHAPES = ({shapes},)  # one per input, without the batch dimension"]


def _class_docstring(doc: NetworkDocument, flow: Flow, results: dict[str, NodeResult],
                     title: str) -> list[str]:
    inputs = [f"{_shape_text(tuple(doc.node(n).params['shape']))} "
              f"({doc.node(n).params['dtype']})" for n in flow.inputs]
    outputs = [_shape_text(results[node].outputs[port]) for node, port in network_outputs(doc)]
    return ['"""' + title, "",
            f"Input: {'; '.join(inputs)}",
            f"Output: {'; '.join(outputs)}",
            f"Parameters: {formula_parameters(doc, results):,}",
            '"""']


def _check_names(doc: NetworkDocument) -> None:
    for node in doc.nodes:
        try:
            check_identifier(node.name)
            if node.path is not None:
                check_path(node.path)
        except DocumentError as exc:
            raise CodegenError(str(exc)) from None


def generate_code(doc: NetworkDocument, title: str = "Network") -> str:
    """The standalone module's source. Raises CompileError when the network has errors."""
    _check_names(doc)
    results = check_compilable(doc)
    classes: list[BlockClass] = []
    scope = _scope(doc, results, classes)
    args = {cls.name: _class_args(cls) for cls in classes}
    title = _clean_text(title)
    init, refs = _init_lines(scope, args)
    body = _class_docstring(doc, scope.flow, results, title) + [""]
    body += ["def __init__(self) -> None:", f"{INDENT}super().__init__()"]
    body += init + [""] + _forward_lines(scope, refs)
    blocks = []
    for cls in classes:
        users = [attr for attr, pairs in scope.instances.items() if any(
            c is cls for c, _ in pairs)]
        blocks += [*_class_lines(cls, args[cls.name], users), "", ""]
    # torchvision's own layers (StochasticDepth, Swin's) are the one reason to import it
    vision = any(n.spec.code_name.startswith("torchvision.") for n in doc.nodes
                 if n.spec.is_torch_layer)
    lines = [
        f'"""{title}', "", "A standalone PyTorch model exported by TorchCanvas.",
        *(["Needs torch and torchvision (for its torchvision layers). Run it as a script",
           "to print a summary and do a dummy forward pass;"] if vision else
          ["Needs only torch. Run it as a script to print a summary and do a dummy forward pass;"]),
        "`build_model()` returns the network; its state_dict keys match the app's checkpoints.",
        '"""', "", "import torch", *(["import torchvision"] if vision else []),
        "from torch import nn", "",
        *_input_constants(doc), "", "",
        *blocks,
        "class Net(nn.Module):",
        *[INDENT + line if line else "" for line in body], "", "",
        "def build_model() -> Net:", f"{INDENT}return Net()", "", "",
        *_main_lines(doc), "", "",
        'if __name__ == "__main__":', f"{INDENT}main()",
    ]
    return "\n".join(lines) + "\n"
