"""How a traced functional call or tensor method becomes a layer: a spec's `traced` entry.

The importer reads torch.nn modules by class; calls such as `F.relu(x)`, `torch.cat`,
`x + y` or `x.view(x.size(0), -1)` are found through the catalogue: each entry lists
the dotted names of the functions and the tensor methods that are it, and the hook that
reads the call's arguments into its parameters (by default `functional`: the arguments
after the input, in torch's order, name the layer's parameters). Nothing here imports
torch: the names are resolved by the importer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch.fx

    from app.core.catalogue import LayerSpec
    from app.core.importer import Context


class Unsupported(Exception):
    """One operation has no TorchCanvas equivalent; the message names it."""


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
    """x.size(0) / x.shape[0]: only meaningful as the first argument of view/reshape, or
    of expand, which reads it from `source` (the tensor x)."""

    source: Port | None = None


@dataclass(frozen=True)
class Sizes:
    """x.size() / x.shape: the batch, then the sample's sizes, known from shape inference
    of the document built so far (ShuffleNet's channel shuffle reshapes with them)."""

    sample: tuple[int, ...]
    source: Port | None = None

    def __getitem__(self, index: int | slice) -> Any:
        return (BatchSize(self.source), *self.sample)[index]


UNKNOWN = object()

# (the layer's spec, the tracing context, the fx node of the call) -> the new node's output
Hook = Callable[["LayerSpec", "Context", "torch.fx.Node"], Port]
# a built module -> its constructor arguments, where it keeps them in its sublayers
Reader = Callable[[Any], dict[str, Any]]


def hint(node: torch.fx.Node) -> str:
    """A name for a functional op: fx's own (`add`, `flatten`) prefixed with the path of the
    module whose forward() did it, so `out += identity` in layer1.0 becomes layer1_0_add."""
    stack = node.meta.get("nn_module_stack") or {}
    owner = next(reversed(stack), "") if stack else ""
    base = re.sub(r"_\d+$", "", node.name)
    return f"{owner}.{base}" if owner else base


def target_name(node: torch.fx.Node) -> str:
    if node.op == "call_method":
        return f"x.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    return f"{module}.{name}" if module and module != "_operator" else f"operator.{name}"


# Arguments that change nothing in the graph: in-place flags, the training flag that fx
# freezes at trace time (nn.Dropout follows train/eval mode instead), softmax's dtype=None.
IGNORED_ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "inplace": (True, False), "training": (True, False), "_stacklevel": (3, 5), "dtype": (None,),
    "antialias": (False,),  # F.interpolate's default, which nn.Upsample uses
}


