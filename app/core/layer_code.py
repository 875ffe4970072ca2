"""How a layer reads in an exported forward(): the `code` writer a catalogue entry names.

A torch layer without a writer is called (`x = self.conv1(x)`); a recurrent layer
unpacks torch's (outputs, hidden state); canvas ops with no torch layer are written
inline, as torchvision writes `out += identity`. Every value goes through
`literal_code`, so nothing from a project file becomes code. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.pysource import LiteralError, literal

# (module reference such as `self.features`, resolved params, argument and output variables)
Writer = Callable[[str, dict[str, Any], list[str], list[str]], list[str]]


class CodegenError(ValueError):
    """The document cannot be written as code (the message says which node and why)."""


def literal_code(value: Any, tuples: bool = True) -> str:
    """Python source for a checked parameter value (lists as tuples unless `tuples` is
    off); refuses anything else."""
    try:
        return literal(value, tuples=tuples)
    except LiteralError as exc:
        raise CodegenError(str(exc)) from None


def call(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    return [f"{', '.join(outs)} = {ref}({', '.join(args)})"]


def recurrent(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
    if resolved["output"] == "sequence":
        return [f"{outs[0]}, _ = {ref}({args[0]})"]
    last = "out[:, -1]" if resolved["batch_first"] else "out[-1]"
    return [f"out, _ = {ref}({args[0]})", f"{outs[0]} = {last}"]


def operator(symbol: str) -> Writer:
    def write(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
        return [f"{outs[0]} = {f' {symbol} '.join(args)}"]
    return write


def concat(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    return [f"{outs[0]} = torch.cat([{', '.join(args)}], dim={literal_code(resolved['dim'])})"]


def reshape(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    dims = ", ".join(literal_code(int(d)) for d in resolved["shape"])
    return [f"{outs[0]} = {args[0]}.reshape({args[0]}.size(0), {dims})"]


def method(name: str, *params: str, **keywords: Any) -> Writer:
    """A tensor method written inline, as torchvision writes `x.mean([2, 3])`: `params`
    positionally, `keywords` (name=torch's default) by name where they differ from it; a
    node with several outputs unpacks them all."""
    def write(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
        given = [literal_code(resolved[p]) for p in params]
        given += [f"{k}={literal_code(resolved[k])}" for k, default in keywords.items()
                  if resolved[k] != default]
        return [f"{', '.join(outs)} = {args[0]}.{name}({', '.join(given)})"]
    return write


def permute(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    dims = ", ".join(literal_code(int(d)) for d in resolved["dims"])
    return [f"{outs[0]} = {args[0]}.permute(0, {dims})"]


def attention(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
    """Self-attention, as torchvision's ViT calls it: query, key and value are the input."""
    x = args[0]
    return [f"{outs[0]}, _ = {ref}({x}, {x}, {x}, need_weights=False)"]


def parameter(ref: str, resolved: dict[str, Any], args: list[str],
              outs: list[str]) -> list[str]:
    return [f"{outs[0]} = {ref}"]


def tensor_constructor(resolved: dict[str, Any]) -> str:
    """`nn.Parameter(...)` for a learnable tensor node, made as app.core.ops.learnable
    makes it."""
    shape = [1, *resolved["shape"]] if resolved["batch_dim"] else list(resolved["shape"])
    size, value = literal_code(shape), literal_code(float(resolved["value"]))
    if resolved["init"] == "normal":
        return f"nn.Parameter(torch.empty({size}).normal_(std={value}))"
    return f"nn.Parameter(torch.full({size}, {value}))"


def expand(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    sizes = ", ".join(literal_code(int(s)) for s in resolved["sizes"])
    return [f"{outs[0]} = {args[0]}.expand({args[1]}.size(0), {sizes})"]


def select(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    index = ":, " * int(resolved["dim"]) + literal_code(int(resolved["index"]))
    return [f"{outs[0]} = {args[0]}[{index}]"]


def matmul(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    return [f"{outs[0]} = torch.matmul({args[0]}, {args[1]})"]


def stack(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    return [f"{outs[0]} = torch.stack([{', '.join(args)}], dim={literal_code(resolved['dim'])})"]


def scale(ref: str, resolved: dict[str, Any], args: list[str], outs: list[str]) -> list[str]:
    symbol = "/" if resolved["divide"] else "*"
    return [f"{outs[0]} = {args[0]} {symbol} {literal_code(float(resolved['factor']))}"]


def scaled_dot_product_attention(ref: str, resolved: dict[str, Any], args: list[str],
                                 outs: list[str]) -> list[str]:
    """F.scaled_dot_product_attention(q, k, v) with the settings that differ from its
    defaults; its dropout acts in training only (the functional form always applies it)."""
    given = list(args)
    if resolved["dropout_p"]:
        given.append(f"dropout_p={literal_code(float(resolved['dropout_p']))} if self.training "
                     "else 0.0")
    if resolved["is_causal"]:
        given.append("is_causal=True")
    if resolved["scale"] is not None:
        given.append(f"scale={literal_code(float(resolved['scale']))}")
    return [f"{outs[0]} = nn.functional.scaled_dot_product_attention({', '.join(given)})"]
