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
    (["--epochs", "0"], "--epochs: must be >= 1"),
    (["--resume", "/nonexistent.pt"], "no such file"),
])
def test_bad_input_is_one_line_and_non_zero(project, capsys, argv, message) -> None:
    assert main(["train", str(project), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_missing_file(capsys) -> None:
    assert main(["train", "/nope/x.json"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_tensorboard_event_files_hold_scalars_histograms_and_images(tmp_path, capsys) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = tmp_path / "cnn.json"
    save_project(Project(build_template("mnist_cnn"), data={"source": "digits"}), path)
    logs = tmp_path / "tb"
    assert main(["train", str(path), "--epochs", "1", "--tensorboard", str(logs)]) == 0
    events = EventAccumulator(str(logs), size_guidance={"images": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    assert "epoch/train_loss" in tags["scalars"] and "batch/loss" in tags["scalars"]
    assert events.Scalars("epoch/train_loss")[0].value > 0
    weights = [t for t in tags["histograms"] if t.startswith("weights/")]
    assert weights
    histogram = events.Histograms(weights[0])[-1].histogram_value
    assert histogram.num > 0 and histogram.min < histogram.max
    images = [t for t in tags["images"] if t.startswith("activations/")]
    assert images and events.Images(images[0])[-1].width > 0
