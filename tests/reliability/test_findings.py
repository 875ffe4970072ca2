"""One test per finding of issue 14 (F1-F16): each failed before the fix."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
import torch

from app.core import fileio
from app.core.project import (
    MAX_BYTES,
    Project,
    ProjectError,
    load_project,
    project_from_json,
    save_project,
)
from app.core.templates import build_template
from app.training.checkpoints import load_checkpoint, save_checkpoint
from app.training.errors import ConfigError, TrainingError
from tests.reliability.hostile import (
    BASE,
    assert_one_line_error,
    cli,
    project_dict,
    write,
)

COMMANDS = ("check", "info", "export", "train")


def _run(command: str, path: Path, tmp_path: Path) -> tuple[int, str, str]:
    if command == "export":
        return cli("export", str(path), "-o", str(tmp_path / "m.py"),
                   "--train-script", str(tmp_path / "t.py"))
    return cli(command, str(path))


# -- F1, F2: numbers and nesting ---------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_f1_integer_position_beyond_a_float_is_one_line(command: str, tmp_path: Path) -> None:
    data = project_dict()
    data["network"]["nodes"][0]["pos"] = [10**400, 0]
    code, _, err = _run(command, write(tmp_path / "p.json", data), tmp_path)
    assert_one_line_error(code, err, "network.nodes[0].pos: must be two finite numbers")
    assert not (tmp_path / "m.py").exists()


def test_f1_positions_and_numbers_are_bounded_everywhere() -> None:
    for text, field in (('[1e400, 0]', "pos"), ('[1e300, 0]', "pos"), ('[NaN, 0]', "pos")):
        data = json.dumps(project_dict())
        data = data.replace('"pos": [0.0, 0.0]', f'"pos": {text}', 1)
        assert text in data
        with pytest.raises(ProjectError, match=field):
            project_from_json(data, "p.json")
    digits = json.dumps(project_dict(canvas={"zoom": 1})).replace('"zoom": 1', '"zoom": '
                                                                   + "9" * 5000)
    with pytest.raises(ProjectError, match="p.json: not valid JSON"):
        project_from_json(digits, "p.json")


def _nested_in(section: str, text: str) -> str:
    return json.dumps(project_dict(**{section: {"a": "DEEP"}})).replace('"DEEP"', text)


@pytest.mark.parametrize("text", ["[" * 1000, "[" * 100_000,
                                  _nested_in("data", "[" * 990 + "]" * 990),
                                  _nested_in("canvas", '{"a":' * 60 + "1" + "}" * 60),
                                  _nested_in("training", "[" * 50 + "]" * 50)])
@pytest.mark.parametrize("command", ["check", "info", "export", "train"])
def test_f2_deep_nesting_is_one_line(text: str, command: str, tmp_path: Path) -> None:
    code, _, err = _run(command, write(tmp_path / "deep.json", text), tmp_path)
    assert_one_line_error(code, err, "nested deeper than")


# -- F3, F7, F8: the data and training sections --------------------------------------------

BAD_DATA = [({"source": "iris", "params": [1]}, "data.params"),
            ({"source": "iris", "split": {"val_fraction": "x"}}, "data.split.val_fraction"),
            ({"source": ["iris"]}, "data.source"),
            ({"source": "iris", "split": {"seed": "auto"}}, "data.split.seed"),
            ({"source": "iris", "split": "x"}, "data.split"),
            ({"source": "iris", "split": {"val_fraction": 5.0}}, "data.split.val_fraction"),
            ({"source": "iris", "split": {"val_fraction": 0.6, "test_fraction": 0.5}},
             "data.split"),
            ({"source": "iris", "flavour": 1}, "data.flavour"),
            ({"source": "iris", "train_transforms": [{"type": "Nope"}]},
             "data.train_transforms"),
            ({"source": "iris", "train_transforms": "x"}, "data.train_transforms")]


@pytest.mark.parametrize("data, field", BAD_DATA)
@pytest.mark.parametrize("command", ["train", "export"])
def test_f3_malformed_data_section_is_one_line(data: dict, field: str, command: str,
                                               tmp_path: Path) -> None:
    code, _, err = _run(command, write(tmp_path / "p.json", project_dict(data=data)), tmp_path)
    assert_one_line_error(code, err, field)
    assert not (tmp_path / "m.py").exists() and not (tmp_path / "t.py").exists()


@pytest.mark.parametrize("data, field", BAD_DATA[:6])
def test_f3_load_data_names_the_field(data: dict, field: str) -> None:
    from app.training.data import load_data

    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_data(data)


def test_f7_export_refuses_what_train_refuses(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", project_dict(data={"source": "iris",
                                                        "split": {"val_fraction": 5.0}}))
    for command in ("export", "train"):
        code, _, err = _run(command, path, tmp_path)
        assert_one_line_error(code, err, "data.split.val_fraction")
    assert not (tmp_path / "t.py").exists()


@pytest.mark.parametrize("command", ["check", "info"])
def test_f8_check_and_info_report_an_invalid_training_section(command: str,
                                                               tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", project_dict(training={"epochs": "many"}))
    code, out, _ = cli(command, str(path))
    assert code == 1 and "error: training.epochs: must be a whole number (got 'many')" in out
    assert command == "info" or out.endswith("invalid: 1 error(s)\n")
    path = write(tmp_path / "q.json", project_dict(data={"source": "nowhere"}))
    code, out, _ = cli(command, str(path))
    assert code == 1 and "data.source: unknown data source 'nowhere'" in out


def test_f8_valid_project_still_checks_clean(tmp_path: Path) -> None:
    code, out, _ = cli("check", str(write(tmp_path / "p.json", BASE)))
    assert code == 0 and out.endswith("valid\n")


# -- F4: CSV ------------------------------------------------------------------------------

def test_f4_latin1_csv_loads(tmp_path: Path) -> None:
    from app.data.sources import load_source

    path = tmp_path / "t.csv"
    path.write_bytes("size,town,price\n1,Orléans,3\n2,Besançon,5\n3,Orléans,7\n4,Metz,9\n"
                     .encode("latin-1"))
    bundle = load_source("csv", {"path": str(path), "target": "price"})
    assert bundle.feature_names == ["size", "town_Besançon", "town_Metz", "town_Orléans",
                                    "town_nan"]


@pytest.mark.parametrize("payload, needle", [
    (b"a,y\n" + b"x" * 200_000 + b",1\n1,2\n", "line 2"),
    (b"a,y\n1,2\n\x00\x00", "csv"),
])
def test_f4_unreadable_csv_is_one_line(tmp_path: Path, payload: bytes, needle: str) -> None:
    from app.data.sources import DataSourceError, load_source

    path = tmp_path / "t.csv"
    path.write_bytes(payload)
    with pytest.raises(DataSourceError, match=needle) as info:
        load_source("csv", {"path": str(path), "target": "y"})
    assert "\n" not in str(info.value)


def test_f4_utf16_csv_loads(tmp_path: Path) -> None:
    from app.data.csv_table import read_csv

    path = tmp_path / "t.csv"
    path.write_bytes("a,y\n1,2\n3,4\n".encode("utf-16"))
    assert read_csv(str(path)) == (["a", "y"], [["1", "2"], ["3", "4"]])


# -- F5: checkpoints ------------------------------------------------------------------------

def _state() -> dict:
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return {"format": "torchcanvas-checkpoint", "version": 1, "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": None, "scaler": None, "epoch": 1,
            "batch": 0, "step": 3, "early": {"best": 0.5, "best_epoch": 1, "wait": 0},
            "rng": torch.get_rng_state(), "config": {"batch_size": 16},
            "metrics": {"val_loss": 0.5}}


def test_f5_empty_checkpoint_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    path.write_bytes(b"")
    with pytest.raises(TrainingError, match="cannot be loaded") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("edit, field", [
    (lambda s: s.pop("rng"), "'rng' is missing"),
    (lambda s: s.update(epoch=-1), "'epoch' must be a whole number >= 0"),
    (lambda s: s.update(rng=torch.zeros(3)), "'rng' must be"),
    (lambda s: s.update(model={"w": 1}), "'model' must be"),
    (lambda s: s.update(early={"wait": -2}), "'early'"),
    (lambda s: s.update(metrics={"x": "y"}), "'metrics'"),
])
def test_f5_hand_edited_checkpoint_names_the_field(tmp_path: Path, edit, field: str) -> None:
    state = _state()
    edit(state)
    save_checkpoint(state, tmp_path / "last.pt")
    with pytest.raises(TrainingError, match=field):
        load_checkpoint(tmp_path / "last.pt")


def test_f5_whole_checkpoint_loads(tmp_path: Path) -> None:
    save_checkpoint(_state(), tmp_path / "last.pt")
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 3


# -- F6, F13, F15: how files are written ----------------------------------------------------

def _project() -> Project:
    return Project(build_template("softmax_regression"), name="p")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_f6_save_keeps_the_mode_of_the_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "p.json"
    path.write_text("{}")
    path.chmod(mode)
    save_project(_project(), path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    save_checkpoint(_state(), tmp_path / "c.pt")
    (tmp_path / "c.pt").chmod(mode)
    save_checkpoint(_state(), tmp_path / "c.pt")
    assert stat.S_IMODE((tmp_path / "c.pt").stat().st_mode) == mode


def test_f6_new_files_get_0644_less_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        save_project(_project(), tmp_path / "a.json")
        code, _, err = cli("export", "--template", "mlp", "-o", str(tmp_path / "m.py"))
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "m.py").stat().st_mode) == 0o640


def test_f15_saving_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "store" / "real.json"
    real.parent.mkdir()
    save_project(_project(), real)
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    project = _project()
    project.name = "through the link"
    save_project(project, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_project(real).name == "through the link"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_f13_the_next_write_removes_temp_files_of_dead_writers(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    dead = [tmp_path / f".p.json.{pid}.0123abcd.tmp" for pid in (999_999_999, 2**40)]
    alive = tmp_path / f".p.json.{os.getppid()}.0123abcd.tmp"  # a running process's
    other = tmp_path / ".q.json.999999999.0123abcd.tmp"  # another file's
    for path in (*dead, alive, other):
        path.write_bytes(b"x" * 100)
    save_project(_project(), target)
    assert not any(p.exists() for p in dead)
    assert alive.exists() and other.exists()
    assert load_project(target).name == "p"


# -- F14: both export files or neither -----------------------------------------------------

def test_f14_export_on_a_full_disk_writes_neither_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "p.json", BASE)
    (tmp_path / "m.py").write_text("old model\n")
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the second file's data: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    code, _, err = _run("export", path, tmp_path)
    assert_one_line_error(code, err, "No space left on device")
    assert (tmp_path / "m.py").read_text() == "old model\n"
    assert not (tmp_path / "t.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py", "p.json"]


# -- F16: re-save size and the size limit ---------------------------------------------------

def test_f16_resave_does_not_blow_up_a_large_project(tmp_path: Path) -> None:
    data = project_dict(canvas={"notes": {"marks": [[0.25, 1.5] * 5000] * 40}})
    original = tmp_path / "big.json"
    original.write_text(json.dumps(data, separators=(",", ":")))
    save_project(load_project(original), tmp_path / "again.json")
    ratio = (tmp_path / "again.json").stat().st_size / original.stat().st_size
    assert ratio < 1.05, ratio  # indent=2 gave 3x here


def test_f16_save_refuses_what_load_would_refuse(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.project as project_module

    path = tmp_path / "p.json"
    save_project(_project(), path)
    before = path.read_bytes()
    monkeypatch.setattr(project_module, "MAX_BYTES", len(before) + 100)
    big = _project()
    big.canvas = {"notes": "x" * 200}
    with pytest.raises(ProjectError, match="over the 0 MiB"):
        save_project(big, path)
    assert path.read_bytes() == before
    assert MAX_BYTES == 50 * 2**20


# -- F10: import -------------------------------------------------------------------------

def test_f10_import_whose_constructor_raises_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text("import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
                      "        super().__init__()\n        raise ValueError('no weights here')\n")
    code, _, err = cli("import", str(source), "--input-shape", "3", "-o",
                       str(tmp_path / "p.json"))
    assert_one_line_error(code, err, "Net() failed: ValueError: no weights here")
    assert not (tmp_path / "p.json").exists()


# -- F11: train options ------------------------------------------------------------------

def test_f11_out_pointing_at_a_file_fails_before_training(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    path = write(tmp_path / "p.json", project_dict(training={"epochs": 50}))
    code, _, err = cli("train", str(path), "--out", str(tmp_path / "afile"))
    assert_one_line_error(code, err, "--out", "is a file")
    assert "epoch 1" not in err
    code, _, err = cli("train", str(path), "--out", str(tmp_path / "afile" / "sub"))
    assert_one_line_error(code, err, "--out")


def test_f11_device_cuda_n_is_accepted_by_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", BASE)
    code, _, err = cli("train", str(path), "--device", "cuda:7")
    if torch.cuda.device_count() <= 7:
        assert_one_line_error(code, err, "cuda:7 is not available")
    code, _, err = cli("train", str(path), "--device", "gpu")
    assert_one_line_error(code, err, "--device: must be auto, cpu, mps, cuda or cuda:N")
    code, _, err = cli("train", str(path), "--epochs", "0")
    assert_one_line_error(code, err, "--epochs: must be >= 1")


@pytest.mark.parametrize("training, field", [
    ({"optimizer": {"name": "SparseAdam"}}, "training.optimizer.name: SparseAdam"),
    ({"optimizer": {"name": "SGD", "lr": 1e300}}, "training.optimizer.lr"),
    ({"optimizer": {"name": "SGD", "params": {"weight_decay": 1e300}}},
     "training.optimizer.params.weight_decay"),
])
@pytest.mark.parametrize("command", ["check", "train"])
def test_f11_settings_that_always_fail_are_refused_up_front(training: dict, field: str,
                                                            command: str,
                                                            tmp_path: Path) -> None:
    code, out, err = cli(command, str(write(tmp_path / "p.json",
                                            project_dict(training=training))))
    assert code == 1 and field in out + err and "Traceback" not in err
