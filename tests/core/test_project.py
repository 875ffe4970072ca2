"""Project files: byte-identical round trips, field-naming errors, migrations, examples."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from app.core import project as project_module
from app.core.project import (
    Project,
    ProjectError,
    load_project,
    project_from_json,
    save_project,
    to_json,
)
from app.core.templates import TEMPLATES, build_template

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _generator():
    spec = importlib.util.spec_from_file_location("examples_generate", EXAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_save_load_save_is_byte_identical(template_id: str, tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    second = tmp_path / "b.json"
    save_project(Project(build_template(template_id), name=template_id,
                         data={"source": TEMPLATES[template_id].dataset}), first)
    save_project(load_project(first), second)
    assert first.read_bytes() == second.read_bytes()


def test_committed_examples_are_current_and_load() -> None:
    files = _generator().example_files()
    assert {p.name for p in files} == {p.name for p in EXAMPLES.glob("*.json")}
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: rerun generate.py"
        assert to_json(load_project(path)) == text


def _lenet_dict() -> dict:
    return Project(build_template("lenet5")).to_dict()


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["network"]["nodes"][3]["params"].update(kernel_size=2.5),
     "network.nodes[3].params.kernel_size: must be a whole number (got 2.5)"),
    (lambda d: d["network"]["nodes"][1]["params"].update(stride=[1, 2, 3]),
     "network.nodes[1].params.stride: takes one number or 2 numbers (got 3)"),
    (lambda d: d["network"]["nodes"][2].update(type="Conv9d"),
     "network.nodes[2].type: unknown layer type 'Conv9d'"),
    (lambda d: d["network"]["nodes"][2].update(name="__import__('os')"),
     "network.nodes[2].name: "),
    (lambda d: d["network"]["nodes"][1]["params"].update(colour="red"),
     "network.nodes[1].params.colour: Conv2d has no such parameter"),
    (lambda d: d["network"]["nodes"][0].update(pos=[1, "a"]),
     "network.nodes[0].pos: must be two finite numbers"),
    (lambda d: d["network"]["nodes"][0].update(pos=[1, float("inf")]),
     "network.nodes[0].pos: must be two finite numbers"),
    (lambda d: d["network"]["nodes"][1].update(path="features.0.class"),
     ("network.nodes[1].path: module path 'features.0.class': 'class' is not a valid path "
      "segment")),
    (lambda d: d["network"]["nodes"][1].update(path=7), "network.nodes[1].path: module path"),
    (lambda d: d["network"]["edges"][4].update(dst="ghost"),
     "network.edges[4].dst: no node named 'ghost'"),
    (lambda d: d["network"].update(nodes={}), "network.nodes: must be a list"),
    (lambda d: d.update(training=[]), "training: must be an object"),
    (lambda d: d.update(version=99), "file version 99 is newer"),
])
def test_schema_errors_name_the_field(mutate, expected: str) -> None:
    data = _lenet_dict()
    mutate(data)
    with pytest.raises(ProjectError) as info:
        project_from_json(json.dumps(data), "net.json")
    message = str(info.value)
    assert message.startswith("net.json: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("corrupt", ["truncated", "schema"])
def test_bad_file_gives_one_line_and_changes_nothing(corrupt: str, tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    good = to_json(Project(build_template("lenet5")))
    if corrupt == "truncated":
        text = good[: len(good) // 2]
    else:
        data = json.loads(good)
        data["network"]["nodes"][1]["params"]["kernel_size"] = "five"
        text = json.dumps(data)
    path.write_text(text)
    with pytest.raises(ProjectError) as info:
        load_project(path)
    assert "\n" not in str(info.value)
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    save_project(Project(build_template("lenet5")), path)
    before = path.read_bytes()
    bad = Project(build_template("mlp"), training={"lr": float("nan")})  # not valid JSON
    with pytest.raises(ValueError):
        save_project(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


def test_migration_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake version 2 that renamed "training" to "train": a v1 file is upgraded on load."""
    old = _lenet_dict()
    old["training"] = {"epochs": 3}

    def v1_to_v2(data: dict) -> dict:
        data = dict(data)
        data["train"] = data.pop("training")
        return data

    monkeypatch.setattr(project_module, "VERSION", 2)
    monkeypatch.setitem(project_module.MIGRATIONS, 1, v1_to_v2)
    migrated = project_module.migrate(old, 1)
    assert migrated["train"] == {"epochs": 3} and "training" not in migrated
    monkeypatch.delitem(project_module.MIGRATIONS, 1)
    with pytest.raises(ProjectError, match="no migration from file version 1 to 2"):
        project_from_json(json.dumps(old))
