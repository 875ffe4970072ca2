"""Student checks: the mistakes a layer's spec lists in `checks`, in the student's words.

Shape inference runs a layer's checks on its resolved parameters and inputs before it
computes the output shape. A check either refuses (raises NodeError with a message that
names the node, says what it expected and what it got, and what to change, often with a
one-click Fix) or advises (returns an Advice, a warning that does not stop compilation).
Nothing here imports torch: catalogue entries reference these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.shape_rules import (
    BATCH_PLACEHOLDER,
    Rule,
    ShapeError,
    attention_shape,
    broadcast_shape,
    chunk_sizes,
    concat_shape,
    matmul_shape,
    per_dim,
    shape_text,
    split_sizes,
    stack_shape,
    upsample,
)

if TYPE_CHECKING:
    from app.core.catalogue import LayerSpec
    from app.core.graph import Node

Shape = tuple[int, ...]


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


class NodeError(Exception):
    def __init__(self, message: str, *fixes: Fix) -> None:
        super().__init__(message)
        self.fixes = list(fixes)


@dataclass(frozen=True)
class Advice:
    """A warning about a node that still compiles, with the fixes that remove it."""

    message: str
    fixes: tuple[Fix, ...] = ()


def format_shape(shape: Shape) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


@dataclass
class LayerInput:
    """One value arriving at a node: its port, the node it comes from, shape and dtype."""

    port: str
    src: str
    shape: Shape
    dtype: str
    pooled_from: Shape | None = None  # for pooling indices: the shape that was pooled
    # Channels-first feature maps: a convolution or pooling output, reached through layers
    # that keep the shape (BatchNorm2d, ReLU, Dropout, Add...), not through a Flatten,
    # Permute or Reshape. Decides whether a Linear on it is a likely mistake.
    feature_map: bool = False
    # What stands before `shape` in the real tensor: the batch for data; for a Parameter
    # node's tensor its stored 1 (batch_dim) or nothing, as torch then broadcasts it.
    lead: Shape = (BATCH_PLACEHOLDER,)

    @property
    def label(self) -> str:
        return f"{self.port} (from {self.src}, {format_shape(self.shape)})"

    @property
    def whole(self) -> Shape:
        """The real tensor's shape, BATCH_PLACEHOLDER standing for the batch size."""
        return (*self.lead, *self.shape)


def tensor_lead(node: Node) -> Shape:
    """LayerInput.lead for a value `node` makes."""
    if node.spec.holds_tensor:
        return (1,) if node.params["batch_dim"] else ()
    return (BATCH_PLACEHOLDER,)


# (node, its spec, its inputs in port order, its resolved parameters)
Check = Callable[["Node", "LayerSpec", list[LayerInput], dict[str, Any]], Advice | None]


# -- every layer -------------------------------------------------------------------------

# The torch layers that read and write channels-first (C×L, C×H×W, C×D×H×W) samples: only
# for these does a rank name a layout; Permute, LayerNorm or Swin's window attention take
# the same ranks in other layouts (H×W×C tokens).
CHANNELS_FIRST = frozenset({
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
    "MaxUnpool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm2d", "InstanceNorm2d",
    "Dropout2d", "Dropout1d", "Upsample",
})

_CHANNELS_FIRST_WORDS = {
    1: "features",
    2: "channels × length",
    3: "channels × height × width",
    4: "channels × depth × height × width",
}


def makes_feature_maps(spec: LayerSpec) -> bool:
    """Whether the layer's output is channels-first feature maps (LayerInput.feature_map)."""
    return spec.type in CHANNELS_FIRST


def keeps_layout(spec: LayerSpec) -> bool:
    """Whether a same-shape output keeps the input's layout: a Reshape-category layer
    (Permute, Reshape...) may reorder even when the shape stays, so the author chose it."""
    return spec.category != "Reshape"


def _rank_words(spec: LayerSpec, rank: int) -> str:
    if spec.type in CHANNELS_FIRST and rank in _CHANNELS_FIRST_WORDS:
        return f"{rank}-D ({_CHANNELS_FIRST_WORDS[rank]})"
    return f"{rank}-D"


