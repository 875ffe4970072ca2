"""Parameter descriptions shared by dataset sources and augmentation steps.

A ``ParamSpec`` is plain data the GUI turns into an editor; ``check_value``
validates and normalises one user value against it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Number = int | float


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: ``kind`` is one of ``KINDS``.

    For ``ints``/``floats`` a value is a scalar (when ``scalar_ok``) or a list
    whose length is in ``lengths`` (any length when empty); ``ordered`` asks
    for non-decreasing items (a (min, max) pair). ``choices`` lists the allowed
    values of a ``choice`` and, for other kinds, extra literal values accepted
    as-is (RandomErasing's ``"random"``). ``nullable`` accepts ``None``.
    """

    name: str
    kind: str
    default: Any
    minimum: Number | None = None
    maximum: Number | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    lengths: tuple[int, ...] = ()
    scalar_ok: bool = True
    ordered: bool = False
    nullable: bool = False


class ParamError(ValueError):
    """Raised by ``check_value``; the caller prefixes the step or source name."""


def _number(spec: ParamSpec, value: Any, integer: bool) -> Number:
    # bool is an int subclass; True is never a sensible size or angle.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(f"expects {'an integer' if integer else 'a number'}, got {value!r}")
    if integer and not float(value).is_integer():
        raise ParamError(f"expects an integer, got {value!r}")
    if not math.isfinite(value):
        raise ParamError(f"expects a finite number, got {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise ParamError(f"must be >= {spec.minimum}, got {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise ParamError(f"must be <= {spec.maximum}, got {value!r}")
    return int(value) if integer else float(value)


def _sequence(spec: ParamSpec, value: Any, integer: bool) -> Number | list[Number]:
    if not isinstance(value, list | tuple):
        if not spec.scalar_ok:
            raise ParamError(f"expects a list of {_lengths_text(spec)} numbers, got {value!r}")
        return _number(spec, value, integer)
    if (spec.lengths and len(value) not in spec.lengths) or not value:
        one = " or a single number" if spec.scalar_ok else ""
        raise ParamError(
            f"expects a list of {_lengths_text(spec)} numbers{one}, got {len(value)}: {list(value)!r}"
        )
    items = [_number(spec, v, integer) for v in value]
    if spec.ordered and any(a > b for a, b in itertools.pairwise(items)):
        raise ParamError(f"expects (min, max) in increasing order, got {items!r}")
    return items


def _lengths_text(spec: ParamSpec) -> str:
    return " or ".join(str(n) for n in spec.lengths) if spec.lengths else "one or more"


def _bool(spec: ParamSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError(f"expects true or false, got {value!r}")
    return value


def _text(spec: ParamSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(f"expects text, got {value!r}")
    return value


def _choice(spec: ParamSpec, value: Any) -> Any:
    if value not in (spec.choices or ()):
        raise ParamError(f"must be one of {list(spec.choices or ())!r}, got {value!r}")
    return value


def _matrix(spec: ParamSpec, value: Any) -> list[list[float]]:
    if not isinstance(value, list | tuple) or not value:
        raise ParamError("expects a square matrix as a list of rows")
    rows = [_sequence(ParamSpec(spec.name, "floats", None, scalar_ok=False), r, False) for r in value]
    if any(len(r) != len(rows) for r in rows):
        raise ParamError(f"expects a square matrix, got {len(rows)} rows of lengths "
                         f"{sorted({len(r) for r in rows})}")
    return rows


def _steps(spec: ParamSpec, value: Any) -> list[dict]:
    if not isinstance(value, list | tuple) or not all(isinstance(s, dict) for s in value):
        raise ParamError("expects a list of steps (objects with a 'type')")
    return [dict(s) for s in value]


KINDS: dict[str, Callable[[ParamSpec, Any], Any]] = {
    "int": lambda s, v: _number(s, v, True),
    "float": lambda s, v: _number(s, v, False),
    "ints": lambda s, v: _sequence(s, v, True),
    "floats": lambda s, v: _sequence(s, v, False),
    "bool": _bool,
    "str": _text,
    "path": _text,
    "choice": _choice,
    "matrix": _matrix,
    "steps": _steps,
}


def check_value(spec: ParamSpec, value: Any) -> Any:
    """Return ``value`` normalised (tuples become lists) or raise ``ParamError``."""
    if value is None and spec.nullable:
        return None
    if spec.kind != "choice" and spec.choices and value in spec.choices:
        return value
    return KINDS[spec.kind](spec, value)


def fill_params(
    specs: list[ParamSpec], values: dict | None, owner: str, error: type[ValueError]
) -> dict[str, Any]:
    """Check ``values`` against ``specs``, adding defaults; unknown names are refused."""
    values = dict(values or {})
    known = {s.name for s in specs}
    unknown = sorted(set(values) - known)
    if unknown:
        raise error(f"{owner}: unknown parameter {unknown[0]!r}; known: {sorted(known)}")
    out = {}
    for spec in specs:
        raw = values.get(spec.name, spec.default)
        try:
            out[spec.name] = check_value(spec, raw)
        except ParamError as exc:
            hint = f" ({spec.help})" if spec.help else ""
            raise error(f"{owner}: field '{spec.name}' {exc}{hint}") from None
    return out
