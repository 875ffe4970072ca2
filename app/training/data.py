"""The project file's "data" section -> a DatasetBundle, through app.data.sources."""

from __future__ import annotations

from typing import Any

from app.training.errors import ConfigError

SPLIT_FIELDS = ("val_fraction", "test_fraction", "seed")


def load_data(section: dict[str, Any], default_source: str = "") -> Any:
    """`section` is {"source": id, "params": {...}, "split": {...}, "train_transforms":
    [...], "eval_transforms": [...]}; missing keys fall back to the defaults."""
    from app.data.sources import DataSourceError, SplitConfig, load_source

    source = section.get("source") or default_source
    if not source:
        raise ConfigError("data.source: no data source given")
    split = section.get("split") or {}
    if not isinstance(split, dict) or any(k not in SPLIT_FIELDS for k in split):
        raise ConfigError(f"data.split: must be an object with {', '.join(SPLIT_FIELDS)}")
    params = dict(section.get("params") or {})
    try:
        return load_source(source, params, split=SplitConfig(**split),
                           train_transforms=section.get("train_transforms"),
                           eval_transforms=section.get("eval_transforms"))
    except DataSourceError as exc:
        raise ConfigError(f"data: {exc}") from None