def rank_fits(node: Node, spec: LayerSpec, x: LayerInput) -> None:
    """Every layer: the input has a rank the layer takes (`spec.ranks`)."""
    if spec.ranks is None or len(x.shape) in spec.ranks:
        return
    want = " or ".join(_rank_words(spec, r) for r in spec.ranks)
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


# -- the checks catalogue entries name ---------------------------------------------------

def window_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                p: dict[str, Any]) -> None:
    """Kernel larger than the (padded) input: the most common CNN mistake."""
    n = spec.ranks[0] - 1
    spatial = inputs[0].shape[-n:]
    k = per_dim(p["kernel_size"], n)
    pad = per_dim(p.get("padding", 0), n)
    dil = per_dim(p.get("dilation", 1), n)
    for size, ki, pi, di in zip(spatial, k, pad, dil):
        if size + 2 * pi < di * (ki - 1) + 1:
            kernel = "×".join(map(str, k))
            raise NodeError(
                f"{node.name}: the {kernel} kernel is larger than its "
                f"{format_shape(spatial)} input from {inputs[0].src} (with padding "
                f"{pi}): reduce kernel_size, add padding, or remove a pooling layer upstream")


def pool_padding(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                 p: dict[str, Any]) -> None:
    n = spec.ranks[0] - 1
    for ki, pi in zip(per_dim(p["kernel_size"], n), per_dim(p.get("padding", 0), n)):
        if pi * 2 > ki:
            raise NodeError(f"{node.name}: padding {pi} is more than half the kernel size {ki};"
                            " torch only allows padding ≤ kernel_size / 2")


def groups_divide(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                  p: dict[str, Any]) -> None:
    for name in ("in_channels", "out_channels"):
        if p[name] % p["groups"]:
            raise NodeError(f"{node.name}: {name}={p[name]} is not divisible by "
                            f"groups={p['groups']}; pick a groups value that divides both")


def output_padding_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                        p: dict[str, Any]) -> None:
    n = spec.ranks[0] - 1
    for op, st, dil in zip(*(per_dim(p[k], n) for k in ("output_padding", "stride",
                                                          "dilation"))):
        if op >= max(st, dil):
            raise NodeError(f"{node.name}: output padding {op} must be smaller than stride "
                            f"({st}) or dilation ({dil}); lower output_padding or raise stride")


def groups_split_channels(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                          p: dict[str, Any]) -> None:
    if p["num_channels"] % p["num_groups"]:
        raise NodeError(f"{node.name}: {p['num_channels']} channels cannot be split into "
                        f"{p['num_groups']} groups; num_groups must divide the channel count")


def checked_dim(node: Node, dim: int, rank: int) -> int:
    """Validate a torch dim (batch counted) against a per-sample rank."""
    full = rank + 1
    if not -full <= dim < full:
        raise NodeError(f"{node.name}: dim={dim} is out of range for a {full}-D tensor "
                        f"(batch × {format_shape(()) if rank == 0 else rank}-D sample)")
    dim %= full
    if dim == 0:
        raise NodeError(f"{node.name}: dim=0 is the batch dimension; use dim=1 or later")
    return dim


def dim_in_range(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                 p: dict[str, Any]) -> None:
    checked_dim(node, p["dim"], len(inputs[0].shape))


def dims_in_range(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                  p: dict[str, Any]) -> None:
    """A reduction's dims: each a sample dimension, none twice."""
    rank = len(inputs[0].shape)
    dims = [checked_dim(node, d, rank) for d in per_dim(p["dim"], 1)]
    if len(set(dims)) < len(dims):
        raise NodeError(f"{node.name}: dim={p['dim']} names a dimension twice")


def reorders_sample_dims(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                         p: dict[str, Any]) -> None:
    """Permute: each dimension after the batch once (the batch stays first)."""
    rank = len(inputs[0].shape)
    dims = [d % (rank + 1) if -rank <= d <= rank else d for d in p["dims"]]
    if sorted(dims) != list(range(1, rank + 1)):
        raise NodeError(f"{node.name}: dims={p['dims']} must list each of the {rank} "
                        f"dimensions after the batch once (1 to {rank}) for its "
                        f"{format_shape(inputs[0].shape)} input from {inputs[0].src}")


