"""Hostile or damaged project files: every one loads or gives ProjectError, nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.codegen import generate_code
from app.core.compiler import CompileError
from app.core.project import Project, ProjectError, project_from_json, to_json
from app.core.templates import build_template

BASE = json.loads(to_json(Project(build_template("residual_cnn"), name="fuzz")))

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.integers(), st.integers(-10**400, 10**400),  # beyond int64 and beyond any float
    st.integers(1, 200).map(lambda n: json.loads("[" * n + "]" * n)),  # deep nesting
    st.text(max_size=12), st.lists(st.integers(-3, 40), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
    st.sampled_from(["__import__('os').system('x')", "conv1", "in1", "out", "indices",
                     "Conv2d", "-1", "1e309"]),
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


PATHS = _paths(BASE)[1:]


def _set(data: Any, path: tuple, value: Any) -> Any:
    """A copy with `value` at `path`; unchanged when an earlier edit removed the path."""
    data = json.loads(json.dumps(data))
    target = data
    try:
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=3))
def test_mutated_project_loads_or_is_refused_cleanly(edits: list[tuple[tuple, Any]]) -> None:
    data = BASE
    for path, value in edits:
        data = _set(data, path, value)
    text = json.dumps(data)
    try:
        project = project_from_json(text, "fuzz.json")
    except ProjectError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json: ") and "\n" not in message
        return
    # Anything accepted must round-trip and export without executing project text.
    assert json.loads(to_json(project))["network"] == project.network.to_dict()
    try:
        code = generate_code(project.network)
    except CompileError:
        return  # a valid file holding a broken network: the editor shows the problems
    assert "__import__" not in code and "system(" not in code


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=3),
       extra=st.dictionaries(st.sampled_from(["data", "training", "canvas", "network"]),
                             st.dictionaries(st.text(max_size=5), JUNK, max_size=2),
                             max_size=2))
def test_mutated_project_with_added_keys_loads_or_gives_one_line(
        edits: list[tuple[tuple, Any]], extra: dict[str, dict]) -> None:
    """The loader alone, 1000 inputs: values of any kind and size, keys added anywhere."""
    data = BASE
    for path, value in edits:
        data = _set(data, path, value)
    for section, keys in extra.items():
        if isinstance(data.get(section), dict):
            data[section].update(keys)
    try:
        project = project_from_json(json.dumps(data), "fuzz.json")
    except ProjectError as exc:
        assert str(exc).startswith("fuzz.json: ") and "\n" not in str(exc)
        return
    assert isinstance(project.network.to_dict(), dict)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, len(json.dumps(BASE)) - 1))
def test_truncated_files_are_refused_with_one_line(cut: int) -> None:
    text = json.dumps(BASE)[:cut]
    try:
        project_from_json(text, "cut.json")
    except ProjectError as exc:
        assert "\n" not in str(exc)
    else:
        raise AssertionError("a truncated file loaded")
