"""CSV tables as tensors, preprocessed as in d2l's Kaggle house-price exercise.

Numeric feature columns are standardised ((x - mean) / std, std with ddof=1
as pandas computes it) and their missing values then set to 0, the mean.
Other columns are one-hot encoded with missing values as their own category
(pandas ``get_dummies(dummy_na=True)``): numeric columns first, then the
indicator columns ``name_value`` in sorted value order and ``name_nan`` last.
Only the standard library and numpy are used: pandas is not a runtime
dependency.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from app.core.lazy import lazy_module
from app.core.params import Param
from app.data.errors import DataSourceError
from app.data.source_spec import Progress, RawData, SourceSpec, tensor_data

np = lazy_module("numpy")
torch = lazy_module("torch")  # imported when data is generated, not when listed

# pandas' default missing-value markers, so files read the same way in both.
MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                     "nan", "null"})


@dataclass
class Table:
    """Features ``x`` (float64), target ``y`` and the names of both."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str] | None


def standardize_columns(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std per column (ddof=1, NaN ignored); NaN and constant columns -> 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1])
        count = np.sum(~np.isnan(x), axis=0)
        std = np.sqrt(np.nansum((x - mean) ** 2, axis=0) / (count - 1))
        out = (x - mean) / std
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def read_csv(path: str, source: str = "csv") -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file, with a clear error when it cannot be read."""
    if not str(path).strip():
        raise DataSourceError(f"{source}: no file chosen: set the 'path' field to a .csv "
                              "table with a header row")
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataSourceError(f"{source}: file not found: {file}")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"{source}: cannot read {file} ({exc.strerror or exc})") from None
    reader = csv.reader(io.StringIO(_decode(raw), newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:  # a NUL byte (UTF-16?), a field over csv.field_size_limit()
        raise DataSourceError(f"{source}: {file} line {reader.line_num} cannot be read as "
                              f"CSV ({exc})") from None
    if len(rows) < 2:
        raise DataSourceError(f"{source}: {file} needs a header row and at least one data row")
    header, body = rows[0], [r for r in rows[1:] if r]
    bad = next((i for i, r in enumerate(body) if len(r) != len(header)), None)
    if bad is not None:
        raise DataSourceError(f"{source}: {file} row {bad + 2} has {len(body[bad])} fields, "
                              f"the header has {len(header)}")
    return header, body


def _decode(raw: bytes) -> str:
    """UTF-16 when it starts with its byte-order mark, UTF-8 (with or without one), else
    Latin-1, which spreadsheets on Windows write. Latin-1 maps every byte to a character,
    so text columns keep distinct categories even when a few characters show wrongly."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _as_float(values: list[str]) -> np.ndarray | None:
    """Column as floats with NaN for missing values, or None if any value is text."""
    out = np.empty(len(values))
    for i, value in enumerate(values):
        if value.strip() in MISSING:
            out[i] = math.nan
            continue
        try:
            out[i] = float(value)
        except ValueError:
            return None
    return out


def _one_hot(name: str, values: list[str]) -> tuple[np.ndarray, list[str]]:
    present = [v if v.strip() not in MISSING else None for v in values]
    categories = sorted({v for v in present if v is not None})
    columns = [np.array([v == c for v in present], dtype=np.float64) for c in categories]
    columns.append(np.array([v is None for v in present], dtype=np.float64))
    return np.stack(columns, axis=1), [f"{name}_{c}" for c in categories] + [f"{name}_nan"]


def _target(values: list[str], column: str, task: str, log: bool) -> tuple[np.ndarray, list | None]:
    missing = [i + 2 for i, v in enumerate(values) if v.strip() in MISSING]
    if missing:
        raise DataSourceError(f"csv: target column '{column}' has {len(missing)} missing "
                              f"value(s), first in row {missing[0]}")
    numbers = _as_float(values)
    if task == "classification":
        keys = numbers.tolist() if numbers is not None else values
        names = [str(k) for k in sorted(set(keys))]
        lookup = {k: i for i, k in enumerate(sorted(set(keys)))}
        return np.array([lookup[k] for k in keys], dtype=np.int64), names
    if numbers is None:
        bad = next(v for v in values if _as_float([v]) is None)
        raise DataSourceError(f"csv: target column '{column}' must be numeric for regression, "
                              f"found {bad!r}")
    if log:
        if (numbers <= 0).any():
            raise DataSourceError(f"csv: target column '{column}' has values <= 0; the log "
                                  f"transform needs positive targets")
        numbers = np.log(numbers)
    return numbers, None


def preprocess_table(header: list[str], rows: list[list[str]], target: str, task: str, *,
                     log_target: bool = False, drop: tuple[str, ...] = ()) -> Table:
    """Turn raw CSV cells into standardised numeric and one-hot features plus the target."""
    if target not in header:
        raise DataSourceError(f"csv: no target column '{target}'; columns: {header}")
    unknown = [d for d in drop if d not in header]
    if unknown:
        raise DataSourceError(f"csv: cannot drop unknown column '{unknown[0]}'")
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    y, class_names = _target(columns[target], target, task, log_target)
    numeric, numeric_names, encoded, encoded_names = [], [], [], []
    for name in header:
        if name == target or name in drop:
            continue
        values = _as_float(columns[name])
        if values is not None:
            numeric.append(values)
            numeric_names.append(name)
        else:
            block, names = _one_hot(name, columns[name])
            encoded.append(block)
            encoded_names += names
    parts = [standardize_columns(np.stack(numeric, axis=1))] if numeric else []
    x = np.concatenate(parts + encoded, axis=1) if parts or encoded else np.zeros((len(rows), 0))
    if x.shape[1] == 0:
        raise DataSourceError(f"csv: no feature columns left besides the target '{target}'")
    return Table(x, y, numeric_names + encoded_names, class_names)


def _load_csv(params: dict, progress: Progress | None) -> RawData:
    header, rows = read_csv(params["path"])
    drop = tuple(c.strip() for c in params["drop_columns"].split(",") if c.strip())
    table = preprocess_table(header, rows, params["target"], params["task"],
                             log_target=params["log_target"], drop=drop)
    data = tensor_data(torch.from_numpy(table.x), torch.from_numpy(table.y), params["task"])
    return RawData(data, params["task"], table.class_names, feature_names=table.feature_names)


SPECS = [
    SourceSpec("csv", "CSV table", "A table with a header row. Pick the target column; numeric "
               "columns are standardised, text columns one-hot encoded (missing = own "
               "category).", "files",
               [Param("path", "path", "", help="the .csv file"),
                Param("target", "str", "", help="name of the column to predict"),
                Param("task", "choice", "regression", choices=("regression",
                                                                   "classification"),
                          help="predict a number or a class"),
                Param("log_target", "bool", False,
                      help="predict log(target), as for house prices (log-RMSE)"),
                Param("drop_columns", "str", "",
                      help="comma-separated columns to ignore, e.g. an Id")],
               _load_csv),
]