def swaps_sample_dims(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                      p: dict[str, Any]) -> None:
    for key in ("dim0", "dim1"):
        checked_dim(node, p[key], len(inputs[0].shape))


def chunks_fit(node: Node, spec: LayerSpec, inputs: list[LayerInput],
               p: dict[str, Any]) -> None:
    """torch.chunk quietly returns fewer pieces when the size does not allow them all."""
    dim = checked_dim(node, p["dim"], len(inputs[0].shape))
    size = inputs[0].shape[dim - 1]
    pieces = chunk_sizes(size, p["chunks"])
    if len(pieces) != p["chunks"]:
        raise NodeError(f"{node.name}: a size of {size} along dim {p['dim']} splits into "
                        f"{len(pieces)} chunks ({', '.join(map(str, pieces))}), not "
                        f"{p['chunks']}; pick a chunks value that fits the size")


def split_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
               p: dict[str, Any]) -> None:
    """Sections must add up to the size; the node needs one output per piece."""
    dim = checked_dim(node, p["dim"], len(inputs[0].shape))
    size = inputs[0].shape[dim - 1]
    sections = p["split_size_or_sections"]
    if isinstance(sections, list) and sum(sections) != size:
        raise NodeError(f"{node.name}: the sections {', '.join(map(str, sections))} add up to "
                        f"{sum(sections)}, but the input has size {size} along dim {p['dim']}; "
                        "make them add up to it")
    pieces = split_sizes(size, sections)
    if len(pieces) != p["pieces"]:
        raise NodeError(f"{node.name}: splitting a size of {size} along dim {p['dim']} makes "
                        f"{len(pieces)} pieces ({', '.join(map(str, pieces))}), but the node "
                        f"has pieces={p['pieces']} outputs",
                        Fix(f"Set pieces = {len(pieces)}", "set_param", node.name, "pieces",
                            len(pieces)))


def heads_divide(width: str, heads: str) -> Check:
    """Multi-head attention gives each head width/heads features."""
    def check(node: Node, spec: LayerSpec, inputs: list[LayerInput],
              p: dict[str, Any]) -> None:
        if p[width] % p[heads]:
            raise NodeError(f"{node.name}: {width}={p[width]} cannot be split into "
                            f"{heads}={p[heads]} attention heads; pick a {heads} that "
                            f"divides {p[width]}")
    return check


def shift_inside_window(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                        p: dict[str, Any]) -> None:
    if any(s >= w for s, w in zip(p["shift_size"], p["window_size"])):
        raise NodeError(f"{node.name}: shift_size={tuple(p['shift_size'])} must be smaller "
                        f"than window_size={tuple(p['window_size'])} (Swin shifts by half a "
                        "window)")


def window_tokens(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                  p: dict[str, Any]) -> None:
    """MaxViT's attention: whole heads, and a bias table for the square window it sees."""
    tokens = inputs[0].shape[-2]
    if p["feat_dim"] % p["head_dim"]:
        raise NodeError(f"{node.name}: feat_dim={p['feat_dim']} cannot be cut into heads of "
                        f"head_dim={p['head_dim']} features; pick a head_dim that divides it")
    if p["max_seq_len"] != tokens or math.isqrt(tokens) ** 2 != tokens:
        raise NodeError(f"{node.name}: max_seq_len={p['max_seq_len']} must equal the "
                        f"{tokens} tokens per window of its input (dim -2), and be a square "
                        "number (a P×P window)",
                        *([Fix(f"Set max_seq_len = {tokens}", "set_param", node.name,
                               "max_seq_len", tokens)]
                          if math.isqrt(tokens) ** 2 == tokens else []))


def batch_first_on(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                   p: dict[str, Any]) -> None:
    if not p["batch_first"]:
        raise NodeError(f"{node.name}: with batch_first off, torch reads the batch dimension as "
                        "time; canvas tensors are batch × sequence × features, so turn "
                        "batch_first on",
                        Fix("Turn batch_first on", "set_param", node.name, "batch_first", True))


