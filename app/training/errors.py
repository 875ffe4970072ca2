"""Error types of the training engine; every message is one readable line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from app.core.params import Param, ParamError, validate_params
from app.core.project import field_name

T = TypeVar("T")


class ConfigError(ValueError):
    """A TrainConfig field is invalid; the message starts with the field's path."""


class TrainingError(RuntimeError):
    """The run cannot go on (bad targets for the loss, NaN loss, device trouble...)."""


def checked_object(value: Any, where: str) -> dict[str, Any]:
    """A section that must be a JSON object; None (absent) is the empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        text = repr(value)
        raise ConfigError(f"{where}: must be an object, got "
                          f"{text if len(text) <= 60 else text[:57] + '...'}")
    return value


def checked_params(params: Sequence[Param], values: Any, where: str) -> dict[str, Any]:
    """The values checked against the schema; a refusal becomes a ConfigError at `where`."""
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"{where}: must be an object, got {values!r}")
    try:
        return validate_params(params, values)
    except ParamError as exc:
        raise ConfigError(f"{where}.{field_name(exc.field)}: {exc.reason}") from None


def checked_value(param: Param, value: Any, where: str) -> Any:
    """One value checked against its parameter; a refusal becomes a ConfigError at `where`."""
    try:
        return param.validate(value)
    except ParamError as exc:
        raise ConfigError(f"{where}: {exc.reason}") from None


def lookup(table: Mapping[str, T], name: Any, what: str, where: str) -> T:
    """A registry entry by name, or a ConfigError listing the names that exist."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ConfigError(f"{where}: unknown {what} {name!r} (known: {', '.join(table)})") \
            from None
