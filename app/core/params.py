"""The one parameter schema: layers, data sources, augmentation steps and training settings.

A `Param` is plain data that the GUI turns into an editor and that `validate_params` checks
a JSON object against. Kept free of torch and Qt so the palette, the inspector and the CLI
load without them.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INT = "int"
FLOAT = "float"
BOOL = "bool"
CHOICE = "choice"
STR = "str"
PATH = "path"  # text the GUI offers a folder browser for
INTS = "ints"  # a list of ints, or one int when `scalar_ok` (milestones, crop size)
FLOATS = "floats"  # a list of numbers, or one number when `scalar_ok` (betas, degrees)
TUPLE = "tuple"  # an int or a tuple of ints, one per dim (kernel_size=3 or (3, 5))
SHAPE = "shape"  # a list of ints of any length (Reshape, LayerNorm, Input)
MATRIX = "matrix"  # a square matrix as a list of rows
STEPS = "steps"  # nested augmentation steps, checked by their own schema

# Where an auto parameter reads its value from: dim 1, the last dim, or the trailing shape.
AUTO_KINDS = frozenset({"channels", "features", "last"})

# torch indexes sizes with 32-bit ints in many kernels; nothing sensible here is larger.
LARGEST = 2**31 - 1


class ParamError(ValueError):
    """A value is outside what its parameter allows; `field` names it, `reason` says why.

    Callers re-raise it as their own error type with their context in front, so the
    reason is a phrase that reads after the field name ("must be >= 1 (got 0)").
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Param:
    """One parameter, with torch's name and default where torch has one.

    `choices` lists the values of a choice and, for other kinds, literal values accepted
    as they are (RandomErasing's value "random"). For number lists, `lengths` are the
    allowed lengths (any when empty), `scalar_ok` also accepts one number and `ordered`
    asks for non-decreasing items (a (min, max) pair). `optional` means None is a legal
    value (torch's own default, or "not given"). `auto` names the input dimension the value
    is read from when left as None ("channels" = dim 1, "features" = the last dim), so
    students only set what matters. `key` params are shown on the canvas node.
    `graph_only` values shape the graph, not the torch module (a merge's number of inputs,
    a recurrent layer's output choice), so they are no constructor argument.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    lengths: tuple[int, ...] = ()
    scalar_ok: bool = True
    ordered: bool = False
    optional: bool = False
    auto: str | None = None
    key: bool = False
    graph_only: bool = False

    def validate(self, value: Any) -> Any:
        """Return the value normalised to its JSON form, or raise ParamError with the reason."""
        if value is None:
            if self.optional or self.auto or None in self.choices:
                return None
            raise ParamError(self.name, "needs a value")
        if self.kind != CHOICE and value in self.choices:
            return value
        return _VALIDATORS[self.kind](self, value)

    def describe_range(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f">= {_fmt(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"<= {_fmt(self.maximum)}")
        return " and ".join(parts)


def validate_params(params: Sequence[Param], values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every parameter's value checked, defaults filled in; unknown names (typos) are refused."""
    values = values or {}
    known = [p.name for p in params]
    unknown = sorted(str(name) for name in values if name not in known)
    if unknown:
        raise ParamError(unknown[0], f"is not a parameter (known: {', '.join(known) or 'none'})")
    return {p.name: p.validate(values.get(p.name, p.default)) for p in params}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_range(p: Param, v: float) -> None:
    # Only the violated bound is named: "must be <= 0.5" says what to change.
    if p.minimum is not None and v < p.minimum:
        raise ParamError(p.name, f"must be >= {_fmt(p.minimum)} (got {_fmt(v)})")
    if p.maximum is not None and v > p.maximum:
        raise ParamError(p.name, f"must be <= {_fmt(p.maximum)} (got {_fmt(v)})")