def channels_divide(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                    p: dict[str, Any]) -> None:
    channels = inputs[0].shape[0]
    if channels % p["groups"]:
        raise NodeError(f"{node.name}: {channels} channels from {inputs[0].src} cannot be "
                        f"split into groups={p['groups']}; pick a groups value that divides "
                        "the channel count")


_UPSAMPLE_RANKS = {"linear": 2, "bilinear": 3, "bicubic": 3, "trilinear": 4}


def upsample_settings(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                      p: dict[str, Any]) -> None:
    x = inputs[0].shape
    if (p["size"] is None) == (p["scale_factor"] is None):
        raise NodeError(f"{node.name}: set exactly one of size and scale_factor",
                        Fix("Set scale_factor = 2", "set_param", node.name, "scale_factor", 2.0))
    if isinstance(p["size"], list) and len(p["size"]) != len(x) - 1:
        raise NodeError(f"{node.name}: size={p['size']} must give one size, or one for each of "
                        f"the {len(x) - 1} spatial dimensions of {format_shape(x)}")
    if p["size"] is not None and p["recompute_scale_factor"]:
        raise NodeError(f"{node.name}: recompute_scale_factor only applies with scale_factor, "
                        "not with an explicit size; leave it empty",
                        Fix("Clear recompute_scale_factor", "set_param", node.name,
                            "recompute_scale_factor", None))
    rank = _UPSAMPLE_RANKS.get(p["mode"])
    if rank is not None and len(x) != rank:
        raise NodeError(f"{node.name}: mode '{p['mode']}' needs a "
                        f"{_rank_words(spec, rank)} input but gets {format_shape(x)} from "
                        f"{inputs[0].src}; pick the mode for that many dimensions")
    if p["align_corners"] is not None and rank is None:
        raise NodeError(f"{node.name}: align_corners only applies to the interpolating modes "
                        "(linear, bilinear, bicubic, trilinear); leave it empty",
                        Fix("Clear align_corners", "set_param", node.name, "align_corners",
                            None))
    out = upsample([x], p)[0]
    if min(out[1:]) < 1:
        raise NodeError(f"{node.name}: scale_factor={p['scale_factor']} makes "
                        f"{format_shape(x)} into {format_shape(out)}; the output needs at "
                        "least one pixel per dimension")


def concat_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                p: dict[str, Any]) -> None:
    first = inputs[0]
    ranks = {len(x.shape) for x in inputs}
    if len(ranks) > 1:
        raise NodeError(f"{node.name}: inputs must have the same number of dimensions: "
                        + ", ".join(x.label for x in inputs))
    dim = checked_dim(node, p["dim"], len(first.shape)) - 1
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


# (the real tensors' shapes, BATCH_PLACEHOLDER for the batch size; resolved parameters)
# -> the real result's shape, raising ShapeError where torch refuses
Whole = Callable[[list[Shape], dict[str, Any]], Shape]


def on_whole_tensors(verb: str, rule: Rule, whole: Whole) -> Check:
    """A tensor op of several inputs: its shape rule works per sample, but torch works on
    the whole tensors, batch dimension included, and lines dimensions up from the right,
    so a sample's shape can fit while the tensors do not ((2, 3, 4) + (2, 4): 3 vs 2).
    The op must work per sample and, with any batch size, give the batch followed by the
    per-sample result."""
    def check(node: Node, spec: LayerSpec, inputs: list[LayerInput],
              p: dict[str, Any]) -> None:
        shapes = " and ".join(x.label for x in inputs)
        try:
            per_sample = rule([x.shape for x in inputs], p)[0]
        except ShapeError as exc:
            raise NodeError(f"{node.name} cannot {verb} {shapes}: {exc}") from None
        if all(x.lead != (BATCH_PLACEHOLDER,) for x in inputs):
            return  # only learnable tensors: no batch to line up
        tensors = " and ".join(f"{x.port} {shape_text(x.whole)}" for x in inputs)
        batched = {len(x.shape) for x in inputs if x.lead == (BATCH_PLACEHOLDER,)}
        wide = next((x for x in inputs if x.lead == () and len(x.shape) > max(batched)), None)
        hint = ("; give the inputs the same number of dimensions (a Reshape can add a "
                "dimension of size 1)" if len(batched) > 1 else "")
        if wide is not None:  # its first dimension lines up with the batch
            hint = (f"; {wide.src} has more dimensions than a sample: turn on its batch_dim "
                    "and drop its first dimension")
        try:
            result = whole([x.whole for x in inputs], p)
        except ShapeError as exc:
            raise NodeError(f"{node.name} cannot {verb} the tensors {tensors}: {exc} (torch "
                            f"sees the batch dimension in front of each sample){hint}"
                            ) from None
        if result != (BATCH_PLACEHOLDER, *per_sample):
            raise NodeError(f"{node.name}: torch would {verb} the tensors {tensors} into "
                            f"{shape_text(result)}, which mixes up the batch dimension{hint}")
    return check


