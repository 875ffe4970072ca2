"""Typed parameters for the loss, optimizer, scheduler and init registries.

One ParamSpec per torch constructor argument (torch's own name and default), so the
GUI can draw an editor for it and TrainConfig.from_dict can validate a project file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.training.errors import ConfigError

FLOAT = "float"
INT = "int"
BOOL = "bool"
CHOICE = "choice"
FLOATS = "floats"  # a list of floats (class weights, betas, etas)
INTS = "ints"  # a list of ints (milestones)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False  # None is a legal value (class weights not given)
    length: int | None = None  # fixed length of a FLOATS/INTS value (betas: 2)

    def validate(self, value: Any, where: str) -> Any:
        """The value in its JSON form, or ConfigError naming `where`."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(f"{where}: needs a value")
        return _CHECKERS[self.kind](self, value, where)


def _number(spec: ParamSpec, value: Any, where: str, kind: type) -> float | int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok or not math.isfinite(value):
        name = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{where}: must be {name}, got {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise ConfigError(f"{where}: must be >= {spec.minimum}, got {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise ConfigError(f"{where}: must be <= {spec.maximum}, got {value!r}")
    return kind(value)


def _bool(spec: ParamSpec, value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    return value


def _choice(spec: ParamSpec, value: Any, where: str) -> Any:
    if value not in spec.choices:
        options = ", ".join(repr(c) for c in spec.choices)
        raise ConfigError(f"{where}: must be one of {options}, got {value!r}")
    return value


def _list(spec: ParamSpec, value: Any, where: str, kind: type) -> list:
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{where}: must be a non-empty list, got {value!r}")
    if spec.length is not None and len(value) != spec.length:
        raise ConfigError(f"{where}: must hold {spec.length} values, got {len(value)}")
    return [_number(spec, v, f"{where}[{i}]", kind) for i, v in enumerate(value)]


_CHECKERS: dict[str, Callable[[ParamSpec, Any, str], Any]] = {
    FLOAT: lambda s, v, w: _number(s, v, w, float),
    INT: lambda s, v, w: _number(s, v, w, int),
    BOOL: _bool,
    CHOICE: _choice,
    FLOATS: lambda s, v, w: _list(s, v, w, float),
    INTS: lambda s, v, w: _list(s, v, w, int),
}


def validate_params(specs: tuple[ParamSpec, ...], values: Any, where: str) -> dict[str, Any]:
    """Defaults filled in, every value checked; unknown names are errors (typos)."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: must be an object, got {values!r}")
    known = {s.name: s for s in specs}
    for name in values:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise ConfigError(f"{where}.{name}: unknown parameter (known: {listed})")
    return {s.name: s.validate(values.get(s.name, s.default), f"{where}.{s.name}")
            for s in specs}


def reduction(*extra: str, default: str = "mean") -> ParamSpec:
    return ParamSpec("reduction", CHOICE, default, "how per-sample losses are combined; "
                     "'none' is averaged for the backward pass", choices=("none", "mean",
                                                                         "sum", *extra))