def functional(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """A call like F.max_pool2d(x, 2, stride=1): its arguments after the input, in the
    order `spec.traced.args` gives, and its keywords are the layer's parameters."""
    source = ctx.tensor(node.args[0])
    given = dict(zip(spec.traced.args, ctx.value(node.args[1:])))
    given |= {k: ctx.value(v) for k, v in node.kwargs.items()}
    known = {p.name for p in spec.params}
    params = {}
    for key, value in given.items():
        if key in known:
            params[key] = list(value) if isinstance(value, tuple) else value
        elif key not in IGNORED_ARGUMENTS or value not in IGNORED_ARGUMENTS[key]:
            raise Unsupported(f"{target_name(node)}({key}={value!r})")
    return ctx.add(spec.type, params, hint(node), [source])


def merge(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x + y, torch.mul(x, y): every argument is an input of the merge."""
    if node.kwargs:
        raise Unsupported(f"{target_name(node)} with {', '.join(node.kwargs)}")
    values = [ctx.value(a) for a in node.args]
    if not all(isinstance(v, Port) or v is UNKNOWN for v in values):
        raise Unsupported(f"{target_name(node)} with a constant")
    inputs = [ctx.tensor(a) for a in node.args]
    return ctx.add(spec.type, {}, hint(node), inputs)


def cat(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """torch.cat(tensors, dim); a list of one tensor (DenseNet's first layer of a block)
    is that tensor."""
    tensors = node.args[0] if node.args else node.kwargs["tensors"]
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    inputs = [ctx.tensor(t) for t in tensors]
    if len(inputs) == 1:
        return inputs[0]
    return ctx.add(spec.type, {"num_inputs": len(inputs), "dim": dim}, hint(node), inputs)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def product(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x * y is a Multiply; x * 0.5 or 0.5 * x a Scale by that factor."""
    values = [ctx.value(a) for a in node.args]
    if len(values) == 2 and not node.kwargs and any(_number(v) for v in values):
        factor = next(v for v in values if _number(v))
        tensor = next(a for a, v in zip(node.args, values) if not _number(v))
        return ctx.add("Scale", {"factor": float(factor)}, hint(node), [ctx.tensor(tensor)])
    return merge(spec, ctx, node)


def quotient(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x / 8.0, torch.div(x, math.sqrt(d)): a Scale that divides by the constant."""
    divisor = ctx.value(node.args[1]) if len(node.args) == 2 else None
    if node.kwargs or not _number(divisor):
        raise Unsupported(f"{target_name(node)} by anything but a constant number")
    return ctx.add(spec.type, {"factor": float(divisor), "divide": True}, hint(node),
                   [ctx.tensor(node.args[0])])


def stack(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """torch.stack(tensors, dim)."""
    tensors = node.args[0] if node.args else node.kwargs["tensors"]
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    if len(tensors) < 2:
        raise Unsupported(f"{target_name(node)} of a single tensor (an unsqueeze)")
    inputs = [ctx.tensor(t) for t in tensors]
    return ctx.add(spec.type, {"num_inputs": len(inputs), "dim": dim}, hint(node), inputs)


# F.scaled_dot_product_attention's arguments after query, key and value, in order
_ATTENTION_ARGS = ("attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
_ATTENTION_UNSET = {"attn_mask": None, "enable_gqa": False}


def attention_call(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """F.scaled_dot_product_attention(q, k, v, ...): without a mask or grouped heads."""
    given = dict(zip(_ATTENTION_ARGS, ctx.value(node.args[3:])))
    given |= {k: ctx.value(v) for k, v in node.kwargs.items()}
    for key, unset in _ATTENTION_UNSET.items():
        if key in given and given.pop(key) != unset:
            raise Unsupported(f"{target_name(node)} with {key}")
    if set(given) - {"dropout_p", "is_causal", "scale"}:
        raise Unsupported(f"{target_name(node)} with {', '.join(sorted(given))}")
    inputs = [ctx.tensor(a) for a in node.args[:3]]
    return ctx.add(spec.type, given, hint(node), inputs)


def reduction(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x.mean(dims, keepdim): without dims it would average the batch too. Dims are kept
    as written, except negative ones beyond a single -1, which are counted from the end of
    the input (whose rank the import knows)."""
    given = dict(zip(("dim", "keepdim", "dtype"), ctx.value(node.args[1:])))
    given |= {k: ctx.value(v) for k, v in node.kwargs.items()}
    if given.get("dim") is None:
        raise Unsupported(f"{target_name(node)} over every dimension (the batch included)")
    if set(given) - {"dim", "keepdim", "dtype"} or given.get("dtype") is not None:
        raise Unsupported(f"{target_name(node)} with {', '.join(sorted(given))}")
    dims = list(given["dim"]) if isinstance(given["dim"], (list, tuple)) else [given["dim"]]
    if any(d < -1 for d in dims) or dims.count(-1) > 1:  # a Mean node holds at most one -1
        full = len(ctx.sizes(node.args[0]).sample) + 1
        dims = [d % full for d in dims]
    return ctx.add(spec.type, {"dim": dims, "keepdim": bool(given.get("keepdim", False))},
                   hint(node), [ctx.tensor(node.args[0])])


def permute(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x.permute(0, 2, 3, 1), x.permute([0, 2, 3, 1]), torch.permute(x, dims=...)."""
    dims = ctx.value(node.args[1:]) or (ctx.value(node.kwargs.get("dims")),)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    if not all(isinstance(d, int) for d in dims):
        raise Unsupported(f"{target_name(node)} with computed dims")
    if not dims or dims[0] != 0:
        raise Unsupported(f"{target_name(node)}{tuple(dims)} that moves the batch dimension")
    full = len(dims)
    return ctx.add(spec.type, {"dims": [d % full for d in dims[1:]]}, hint(node),
                   [ctx.tensor(node.args[0])])


def swap(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x.transpose(1, 2); swapping the batch (dim 0) with another dimension has no node."""
    dims = [*ctx.value(node.args[1:]), *(ctx.value(node.kwargs.get(k)) for k in ("dim0", "dim1")
                                         if k in node.kwargs)]
    if 0 in dims:
        raise Unsupported(f"{target_name(node)}({', '.join(map(repr, dims))}) that moves the "
                          "batch dimension")
    return functional(spec, ctx, node)


def split(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Packed:
    """x.chunk(2, dim=1): one output per piece, which fx reads back by indexing."""
    port = functional(spec, ctx, node)
    params = ctx.doc.node(port.node).params
    return Packed(tuple(Port(port.node, name) for name in spec.output_ports(params)))


def split_sizes(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Packed:
    """x.split(2, dim=1), torch.split(x, [16, 48], 1): as many outputs as pieces, which a
    split size makes from the input's size."""
    given = dict(zip(("split_size_or_sections", "dim"), ctx.value(node.args[1:])))
    given |= {"split_size_or_sections" if k == "split_size" else k: ctx.value(v)
              for k, v in node.kwargs.items()}
    if set(given) - {"split_size_or_sections", "dim"}:
        raise Unsupported(f"{target_name(node)} with {', '.join(sorted(given))}")
    sections, dim = given["split_size_or_sections"], given.get("dim", 0)
    if isinstance(sections, (tuple, list)):
        sections, pieces = list(sections), len(sections)
    elif isinstance(sections, int):
        size = ctx.sizes(node.args[0])[dim]
        if not isinstance(size, int):
            raise Unsupported(f"{target_name(node)} that splits the batch dimension")
        pieces = max(1, -(-size // sections))
    else:
        raise Unsupported(f"{target_name(node)} with computed sizes")
    port = ctx.add(spec.type, {"split_size_or_sections": sections, "dim": dim,
                               "pieces": pieces}, hint(node), [ctx.tensor(node.args[0])])
    params = ctx.doc.node(port.node).params
    return Packed(tuple(Port(port.node, name) for name in spec.output_ports(params)))


def reshape(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """x.view(x.size(0), ...) / x.reshape(-1, ...): the batch dimension must stay first."""
    source = ctx.tensor(node.args[0])
    dims = ctx.value(node.args[1:])
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not dims or not (isinstance(dims[0], BatchSize) or dims[0] == -1) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in dims[1:]):
        raise Unsupported(f"{target_name(node)} that does not keep the batch dimension")
    if dims[0] == -1 and -1 in dims[1:]:
        raise Unsupported(f"{target_name(node)}(-1, ..., -1)")
    return ctx.add(spec.type, {"shape": list(dims[1:])}, hint(node), [source])


# -- modules that keep their constructor arguments in their sublayers -------------------------

def _class_name(module: Any) -> str:
    """torch.nn's layers by class name (what the catalogue's choices list); anything else
    by its full name, which no choice matches, so the import names it."""
    cls = type(module)
    return cls.__name__ if cls.__module__.startswith("torch.nn.") else cls.__qualname__


def squeeze_excitation(module: Any) -> dict[str, Any]:
    """torchvision.ops.SqueezeExcitation: its sizes are its 1×1 convolutions'."""
    return {"input_channels": module.fc1.in_channels,
            "squeeze_channels": module.fc1.out_channels,
            "activation": _class_name(module.activation),
            "scale_activation": _class_name(module.scale_activation)}


def window_attention(module: Any) -> dict[str, Any]:
    """torchvision's ShiftedWindowAttention(V2): dim and the biases are its projections'."""
    return {"dim": module.qkv.in_features, "window_size": list(module.window_size),
            "shift_size": list(module.shift_size), "num_heads": module.num_heads,
            "qkv_bias": module.qkv.bias is not None, "proj_bias": module.proj.bias is not None,
            "attention_dropout": module.attention_dropout, "dropout": module.dropout}


def relative_attention(module: Any) -> dict[str, Any]:
    """torchvision's MaxViT attention: feat_dim is its projection's input size."""
    return {"feat_dim": module.to_qkv.in_features, "head_dim": module.head_dim,
            "max_seq_len": module.max_seq_len}


def patch_merging(module: Any) -> dict[str, Any]:
    """torchvision's PatchMerging(V2) with its default norm_layer, nn.LayerNorm."""
    norm = module.norm
    if (_class_name(norm) != "LayerNorm" or norm.eps != 1e-5 or not norm.elementwise_affine
            or norm.bias is None):
        raise Unsupported(f"a norm_layer other than nn.LayerNorm ({norm})")
    return {"dim": module.dim}


# nn.TransformerEncoderLayer keeps its activation as a function and this code for it.
_ENCODER_ACTIVATIONS = {1: "relu", 2: "gelu"}


def transformer_encoder_layer(module: Any) -> dict[str, Any]:
    activation = _ENCODER_ACTIVATIONS.get(module.activation_relu_or_gelu)
    if activation is None:
        raise Unsupported(f"activation {getattr(module.activation, '__name__', '?')} (the "
                          "node offers relu and gelu)")
    return {"d_model": module.linear1.in_features, "nhead": module.self_attn.num_heads,
            "dim_feedforward": module.linear1.out_features, "dropout": module.dropout.p,
            "activation": activation, "layer_norm_eps": module.norm1.eps,
            "batch_first": module.self_attn.batch_first, "norm_first": module.norm_first,
            "bias": module.linear1.bias is not None}
def expand(spec: LayerSpec, ctx: Context, node: torch.fx.Node) -> Port:
    """token.expand(x.size(0), -1, -1): repeated to the batch size of x."""
    sizes = ctx.value(node.args[1:])
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if (not sizes or not isinstance(sizes[0], BatchSize) or sizes[0].source is None
            or not all(type(s) is int for s in sizes[1:])):
        raise Unsupported(f"{target_name(node)} that does not take the batch size of a tensor")
    return ctx.add(spec.type, {"sizes": list(sizes[1:])}, hint(node),
                   [ctx.tensor(node.args[0]), sizes[0].source])


@dataclass(frozen=True)
class Traced:
    """The functional forms of a layer: `functions` by dotted name ("torch.relu",
    "torch.nn.functional.relu", "operator.add"), tensor `methods` by name ("relu"), the
    parameters the positional arguments after the input name (`args`), and the `hook`."""

    functions: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    hook: Hook = functional
