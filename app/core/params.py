"""Typed layer parameters: the schema the inspector, the compiler and the code generator share.

Kept free of torch so the palette and inspector can load without importing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

INT = "int"
FLOAT = "float"
BOOL = "bool"
CHOICE = "choice"
INTS = "ints"  # an int or a tuple of `length` ints (kernel_size=3 or (3, 5))
SHAPE = "shape"  # a list of ints of any length (Reshape, LayerNorm, Input)

# Where an auto parameter reads its value from: dim 1, the last dim, or the trailing shape.
AUTO_KINDS = frozenset({"channels", "features", "last"})


class ParamError(ValueError):
    """A parameter value is outside what its schema allows."""


@dataclass(frozen=True)
class Param:
    """One constructor argument of a layer, with torch's name and default.

    `auto` names the input dimension the value is read from when it is left as None
    ("channels" = dim 1, "features" = the last dim), so students only set what matters.
    `optional` means None is a legal value that torch itself understands (stride=None).
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    length: int = 1
    optional: bool = False
    auto: str | None = None
    key: bool = False  # shown on the canvas node

    def validate(self, value: Any) -> Any:
        """Return the value normalised to its JSON form, or raise ParamError with the reason."""
        if value is None:
            if self.optional or self.auto:
                return None
            raise ParamError(f"{self.name} needs a value")
        checker = _CHECKERS[self.kind]
        return checker(self, value)

    def describe_range(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f">= {_fmt(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"<= {_fmt(self.maximum)}")
        return " and ".join(parts)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_range(p: Param, v: float) -> None:
    if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
        raise ParamError(f"{p.name} must be {p.describe_range()} (got {_fmt(v)})")


# torch indexes sizes with 32-bit ints in many kernels; nothing sensible on a canvas is larger.
LARGEST = 2**31 - 1


def _as_int(p: Param, v: Any) -> int:
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            or float(v) != int(v)):
        raise ParamError(f"{p.name} must be a whole number (got {v!r})")
    if abs(v) > LARGEST:
        raise ParamError(f"{p.name} is too large (got {v!r}; at most {LARGEST})")
    return int(v)


def _check_int(p: Param, v: Any) -> int:
    v = _as_int(p, v)
    _check_range(p, v)
    return v


def _check_float(p: Param, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParamError(f"{p.name} must be a number (got {v!r})")
    v = float(v)
    if math.isnan(v):
        raise ParamError(f"{p.name} must be a number (got NaN)")
    _check_range(p, v)
    return v


def _check_bool(p: Param, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ParamError(f"{p.name} must be true or false (got {v!r})")
    return v


def _check_choice(p: Param, v: Any) -> Any:
    if v not in p.choices:
        options = ", ".join(repr(c) for c in p.choices)
        raise ParamError(f"{p.name} must be one of {options} (got {v!r})")
    return v


def _check_ints(p: Param, v: Any) -> int | list[int]:
    if isinstance(v, (list, tuple)):
        if len(v) != p.length:
            raise ParamError(f"{p.name} takes one number or {p.length} numbers (got {len(v)})")
        values = [_check_int(p, item) for item in v]
        return values[0] if len(set(values)) == 1 else values
    return _check_int(p, v)


def _check_shape(p: Param, v: Any) -> list[int]:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v:
        raise ParamError(f"{p.name} must be a list of whole numbers (got {v!r})")
    values = [_as_int(p, item) for item in v]
    if any(x == 0 or x < -1 for x in values) or values.count(-1) > 1:
        raise ParamError(f"{p.name} takes positive sizes and at most one -1 (got {values})")
    if math.prod(abs(x) for x in values) > LARGEST:
        raise ParamError(f"{p.name} {values} holds more than {LARGEST} values")
    return values


_CHECKERS = {
    INT: _check_int,
    FLOAT: _check_float,
    BOOL: _check_bool,
    CHOICE: _check_choice,
    INTS: _check_ints,
    SHAPE: _check_shape,
}


@dataclass(frozen=True)
class Ports:
    """Input and output port names; a variadic node numbers its inputs in1..inN."""

    inputs: tuple[str, ...] = ("in",)
    outputs: tuple[str, ...] = ("out",)
    variadic: bool = False
    extra_outputs: dict[str, str] = field(default_factory=dict)  # port -> param that enables it
