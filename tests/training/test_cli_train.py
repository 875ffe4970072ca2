import importlib.util
import json

import pytest

from app.cli import main
from app.core.project import Project, save_project
from app.core.templates import build_template


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "lr.json"
    save_project(Project(build_template("linear_regression"),
                         data={"source": "linear", "params": {"n_samples": 200}}),
                 path)
    return path


def test_train_prints_final_metrics_as_json(project, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", str(project), "--epochs", "2", "--device", "cpu", "--json",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["epochs"] == 2 and report["reason"] == "completed"
    assert report["val_loss"] < report["train_loss"] and "rmse" in report
    assert "epoch 2" in captured.err  # progress goes to stderr
    assert (out / "last.pt").exists()
    assert main(["train", str(project), "--epochs", "4", "--json", "--resume",
                 str(out / "last.pt")]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 4


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "training.epochs: must be >= 1"),
    (["--resume", "/nonexistent.pt"], "no such file"),
    (["--tensorboard", "tb"], "tensorboard"),
])
def test_bad_input_is_one_line_and_non_zero(project, capsys, argv, message) -> None:
    if "--tensorboard" in argv and importlib.util.find_spec("tensorboard"):
        pytest.skip("tensorboard is installed here, so --tensorboard works")
    assert main(["train", str(project), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_missing_file(capsys) -> None:
    assert main(["train", "/nope/x.json"]) == 1
    assert "no such file" in capsys.readouterr().err