def _broadcast_whole(shapes: list[Shape], p: dict[str, Any]) -> Shape:
    return broadcast_shape(shapes)


def broadcasts(verb: str) -> Check:
    """Element-wise merges: torch.broadcast_shapes of the whole tensors; a channel count
    that differs between two feature maps gets a one-click 1×1 convolution."""
    def rule(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
        return [broadcast_shape(shapes)]
    general = on_whole_tensors(verb, rule, _broadcast_whole)

    def check(node: Node, spec: LayerSpec, inputs: list[LayerInput],
              p: dict[str, Any]) -> None:
        first = inputs[0]
        for x in inputs[1:]:
            if len(x.shape) == len(first.shape) == 3 and x.shape[1:] == first.shape[1:] and (
                    x.shape[0] not in (1, first.shape[0]) and first.shape[0] != 1):
                raise NodeError(
                    f"{node.name} cannot {verb} {first.label} and {x.label}: shapes must "
                    f"match (or broadcast); set {x.src}'s out_channels={first.shape[0]} or "
                    f"insert a 1×1 convolution on {x.port}",
                    Fix(f"Insert 1×1 Conv2d to {first.shape[0]} channels on {x.port}",
                        "insert", node.name, layer_type="Conv2d",
                        layer_params={"out_channels": first.shape[0], "kernel_size": 1},
                        port=x.port))
        general(node, spec, inputs, p)
    return check


def stack_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
               p: dict[str, Any]) -> None:
    """torch.stack: equal shapes, and the new dimension after the batch."""
    rank = len(inputs[0].shape) + 1
    dim = p["dim"]
    if not -(rank + 1) <= dim <= rank:
        raise NodeError(f"{node.name}: dim={dim} is out of range: stacking {rank}-D tensors "
                        f"(batch × {rank - 1}-D sample) takes dim from {-(rank + 1)} to {rank}")
    if dim % (rank + 1) == 0:
        raise NodeError(f"{node.name}: dim={dim} would stack along the batch dimension; use "
                        "dim=1 or later")


def _stack_whole(shapes: list[Shape], p: dict[str, Any]) -> Shape:
    return stack_shape(shapes, p["dim"])


def stacks(rule: Rule) -> Check:
    return on_whole_tensors("stack", rule, _stack_whole)


def concat_whole(shapes: list[Shape], p: dict[str, Any]) -> Shape:
    return concat_shape(shapes, p["dim"])


def matmul_whole(shapes: list[Shape], p: dict[str, Any]) -> Shape:
    return matmul_shape(*shapes)


def attention_whole(shapes: list[Shape], p: dict[str, Any]) -> Shape:
    return attention_shape(*shapes)


def factor_not_zero(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                    p: dict[str, Any]) -> None:
    if p["divide"] and p["factor"] == 0:
        raise NodeError(f"{node.name} divides by factor=0; give a non-zero factor")


def reshape_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                 p: dict[str, Any]) -> None:
    total = math.prod(inputs[0].shape)
    known = math.prod(d for d in p["shape"] if d != -1)
    fits = total % known == 0 if -1 in p["shape"] else total == known
    if not fits:
        raise NodeError(f"{node.name} cannot reshape {format_shape(inputs[0].shape)} ({total} "
                        f"values) into {format_shape(tuple(p['shape']))}: the sizes must "
                        f"multiply to {total}")


