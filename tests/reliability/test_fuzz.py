"""Generated hostile inputs for every loader: each gives its result or one clear line.

Cheap loaders run 1000 generated inputs in the normal (quick) run; the costly ones (the
CLI, resuming from a checkpoint) run fewer, and TC_FUZZ_EXAMPLES=N sets every count to N.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.project import Project, ProjectError, project_from_json
from app.core.templates import build_template
from app.data.errors import DataSourceError
from app.training.checkpoints import load_checkpoint, save_checkpoint
from app.training.errors import ConfigError, TrainingError
from app.training.script import ScriptError, generate_train_script
from app.training.sections import check_data_section, check_training_section
from tests.core.test_project_fuzz import _set
from tests.reliability.hostile import BASE, cli

FORCED = int(os.environ.get("TC_FUZZ_EXAMPLES", "0"))


def examples(quick: int) -> int:
    return FORCED or quick


def fuzz(quick: int) -> Any:
    return settings(max_examples=examples(quick), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


SCRATCH = Path(tempfile.mkdtemp(prefix="tc-fuzz-"))
# Plain values of every JSON kind, integers of any size, and containers of them.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**500, 10**500),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    st.sampled_from(["iris", "moons", "SGD", "Adam", "RandomCrop", "x", "",
                                     "auto", "cuda:0", "__import__('os')", "0.5"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)
CHEAP_SOURCES = ("iris", "wine", "moons", "blobs", "linear", "circles", "spirals")


def _one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message


def _mutate(section: dict, edits: list[tuple[list[str], Any]]) -> dict:
    """Set or add values at key paths (creating objects on the way; extra keys too)."""
    section = copy.deepcopy(section)
    for path, value in edits:
        target: Any = section
        for key in path[:-1]:
            if not isinstance(target, dict):
                break
            target = target.setdefault(key, {})
        if isinstance(target, dict):
            target[path[-1]] = value
    return section


DATA_KEYS = st.lists(st.sampled_from(["source", "params", "split", "train_transforms",
                                      "eval_transforms", "val_fraction", "test_fraction",
                                      "seed", "n_samples", "noise", "standardize", "type",
                                      "size", "extra"]), min_size=1, max_size=3)
DATA = st.builds(lambda source, edits: _mutate({"source": source}, edits),
                 st.sampled_from(CHEAP_SOURCES),
                 st.lists(st.tuples(DATA_KEYS, VALUES), max_size=3))


def _script(data: dict, training: dict) -> None:
    project = Project(build_template("softmax_regression"), "fuzz", data=data,
                      training=training)
    try:
        generate_train_script(project, "model")
    except ScriptError as exc:
        _one_line(str(exc))


@fuzz(1000)
@given(section=DATA)
def test_data_sections_are_checked_field_by_field(section: dict) -> None:
    try:
        checked = check_data_section(section)
    except ConfigError as exc:
        _one_line(str(exc))
        assert str(exc).startswith("data")
        return
    if checked:  # {} is a project without data yet
        assert checked["source"] in CHEAP_SOURCES
        _script(section, {})  # what the check accepts, the script generator takes


@fuzz(150)
@given(section=DATA)
def test_load_data_loads_or_names_the_field(section: dict) -> None:
    from app.training.data import load_data

    try:
        bundle = load_data(section)
    except ConfigError as exc:
        _one_line(str(exc))
        return
    assert len(bundle.train) > 0


TRAINING_KEYS = st.lists(st.sampled_from([
    "epochs", "batch_size", "optimizer", "lr", "name", "params", "momentum", "scheduler",
    "loss", "early_stopping", "patience", "regularisation", "probes", "device", "init",
    "freeze", "layer_lr", "top_k", "seed", "extra"]), min_size=1, max_size=3)
TRAINING = st.builds(lambda edits: _mutate(BASE["training"], edits),
                     st.lists(st.tuples(TRAINING_KEYS, VALUES), max_size=3))


@fuzz(1000)
@given(section=TRAINING)
def test_training_sections_are_checked_field_by_field(section: dict) -> None:
    try:
        config = check_training_section(section)
    except ConfigError as exc:
        _one_line(str(exc))
        assert str(exc).startswith("training")
        return
    assert config.epochs >= 1
    _script({"source": "iris"}, section)


@fuzz(1000)
@given(text=st.one_of(
    st.text(max_size=200),
    VALUES.map(json.dumps),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "0" + "}" * n),
    st.builds(lambda n, where: json.dumps(BASE).replace('"epochs": 1', '"epochs": '
                                                        + "9" * n, 1) if where else
              json.dumps(BASE).replace('"pos": [0.0, 0.0]', f'"pos": [{"9" * n}, 0]', 1),
              st.integers(1, 6000), st.booleans())))
def test_any_text_loads_or_is_refused_with_one_line(text: str) -> None:
    try:
        project = project_from_json(text, "fuzz.json")
    except ProjectError as exc:
        assert str(exc).startswith("fuzz.json: ")
        _one_line(str(exc))
        return
    assert isinstance(project, Project)


CSV_TEXT = st.lists(st.lists(st.one_of(st.text(max_size=6), st.floats().map(str),
                                       st.integers().map(str), st.just("NA"),
                                       st.just("x" * 140_000)), min_size=1, max_size=4),
                    min_size=0, max_size=6).map(
    lambda rows: "\n".join(",".join(r) for r in [["a", "y"], *rows]))


@fuzz(1000)
@given(raw=st.one_of(
    st.binary(max_size=300),
    st.tuples(CSV_TEXT, st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252",
                                         "utf-16", "utf-32"])).map(
        lambda t: t[0].encode(t[1], errors="replace"))),
    task=st.sampled_from(["regression", "classification"]))
def test_csv_bytes_load_or_give_one_line(raw: bytes, task: str) -> None:
    from app.data.sources import load_source

    path = SCRATCH / "fuzz.csv"
    path.write_bytes(raw)
    try:
        bundle = load_source("csv", {"path": str(path), "target": "y", "task": task})
    except DataSourceError as exc:
        _one_line(str(exc))
        return
    assert len(bundle.train) >= 1


def _state() -> dict[str, Any]:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return {"format": "torchcanvas-checkpoint", "version": 1, "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": None, "scaler": None, "epoch": 1,
            "batch": 0, "step": 6, "early": {"best": 1.0, "best_epoch": 1, "wait": 0},
            "rng": torch.get_rng_state(), "config": {}, "metrics": {"val_loss": 1.0}}


CHECKPOINT_VALUES = st.one_of(VALUES, st.just(torch.zeros(3)), st.just(torch.zeros(2, 2)),
                              st.just({"0.weight": torch.zeros(3, 4)}), st.just(-1),
                              st.just({"state": {}, "param_groups": []}))
FIELDS = st.sampled_from(["model", "optimizer", "scheduler", "epoch", "batch", "step",
                          "early", "rng", "config", "metrics", "format", "extra"])


@fuzz(200)
@given(edits=st.lists(st.tuples(FIELDS, st.one_of(CHECKPOINT_VALUES, st.just(None))),
                      max_size=3),
       drop=st.lists(FIELDS, max_size=2), cut=st.none() | st.integers(0, 4000))
def test_checkpoint_contents_resume_or_give_one_line(edits: list, drop: list,
                                                     cut: int | None) -> None:
    from app.data.sources import DatasetBundle
    from app.training.config import TrainConfig
    from app.training.trainer import Trainer

    state = _state()
    for key, value in edits:
        state[key] = value
    for key in drop:
        state.pop(key, None)
    path = SCRATCH / "fuzz.pt"
    save_checkpoint(state, path)
    if cut is not None:
        path.write_bytes(path.read_bytes()[:cut])
    try:
        load_checkpoint(path)
    except TrainingError as exc:
        _one_line(str(exc))
        return
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 4, generator=g), torch.randint(0, 3, (32,), generator=g)
    data = DatasetBundle(torch.utils.data.TensorDataset(x, y), None, None, "classification",
                         (4,), 3, ["a", "b", "c"])
    config = TrainConfig.from_dict({"epochs": 2, "batch_size": 16, "device": "cpu",
                                    "optimizer": {"name": "SGD", "lr": 0.1},
                                    "probes": {"enabled": False}})
    result = Trainer(torch.nn.Sequential(torch.nn.Linear(4, 3)), data, config,
                     resume_from=path).run()
    _one_line(result.reason)


PROJECT_PATHS = [("data",), ("training",), ("canvas",), ("data", "split"),
                 ("training", "optimizer"), ("network", "nodes", 0, "pos"),
                 ("network", "nodes", 1, "params"), ("name",), ("version",)]


@fuzz(300)
@given(edits=st.lists(st.tuples(st.sampled_from(PROJECT_PATHS), VALUES), min_size=1,
                      max_size=3),
       command=st.sampled_from(["check", "info", "export"]))
def test_cli_in_process_exits_0_or_1_with_one_line(edits: list, command: str) -> None:
    data = BASE
    for path, value in edits:
        data = _set(data, path, value)
    file = SCRATCH / "cli.json"
    file.write_text(json.dumps(data))
    args = [command, str(file)]
    if command == "export":
        args += ["-o", str(SCRATCH / "m.py"), "--train-script", str(SCRATCH / "t.py")]
    code, _, err = cli(*args)
    assert code in (0, 1)
    if code == 1 and command == "export":
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err


SUBPROCESS_CASES = [
    ("check", "[" * 100_000, "nested deeper than"),
    ("info", json.dumps(_set(BASE, ("network", "nodes", 0, "pos"), [10**400, 0])),
     "network.nodes[0].pos"),
    ("export", json.dumps(_set(BASE, ("data",), {"source": ["iris"]})), "data.source"),
    ("train", json.dumps(_set(BASE, ("training",), {"epochs": "many"})), "training.epochs"),
]


@pytest.mark.parametrize("command, text, needle", SUBPROCESS_CASES)
def test_cli_subprocess_exit_1_one_line(command: str, text: str, needle: str,
                                        tmp_path: Path) -> None:
    from tests.reliability.hostile import assert_one_line_error, cli_subprocess

    path = tmp_path / "p.json"
    path.write_text(text)
    args = [command, str(path)]
    if command == "export":
        args += ["-o", str(tmp_path / "m.py"), "--train-script", str(tmp_path / "t.py")]
    code, _, err = cli_subprocess(*args)
    assert_one_line_error(code, err, needle)
