"""The project file's "data" and "training" sections, checked field by field.

app.core.project checks the file's structure, nesting and numbers and the network; it
cannot know the data sources or the training settings (the core imports neither), so
these checks live here and every entry point calls them after load_project: `check`,
`info`, `train`, `export` and the GUI's Data and Training panels. Messages are one line
starting with the field path ("data.split.val_fraction: must be <= 0.9 (got 5)").
"""

from __future__ import annotations

from typing import Any

from app.core.project import field_name
from app.data.splits import SPLIT
from app.training.errors import ConfigError, checked_object, checked_params

DATA_FIELDS = ("source", "params", "split", "train_transforms", "eval_transforms")
# Training runs in float32: a larger value becomes inf inside torch and fails there.
FLOAT32_MAX = 3.4028234663852886e38
# No TorchCanvas layer makes sparse gradients, which SparseAdam needs for every weight.
PROJECT_REFUSED_OPTIMIZERS = {
    "SparseAdam": "needs sparse gradients (nn.Embedding(sparse=True) everywhere), which no "
                  "TorchCanvas layer produces; choose Adam",
}


def check_data_section(section: Any, where: str = "data") -> dict[str, Any]:
    """The section with its parameters checked against its source; {} stays {} (no data
    chosen yet). Loading the data can still fail (a missing file), with its own message."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be an object, got {_short(section)}")
    for key in section:
        if key not in DATA_FIELDS:
            raise ConfigError(f"{where}.{field_name(key)}: unknown field "
                              f"(known: {', '.join(DATA_FIELDS)})")
    source = section.get("source")
    if source in (None, ""):
        if any(section.get(k) for k in DATA_FIELDS):
            raise ConfigError(f"{where}.source: no data source given")
        return {}
    if not isinstance(source, str):
        raise ConfigError(f"{where}.source: must be a data source id (text), "
                          f"got {_short(source)}")
    from app.data.registry import SOURCES

    spec = SOURCES.get(source)
    if spec is None:
        raise ConfigError(f"{where}.source: unknown data source {source[:40]!r} "
                          f"(known: {', '.join(SOURCES)})")
    params = checked_params(spec.params, checked_object(section.get("params"), f"{where}.params"),
                            f"{where}.params")
    split = checked_params(SPLIT, checked_object(section.get("split"), f"{where}.split"),
                           f"{where}.split")
    if split["val_fraction"] + split["test_fraction"] >= 1.0:
        raise ConfigError(f"{where}.split: val_fraction + test_fraction must stay below 1 "
                          f"so training samples remain (got {split['val_fraction']} + "
                          f"{split['test_fraction']})")
    out = {"source": source, "params": params, "split": split}
    for key in ("train_transforms", "eval_transforms"):
        if section.get(key) is not None:
            out[key] = _pipeline(section[key], f"{where}.{key}")
    return out


def _pipeline(steps: Any, where: str) -> list[dict[str, Any]]:
    from app.data.augment import normalize_steps
    from app.data.errors import AugmentError

    if not isinstance(steps, list):
        raise ConfigError(f"{where}: must be a list of steps, got {_short(steps)}")
    try:
        return normalize_steps(steps)
    except AugmentError as exc:
        raise ConfigError(f"{where} {exc}") from None


def check_training_section(section: Any, where: str = "training") -> Any:
    """The TrainConfig of a training section ({} gives the defaults); ConfigError if not."""
    from app.training.config import TrainConfig

    config = TrainConfig.from_dict(checked_object(section, where), where)
    _check_float32(config.to_dict(), where)
    reason = PROJECT_REFUSED_OPTIMIZERS.get(config.optimizer.name)
    if reason:
        raise ConfigError(f"{where}.optimizer.name: {config.optimizer.name} {reason}")
    return config


def section_problems(project: Any) -> list[str]:
    """One line per invalid section of `project` (its data and training); [] if all is well."""
    problems = []
    for check, value in ((check_data_section, project.data),
                         (check_training_section, project.training)):
        try:
            check(value)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def check_sections(project: Any) -> None:
    """Raise ConfigError for the first invalid section of `project`."""
    problems = section_problems(project)
    if problems:
        raise ConfigError(problems[0])


def _check_float32(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_float32(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_float32(item, f"{where}[{i}]")
    elif isinstance(value, float) and abs(value) > FLOAT32_MAX:
        raise ConfigError(f"{where}: {value:g} is too large (training computes in float32, "
                          f"at most {FLOAT32_MAX:.1e})")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
