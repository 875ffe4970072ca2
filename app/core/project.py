"""Project files: versioned JSON holding the network, data and training settings.

Saving is atomic (temp file in the same folder, fsync, rename), so a crash mid-save
leaves the previous file intact. Loading validates everything and raises ProjectError
with one line naming the field; nothing in a file is ever executed. Every value is bounded
before anything reads it: nesting depth, integers and floats (see `check_bounds`), so no
input reaches a RecursionError or an OverflowError. The "data" and "training" sections are
checked here only as objects; their fields are checked by app.training.sections, which
knows the data sources and the training settings (the core imports neither).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from app.core.catalogue import CATALOGUE
from app.core.fileio import write_atomic
from app.core.graph import DocumentError, NetworkDocument, check_identifier, check_path
from app.core.params import ParamError

FORMAT = "torchcanvas"
VERSION = 1
MAX_BYTES = 50 * 1024 * 1024
# A project is about 8 levels deep (nested augmentation steps add 2 each); the JSON
# parser itself gives up near 1000 levels, and deep values would overflow the recursion
# of copy.deepcopy, json.dumps and the validators long before that.
MAX_DEPTH = 40
MAX_INT = 2**63 - 1
MAX_POS = 1e9
SHORT_LIST = 8  # longer lists of plain values are saved on one line  # canvas coordinates: far beyond any screen, well inside a float


class ProjectError(ValueError):
    """The file cannot be used; the message is one line naming the file and the problem."""


@dataclass
class Project:
    network: NetworkDocument
    name: str = "Untitled"
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    canvas: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "network": self.network.to_dict(),
            "data": self.data,
            "training": self.training,
            "canvas": self.canvas,
        }


# Each entry upgrades a file from version N to N + 1; load applies them in turn.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def to_json(project: Project) -> str:
    return _layout(project.to_dict(), "") + "\n"


def _layout(value: Any, pad: str) -> str:
    """json.dumps(indent=2, sort_keys=True), except that a list of more than SHORT_LIST
    plain values stays on one line: one number per indented line made a re-saved file 4-5
    times its size (a 45 MB file became 207 MB, over the size that loads)."""
    inner = pad + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k))}: {_layout(value[k], inner)}"
                 for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and (
            len(value) <= SHORT_LIST or any(isinstance(v, dict | list) for v in value)):
        return "[\n" + ",\n".join(inner + _layout(v, inner) for v in value) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, separators=(",", ":"), sort_keys=True)


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Refuses (ProjectError) a project larger than load accepts rather than writing it."""
    payload = to_json(project).encode("utf-8")
    if len(payload) > MAX_BYTES:
        raise ProjectError(f"{path}: the project would be {len(payload) / 2**20:.0f} MiB, "
                           f"over the {MAX_BYTES // 2**20} MiB a project file may hold")
    write_atomic(Path(path), payload)


def load_project(path: str | os.PathLike[str]) -> Project:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ProjectError(f"{path}: file is larger than {MAX_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read it ({exc})") from None
    return project_from_json(text, str(path))


def project_from_json(text: str, source: str = "project") -> Project:
    data = parse_json(text, source)
    try:
        return project_from_dict(data)
    except (ProjectError, DocumentError) as exc:
        raise ProjectError(f"{source}: {exc}") from None


def parse_json(text: str, source: str = "project") -> Any:
    """json.loads for files from anywhere: every refusal (bad syntax, nesting beyond the
    parser, a 5000-digit number) a ProjectError of one line starting with `source`. The
    values are bounded by project_from_dict (check_bounds)."""
    try:
        data = json.loads(text)  # NaN, Infinity and 1e999 are refused by check_bounds
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}); the file may be truncated") from None
    except RecursionError:
        raise ProjectError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        reason = str(exc).splitlines()[0] if str(exc) else "a value is out of range"
        raise ProjectError(f"{source}: not valid JSON ({reason})") from None
    return data


