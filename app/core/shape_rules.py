"""Closed-form output shapes: the `shape_rule` (and `explain`) a catalogue entry names.

Running a layer on meta tensors costs 1-7 ms per op with this torch build (its meta
kernels go through Python decompositions), which makes a 200-node re-inference take
half a second. These rules give the same shapes in microseconds; layers without a rule
still run on meta tensors. tests/core/test_catalogue.py checks every layer's inferred
shape against a real forward pass, so a rule cannot drift from torch; test_tensor_ops.py
does so for the ops of several inputs with shapes that do and do not fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Shape = tuple[int, ...]
# (input shapes in port order, resolved parameters) -> output shapes in port order
Rule = Callable[[list[Shape], dict[str, Any]], list[Shape]]
# (input shape, resolved parameters) -> the shape arithmetic, one line per dimension
Explain = Callable[[Shape, dict[str, Any]], str]

BATCH_PLACEHOLDER = -1  # stands for the batch dimension where a rule moves dimensions around


def per_dim(value: Any, n: int) -> list[int]:
    """kernel_size=3 or (3, 5) as one value per spatial dimension."""
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


def _window(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # torch drops a last window that would start in the right padding
    return out


def sliding(n: int, channels_param: str | None = None) -> Rule:
    """Convolution and pooling windows over the last `n` dims; channels become
    `channels_param` (a convolution's out_channels) or stay (pooling)."""
    def rule(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
        x = shapes[0]
        k = per_dim(p["kernel_size"], n)
        s = per_dim(p["stride"], n) if p.get("stride") is not None else k
        pad, dil = per_dim(p.get("padding", 0), n), per_dim(p.get("dilation", 1), n)
        ceil_mode = p.get("ceil_mode", False)
        spatial = tuple(_window(x[-n + i], k[i], s[i], pad[i], dil[i], ceil_mode)
                        for i in range(n))
        channels = p[channels_param] if channels_param else x[0]
        out = (channels, *spatial)
        return [out, out] if p.get("return_indices") else [out]
    return rule


def same_shape(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    return [shapes[0]]


def last_dim(param: str) -> Rule:
    """The last dimension becomes the value of `param` (Linear's out_features)."""
    return lambda shapes, p: [(*shapes[0][:-1], p[param])]


def new_last_dim(param: str) -> Rule:
    """A last dimension of size `param` is added (Embedding's embedding_dim)."""
    return lambda shapes, p: [(*shapes[0], p[param])]


def flatten(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    full = (2, *shapes[0])  # batch counted, as torch counts start_dim and end_dim
    start, end = p["start_dim"] % len(full), p["end_dim"] % len(full)
    out = (*full[:start], math.prod(full[start:end + 1]), *full[end + 1:])
    return [out[1:]]


def reshape(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    total = math.prod(shapes[0])
    known = math.prod(d for d in p["shape"] if d != -1)
    return [tuple(total // known if d == -1 else d for d in p["shape"])]


def concat(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    dim = p["dim"] % (len(shapes[0]) + 1) - 1
    out = list(shapes[0])
    out[dim] = sum(s[dim] for s in shapes)
    return [tuple(out)]


class ShapeError(ValueError):
    """Shapes a tensor op refuses, in torch's terms (the check adds the node and inputs)."""


def size_text(size: int) -> str:
    return "batch" if size == BATCH_PLACEHOLDER else str(size)


def shape_text(shape: Shape) -> str:
    """3×4, or batch×3×4 for a whole tensor (BATCH_PLACEHOLDER is its batch size)."""
    return "×".join(map(size_text, shape)) if shape else "scalar"


def _broadcast_dim(sizes: tuple[int, ...]) -> int:
    # BATCH_PLACEHOLDER stands for any batch size, so only 1 and itself broadcast with it
    grown = set(sizes) - {1}
    if len(grown) > 1:
        raise ShapeError(f"sizes {' and '.join(map(size_text, sorted(grown)))} "
                         "differ and neither is 1")
    return grown.pop() if grown else 1


def broadcast_shape(shapes: list[Shape]) -> Shape:
    """torch.broadcast_shapes: aligned from the right, each dimension equal or 1."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for i, sizes in enumerate(zip(*padded)):
        try:
            out.append(_broadcast_dim(sizes))
        except ShapeError as exc:
            raise ShapeError(f"{exc} at dimension {i - rank} (dimensions line up from the "
                             "right)") from None
    return tuple(out)


def broadcast(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    return [broadcast_shape(shapes)]


def _leading(*shapes: Shape) -> Shape:
    """The dimensions before the last two (batches of matrices, heads) broadcast."""
    try:
        return broadcast_shape(list(shapes))
    except ShapeError as exc:
        given = " vs ".join(shape_text(s) if s else "none" for s in shapes)
        reason = str(exc).split(" at ")[0]
        raise ShapeError(f"the dimensions before the last two ({given}) must broadcast: "
                         f"{reason}") from None


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """torch.matmul: a 1-D operand is a row (left) or column (right) vector whose added
    dimension goes again; dimensions before the last two broadcast."""
    if not a or not b:
        raise ShapeError("both operands need at least one dimension")
    left, right = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if left[-1] != right[-2]:
        which = "size" if len(b) == 1 else "second-last size"
        raise ShapeError(f"the last size of the first ({size_text(left[-1])}) must equal the "
                         f"{which} of the second ({size_text(right[-2])})")
    if left[-1] == BATCH_PLACEHOLDER:
        raise ShapeError("it would sum over the batch dimension")
    lead = _leading(left[:-2], right[:-2])
    return (*lead, *((left[-2],) if len(a) > 1 else ()), *((right[-1],) if len(b) > 1 else ()))


def matmul(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    return [matmul_shape(*shapes)]


def attention_shape(query: Shape, key: Shape, value: Shape) -> Shape:
    """F.scaled_dot_product_attention: (..., L, E), (..., S, E), (..., S, Ev) ->
    (..., L, Ev), the leading dimensions broadcast."""
    if min(len(query), len(key), len(value)) < 2:
        raise ShapeError("query, key and value each need at least two dimensions "
                         "(tokens × features)")
    if query[-1] != key[-1]:
        raise ShapeError(f"query and key need the same number of features (last "
                         f"dimension): {size_text(query[-1])} vs {size_text(key[-1])}")
    if key[-2] != value[-2]:
        raise ShapeError(f"key and value need the same number of tokens (second-last "
                         f"dimension): {size_text(key[-2])} vs {size_text(value[-2])}")
    lead = _leading(query[:-2], key[:-2], value[:-2])
    return (*lead, query[-2], value[-1])


def attention(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    return [attention_shape(*shapes)]


def concat_shape(shapes: list[Shape], dim: int) -> Shape:
    """torch.cat: equal ranks and sizes except along `dim`, where the sizes add up."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError("torch.cat needs inputs with the same number of dimensions")
    if not -rank <= dim < rank:
        raise ShapeError(f"dim={dim} is out of range for {rank}-D inputs")
    dim %= rank
    if any(a != b for s in shapes for i, (a, b) in enumerate(zip(shapes[0], s)) if i != dim):
        raise ShapeError(f"all dimensions but dimension {dim} must match")
    return (*shapes[0][:dim], sum(s[dim] for s in shapes), *shapes[0][dim + 1:])


def stack_shape(shapes: list[Shape], dim: int) -> Shape:
    """torch.stack: equal shapes; a new dimension of size len(shapes) at `dim` of the
    result (negative counts from its end)."""
    first = shapes[0]
    if any(tuple(s) != tuple(first) for s in shapes):
        raise ShapeError("torch.stack needs inputs of equal shape")
    rank = len(first) + 1
    if not -rank <= dim < rank:
        raise ShapeError(f"dim={dim} is out of range for a {rank}-D result")
    dim %= rank
    return (*first[:dim], len(shapes), *first[dim:])


def stack(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """Per sample: torch's dim counts the batch, which the shapes here leave out."""
    rank = len(shapes[0]) + 2  # of the stacked whole tensor
    return [stack_shape(shapes, p["dim"] % rank - 1)]


def adaptive(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    return [(shapes[0][0], *per_dim(p["output_size"], 2))]


def recurrent(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    features = p["hidden_size"] * (2 if p["bidirectional"] else 1)
    return [(features,)] if p["output"] == "last" else [(shapes[0][0], features)]


def full_dims(dims: Any, rank: int) -> list[int]:
    """torch dims (batch is 0, negatives count from the end) as positions in a tensor of
    `rank` per-sample dimensions plus the batch."""
    return [d % (rank + 1) for d in per_dim(dims, 1)]


def reduce(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """Mean over `dim`: those dimensions go, or stay as 1 with keepdim."""
    x = shapes[0]
    gone = {d - 1 for d in full_dims(p["dim"], len(x))}
    if p["keepdim"]:
        return [tuple(1 if i in gone else s for i, s in enumerate(x))]
    return [tuple(s for i, s in enumerate(x) if i not in gone)]


def permute(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """Permute's dims are the order of the dimensions after the batch (torch's numbers)."""
    x = (BATCH_PLACEHOLDER, *shapes[0])
    return [tuple(x[d] for d in full_dims(p["dims"], len(shapes[0])))]


def transpose(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    out = [BATCH_PLACEHOLDER, *shapes[0]]
    a, b = full_dims([p["dim0"], p["dim1"]], len(shapes[0]))
    out[a], out[b] = out[b], out[a]
    return [tuple(out[1:])]


def chunk_sizes(size: int, chunks: int) -> list[int]:
    """torch.chunk's pieces: ceil(size / chunks) each, the last one smaller; fewer pieces
    than asked when the size does not allow them all."""
    step = -(-size // chunks)
    count = -(-size // step) if step else 0
    return [min(step, size - i * step) for i in range(count)]


def chunk(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    x = shapes[0]
    dim = full_dims(p["dim"], len(x))[0] - 1
    return [tuple(piece if i == dim else s for i, s in enumerate(x))
            for piece in chunk_sizes(x[dim], p["chunks"])]


def split_sizes(size: int, split_size_or_sections: int | list[int]) -> list[int]:
    """torch.split's pieces: the given sizes, or pieces of split_size and what is left."""
    if isinstance(split_size_or_sections, list):
        return list(split_size_or_sections)
    step = split_size_or_sections
    return [min(step, size - start) for start in range(0, size, step)] or [0]


def split(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    x = shapes[0]
    dim = full_dims(p["dim"], len(x))[0] - 1
    return [tuple(piece if i == dim else s for i, s in enumerate(x))
            for piece in split_sizes(x[dim], p["split_size_or_sections"])]


def patch_merging(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """Swin's PatchMerging: 2×2 neighbouring tokens joined (odd sizes padded by one)."""
    *lead, height, width, _ = shapes[0]
    return [(*lead, -(-height // 2), -(-width // 2), 2 * p["dim"])]
def parameter(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """A learnable tensor: each sample sees `shape` (a stored batch dimension of 1 is
    the batch's)."""
    return [tuple(p["shape"])]


def expand(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """x.expand(batch, *sizes): -1 keeps the input's size."""
    return [tuple(d if s == -1 else s for d, s in zip(shapes[0], p["sizes"]))]


def select(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """x[:, i] (dim 1): the indexed dimension goes."""
    return [tuple(d for i, d in enumerate(shapes[0]) if i != p["dim"] - 1)]


def upsample(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """torch.nn.Upsample: the given size, else each spatial size times scale_factor,
    rounded down."""
    channels, *spatial = shapes[0]
    if p["size"] is not None:
        return [(channels, *per_dim(p["size"], len(spatial)))]
    scale = per_dim(p["scale_factor"], len(spatial))
    return [(channels, *(math.floor(s * f) for s, f in zip(spatial, scale)))]


def zero_pad(shapes: list[Shape], p: dict[str, Any]) -> list[Shape]:
    """ZeroPad2d's padding is (left, right, top, bottom), or one value for all four."""
    *lead, height, width = shapes[0]
    left, right, top, bottom = per_dim(p["padding"], 4)
    return [(*lead, height + top + bottom, width + left + right)]


# -- shape arithmetic with numbers, for the inspector ------------------------------------

def _window_arithmetic(in_shape: Shape, p: dict[str, Any], n: int, transposed: bool) -> str:
    spatial = in_shape[-n:]
    k = per_dim(p["kernel_size"], n)
    s = per_dim(p.get("stride") or p["kernel_size"], n)
    pad = per_dim(p.get("padding", 0), n)
    d = per_dim(p.get("dilation", 1), n)
    ceil = p.get("ceil_mode", False)
    dims = {1: "L", 2: "HW", 3: "DHW"}[n]
    lines = []
    for i, size in enumerate(spatial):
        if transposed:
            op = per_dim(p.get("output_padding", 0), n)[i]
            out = (size - 1) * s[i] - 2 * pad[i] + d[i] * (k[i] - 1) + op + 1
            lines.append(f"{dims[i]}_out = ({size} − 1)·{s[i]} − 2·{pad[i]} + {d[i]}·({k[i]} − 1)"
                         f" + {op} + 1 = {out}")
            continue
        span = f"{k[i]}" if d[i] == 1 else f"{d[i]}·({k[i]} − 1) − 1"
        num = size + 2 * pad[i] - d[i] * (k[i] - 1) - 1
        out = (-(-num // s[i]) if ceil else num // s[i]) + 1
        bracket = "⌈⌉" if ceil else "⌊⌋"
        expr = (f"({size} − {span} + 2·{pad[i]})" if d[i] == 1
                else f"({size} + 2·{pad[i]} − {span})")
        lines.append(f"{dims[i]}_out = {bracket[0]}{expr}/{s[i]}{bracket[1]} + 1 = {out}")
    return "\n".join(lines)


def explain_window(n: int, transposed: bool = False) -> Explain:
    """A window layer's output size formula with the node's numbers filled in."""
    return lambda shape, params: _window_arithmetic(shape, params, n, transposed)
