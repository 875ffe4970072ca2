"""Error types shared by the data modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.core.params import Param, ParamError, validate_params


class DataSourceError(ValueError):
    """One-line, readable message naming the source, field or file at fault."""


class AugmentError(DataSourceError):
    """An augmentation step or its parameters are invalid; names step and field."""


def checked_params(params: Sequence[Param], values: Mapping[str, Any] | None, owner: str,
                   error: type[DataSourceError]) -> dict[str, Any]:
    """The values checked against the schema, a refusal re-raised as `error` naming `owner`."""
    try:
        return validate_params(params, values)
    except ParamError as exc:
        helps = {p.name: p.help for p in params}
        # The help says what the field is for, which often explains the refusal.
        hint = f" ({helps[exc.field]})" if helps.get(exc.field) else ""
        raise error(f"{owner}: field '{exc.field}' {exc.reason}{hint}") from None