def check_bounds(data: Any, where: str = "") -> None:
    """Depth at most MAX_DEPTH, integers within +-MAX_INT, floats finite; iterative, so any
    depth is refused without recursion. Raises ProjectError naming the first bad path."""
    stack: list[tuple[Any, str, int]] = [(data, where, 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            where = path if len(path) <= 60 else path[:57] + "..."
            _fail(where or "file", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                _fail(path or "value", f"number too large ({len(str(abs(value)))} digits)")
        elif isinstance(value, float):
            if not math.isfinite(value):
                _fail(path or "value", "must be a finite number")
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{field_name(k)}" if path else field_name(k), depth + 1)
                         for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
        else:
            _fail(path or "value", f"{type(value).__name__} is not a JSON value")


def project_from_dict(data: Any) -> Project:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError("not a TorchCanvas project (missing \"format\": \"torchcanvas\")")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise ProjectError(f"version must be a positive whole number (got {version!r})")
    if version > VERSION:
        raise ProjectError(f"file version {version} is newer than this TorchCanvas "
                           f"understands ({VERSION}); update TorchCanvas")
    data = migrate(data, version)
    validate_schema(data)  # first: it names network fields best ("pos: must be two ...")
    check_bounds(data)
    name = data.get("name", "Untitled")
    if not isinstance(name, str):
        raise ProjectError("name must be text")
    sections = {}
    for key in ("data", "training", "canvas"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise ProjectError(f"{key} must be an object")
        sections[key] = value
    if "network" not in data:
        raise ProjectError("missing the 'network' section")
    try:
        network = NetworkDocument.from_dict(data["network"])
    except DocumentError as exc:
        raise ProjectError(f"network: {exc}") from None
    return Project(network, name, **sections)


def migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Apply MIGRATIONS[version], MIGRATIONS[version + 1], ... up to the current VERSION."""
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectError(f"no migration from file version {version} to {version + 1}")
        data = step(data)
        version += 1
    return data


# -- schema validation: every message starts with the path of the offending field ------------

def field_name(key: Any) -> str:
    """A key as it reads in a one-line message: plain names as they are, others quoted
    (a key may hold a line break or be very long)."""
    text = str(key)
    return text if text.isidentifier() and len(text) <= 40 else repr(text[:40])


def _fail(path: str, message: str) -> NoReturn:
    raise ProjectError(f"{path}: {message}")


def _check_node(i: int, item: Any) -> None:
    path = f"network.nodes[{i}]"
    if not isinstance(item, dict):
        _fail(path, "must be an object with name, type and params")
    for key in ("name", "type"):
        if not isinstance(item.get(key), str):
            _fail(f"{path}.{key}", "missing or not text")
    try:
        check_identifier(item["name"])
    except DocumentError as exc:
        _fail(f"{path}.name", str(exc))
    spec = CATALOGUE.get(item["type"])
    if spec is None:
        _fail(f"{path}.type", f"unknown layer type {item['type'][:40]!r}")
    params = item.get("params", {})
    if not isinstance(params, dict):
        _fail(f"{path}.params", "must be an object")
    known = {p.name: p for p in spec.params}
    for key, value in params.items():
        if key not in known:
            _fail(f"{path}.params.{field_name(key)}", f"{spec.type} has no such parameter")
        try:
            known[key].validate(value)
        except ParamError as exc:
            _fail(f"{path}.params.{key}", exc.reason)
    if item.get("path") is not None:  # absent or null: the module sits at the node's name
        try:
            check_path(item["path"])
        except DocumentError as exc:
            _fail(f"{path}.path", str(exc))
    pos = item.get("pos", [0.0, 0.0])
    # Finite and bounded: saving writes strict JSON (no Infinity or NaN), and the canvas
    # turns the numbers into floats (an integer like 10**400 has none).
    if (not isinstance(pos, list) or len(pos) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and abs(v) <= MAX_POS
            for v in pos)):
        _fail(f"{path}.pos", f"must be two finite numbers between -{MAX_POS:.0e} and "
                             f"{MAX_POS:.0e}")


def _check_edge(i: int, item: Any, names: set[str]) -> None:
    path = f"network.edges[{i}]"
    if not isinstance(item, dict):
        _fail(path, "must be an object with src, src_port, dst and dst_port")
    for key in ("src", "src_port", "dst", "dst_port"):
        if not isinstance(item.get(key), str):
            _fail(f"{path}.{key}", "missing or not text")
    for key in ("src", "dst"):
        if item[key] not in names:
            _fail(f"{path}.{key}", f"no node named {item[key][:40]!r}")


def validate_schema(data: dict[str, Any]) -> None:
    """Structure and parameter values, checked before anything is built; raises ProjectError
    naming the field, e.g. "network.nodes[3].params.kernel_size: must be a whole number"."""
    if not isinstance(data.get("name", ""), str):
        _fail("name", "must be text")
    for key in ("data", "training", "canvas"):
        if not isinstance(data.get(key, {}), dict):
            _fail(key, "must be an object")
    network = data.get("network")
    if not isinstance(network, dict):
        _fail("network", "missing, or not an object with nodes and edges")
    for key in ("nodes", "edges"):
        if not isinstance(network.get(key, []), list):
            _fail(f"network.{key}", "must be a list")
    names: set[str] = set()
    for i, item in enumerate(network.get("nodes", [])):
        _check_node(i, item)
        if item["name"] in names:
            _fail(f"network.nodes[{i}].name", f"{item['name']!r} is used twice")
        names.add(item["name"])
    for i, item in enumerate(network.get("edges", [])):
        _check_edge(i, item, names)