def flatten_range(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                  p: dict[str, Any]) -> None:
    rank = len(inputs[0].shape) + 1
    start, end = (checked_dim(node, p[k], rank - 1) if -rank <= p[k] < rank else None
                  for k in ("start_dim", "end_dim"))
    if start is None or end is None or start > end:
        raise NodeError(f"{node.name}: start_dim={p['start_dim']} and end_dim={p['end_dim']} "
                        f"do not describe a range of the {rank}-D input (batch is dim 0); "
                        "use start_dim=1, end_dim=-1 to flatten each sample")


def recurrent_settings(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                       p: dict[str, Any]) -> None:
    batch_first_on(node, spec, inputs, p)
    if p["dropout"] > 0 and p["num_layers"] == 1:
        raise NodeError(f"{node.name}: dropout only acts between stacked layers; set "
                        "num_layers > 1 or dropout = 0",
                        Fix("Set dropout = 0", "set_param", node.name, "dropout", 0.0))


def unpool_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                p: dict[str, Any]) -> None:
    values, indices = inputs
    if indices.dtype != "int64" or indices.pooled_from is None:
        raise NodeError(f"{node.name}.indices needs the 'indices' output of a MaxPool2d")
    if values.shape != indices.shape:
        raise NodeError(f"{node.name}: values {values.label} and indices {indices.label} must "
                        "have the same shape; feed it the pooling layer's output and indices")
    k, s, pad = (per_dim(p[name], 2) for name in ("kernel_size", "stride", "padding"))
    s = s if p["stride"] is not None else k
    restored = tuple((h - 1) * si - 2 * pi + ki for h, si, pi, ki in
                     zip(values.shape[1:], s, pad, k))
    original = indices.pooled_from[1:]
    if restored != original:
        raise NodeError(f"{node.name} restores {format_shape(restored)} but {indices.src} pooled "
                        f"a {format_shape(original)} input, so some positions in its indices do "
                        "not fit: give it the same kernel_size, stride and padding as the "
                        "pooling layer and an input size the pooling divides exactly")


def last_dimension_only(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                        p: dict[str, Any]) -> Advice | None:
    """A Linear on convolution feature maps (C×H×W): legal in torch, but rarely what a
    student means. On channels-last tokens (H×W×C after a Permute, L×C in a transformer)
    acting on the last dimension is the point, so those stay silent."""
    if len(inputs[0].shape) < 3 or not inputs[0].feature_map:
        return None
    flat = math.prod(inputs[0].shape)
    return Advice(f"{node.name} acts on the last dimension only of "
                  f"{format_shape(inputs[0].shape)}; insert a Flatten to use all {flat} features",
                  (Fix("Insert Flatten", "insert", node.name, layer_type="Flatten"),))


def expand_fits(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                p: dict[str, Any]) -> None:
    """One size per dimension of the input; only a size-1 dimension can grow."""
    x, sizes = inputs[0].shape, p["sizes"]
    if len(sizes) != len(x):
        raise NodeError(f"{node.name} gives {len(sizes)} sizes for its {len(x)}-D input "
                        f"{format_shape(x)} from {inputs[0].src}: give one per dimension "
                        "(-1 keeps a size)")
    for d, s in zip(x, sizes):
        if s != -1 and s != d and d != 1:
            raise NodeError(f"{node.name} cannot expand {format_shape(x)} to sizes "
                            f"{tuple(sizes)}: only a dimension of size 1 can grow; use -1 to "
                            "keep a size")


def index_in_range(node: Node, spec: LayerSpec, inputs: list[LayerInput],
                   p: dict[str, Any]) -> None:
    x = inputs[0].shape
    if p["dim"] > len(x):
        raise NodeError(f"{node.name} indexes dimension {p['dim']} but its input "
                        f"{format_shape(x)} from {inputs[0].src} has {len(x)} after the batch")
    size = x[p["dim"] - 1]
    if not -size <= p["index"] < size:
        raise NodeError(f"{node.name}: index {p['index']} is outside dimension {p['dim']} "
                        f"of size {size} (valid: {-size} to {size - 1})")
