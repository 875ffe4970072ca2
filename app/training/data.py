"""The project file's "data" section -> a DatasetBundle, through app.data.sources."""

from __future__ import annotations

from typing import Any

from app.training.errors import ConfigError
from app.training.sections import check_data_section


def load_data(section: dict[str, Any], default_source: str = "") -> Any:
    """`section` is {"source": id, "params": {...}, "split": {...}, "train_transforms":
    [...], "eval_transforms": [...]}; missing keys fall back to the defaults. Every field
    is checked (check_data_section) before anything is loaded."""
    from app.data.sources import DataSourceError, SplitConfig, load_source

    if isinstance(section, dict) and not section.get("source") and default_source:
        section = {**section, "source": default_source}
    checked = check_data_section(section)
    if not checked:
        raise ConfigError("data.source: no data source given")
    try:
        return load_source(checked["source"], checked["params"],
                           split=SplitConfig(**checked["split"]),
                           train_transforms=checked.get("train_transforms"),
                           eval_transforms=checked.get("eval_transforms"))
    except DataSourceError as exc:
        raise ConfigError(f"data: {exc}") from None