def _as_number(p: Param, v: Any, integer: bool) -> int | float:
    # bool is an int subclass; True is never a sensible size or rate.
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ParamError(p.name, f"must be {'a whole number' if integer else 'a number'} "
                                 f"(got {v!r})")
    if isinstance(v, float) and not math.isfinite(v):  # project files are strict JSON
        raise ParamError(p.name, f"must be a finite number (got {v!r})")
    if integer and isinstance(v, float) and not v.is_integer():
        raise ParamError(p.name, f"must be a whole number (got {v!r})")
    if integer and abs(v) > LARGEST:
        raise ParamError(p.name, f"is too large (at most {LARGEST})")
    if abs(v) > sys.float_info.max:  # a JSON integer beyond any float
        raise ParamError(p.name, "is too large for a number")
    return int(v) if integer else float(v)


def _number(p: Param, v: Any, integer: bool) -> int | float:
    v = _as_number(p, v, integer)
    _check_range(p, v)
    return v


def _numbers(p: Param, v: Any, integer: bool) -> int | float | list:
    if not isinstance(v, list | tuple):
        if p.scalar_ok:
            return _number(p, v, integer)
        raise ParamError(p.name, f"takes {_count(p)} numbers (got {v!r})")
    if not v or (p.lengths and len(v) not in p.lengths):
        raise ParamError(p.name, f"takes {_count(p)} numbers (got {len(v)})")
    items = [_number(p, item, integer) for item in v]
    if p.ordered and any(a > b for a, b in itertools.pairwise(items)):
        raise ParamError(p.name, f"takes (min, max) in increasing order (got {items!r})")
    return items


def _count(p: Param) -> str:
    counts = " or ".join(str(n) for n in p.lengths) or "one or more"
    return f"one number or {counts}" if p.scalar_ok else counts


def _check_tuple(p: Param, v: Any) -> int | list[int]:
    # Equal items are stored as one int, as torch prints them (kernel_size=3, not (3, 3)).
    values = _numbers(p, v, True)
    if isinstance(values, list) and len(set(values)) == 1:
        return values[0]
    return values


def _check_shape(p: Param, v: Any) -> list[int]:
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list | tuple) or not v:
        raise ParamError(p.name, f"must be a list of whole numbers (got {v!r})")
    values = [_as_number(p, item, True) for item in v]
    if any(x == 0 or x < -1 for x in values) or values.count(-1) > 1:
        raise ParamError(p.name, f"takes positive sizes and at most one -1 (got {values})")
    if math.prod(abs(x) for x in values) > LARGEST:
        raise ParamError(p.name, f"{values} holds more than {LARGEST} values")
    return values


def _check_bool(p: Param, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ParamError(p.name, f"must be true or false (got {v!r})")
    return v


def _check_text(p: Param, v: Any) -> str:
    if not isinstance(v, str):
        raise ParamError(p.name, f"must be text (got {v!r})")
    return v


def _check_choice(p: Param, v: Any) -> Any:
    if v not in p.choices:
        raise ParamError(p.name, f"must be one of {list(p.choices)!r} (got {v!r})")
    return v


def _check_matrix(p: Param, v: Any) -> list[list[float]]:
    if not isinstance(v, list | tuple) or not v:
        raise ParamError(p.name, "must be a square matrix as a list of rows")
    row = Param(p.name, FLOATS, None, scalar_ok=False)
    rows = [_numbers(row, r, False) for r in v]
    if any(len(r) != len(rows) for r in rows):
        raise ParamError(p.name, f"must be a square matrix (got {len(rows)} rows of lengths "
                                 f"{sorted({len(r) for r in rows})})")
    return rows


def _check_steps(p: Param, v: Any) -> list[dict]:
    if not isinstance(v, list | tuple) or not all(isinstance(s, dict) for s in v):
        raise ParamError(p.name, "must be a list of steps (objects with a 'type')")
    return [dict(s) for s in v]


_VALIDATORS: dict[str, Callable[[Param, Any], Any]] = {
    INT: lambda p, v: _number(p, v, True),
    FLOAT: lambda p, v: _number(p, v, False),
    BOOL: _check_bool,
    CHOICE: _check_choice,
    STR: _check_text,
    PATH: _check_text,
    INTS: lambda p, v: _numbers(p, v, True),
    FLOATS: lambda p, v: _numbers(p, v, False),
    TUPLE: _check_tuple,
    SHAPE: _check_shape,
    MATRIX: _check_matrix,
    STEPS: _check_steps,
}
