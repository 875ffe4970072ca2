"""`export --train-script`: the generated script trains single-process and under torchrun."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from app.cli import main
from app.core.codegen import generate_code
from app.core.project import save_project
from app.core.templates import TEMPLATES
from app.training.config import default_config
from app.training.script import ScriptError, generate_train_script

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def _export(tmp_path: Path, template: str, **training) -> Path:
    project = TEMPLATES[template].project()
    task = "regression" if template == "linear_regression" else "classification"
    project.training = {**(project.training or default_config(task).to_dict()), **training}
    (tmp_path / "model.py").write_text(generate_code(project.network, project.name))
    script = tmp_path / "train.py"
    script.write_text(generate_train_script(project, "model"))
    return script


def _run(tmp_path: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, check=False,
                          text=True, timeout=timeout, env=env)


def _build_model(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("exported_model", tmp_path / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model()


def test_lenet5_digits_script_trains_and_saves_loadable_weights(tmp_path: Path) -> None:
    _export(tmp_path, "lenet5", epochs=1)
    result = _run(tmp_path, "train.py")
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 1 and "train_loss" in epochs[0] and "val_accuracy" in epochs[0]
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    _build_model(tmp_path).load_state_dict(state, strict=True)


def test_linear_regression_script_learns_the_true_weights(tmp_path: Path) -> None:
    _export(tmp_path, "linear_regression", epochs=3)
    result = _run(tmp_path, "train.py")
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("val_mse" in line for line in epochs)
    model = _build_model(tmp_path)
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True), strict=True)
    weights = [p for p in model.parameters() if p.dim() == 2]
    assert torch.allclose(weights[0].detach().flatten(), torch.tensor([2.0, -3.4]), atol=0.05)


def test_lenet5_script_runs_under_torchrun_and_only_rank0_prints(tmp_path: Path) -> None:
    _export(tmp_path, "lenet5", epochs=1)
    result = _run(tmp_path, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                  "--standalone", "train.py", timeout=180)
    if result.returncode != 0 and ("gloo" in result.stderr.lower()
                                   and "address" in result.stderr.lower()):
        pytest.skip(f"torchrun cannot start here: {result.stderr.splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 1  # two processes, one printer
    assert result.stdout.count("saved model.pt") == 1
    _build_model(tmp_path).load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))


def test_generated_scripts_pass_ruff_isolated(tmp_path: Path) -> None:
    scripts = []
    for template in ("lenet5", "linear_regression"):
        folder = tmp_path / template
        folder.mkdir()
        scripts.append(_export(folder, template, scheduler={"name": "OneCycleLR"}))
    project = TEMPLATES["lenet5"].project()
    project.data = {"source": "digits", "train_transforms": [
        {"type": "RandomRotation", "degrees": 10},
        {"type": "RandomApply", "p": 0.5, "transforms": [{"type": "GaussianBlur"}]},
        {"type": "Normalize", "preset": "MNIST"}]}
    project.training = {"epochs": 1, "scheduler": {"name": "ReduceLROnPlateau"}}
    extra = tmp_path / "extra.py"
    extra.write_text(generate_train_script(project, "model"))
    scripts.append(extra)
    if not RUFF.exists():
        pytest.skip("ruff is not installed next to the interpreter")
    result = subprocess.run([str(RUFF), "check", "--isolated", *map(str, scripts)],
                            capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout
    text = extra.read_text()
    assert "v2.RandomRotation(degrees=10" in text and "v2.Normalize(mean=[0.1307]" in text
    compile(text, "extra.py", "exec")


def test_unsupported_source_and_step_give_one_line_errors(tmp_path: Path, capsys) -> None:
    project = TEMPLATES["lenet5"].project()
    project.data = {"source": "csv", "params": {}}
    with pytest.raises(ScriptError, match="train scripts do not support source 'csv' yet"):
        generate_train_script(project, "model")
    project.data = {"source": "digits",
                    "train_transforms": [{"type": "SaltPepperNoise"}]}
    with pytest.raises(ScriptError, match="SaltPepperNoise"):
        generate_train_script(project, "model")

    project.data = {"source": "csv", "params": {}}
    path = tmp_path / "p.tcproj"
    save_project(project, path)
    code = main(["export", str(path), "-o", str(tmp_path / "model.py"),
                 "--train-script", str(tmp_path / "train.py")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "train scripts do not support source 'csv' yet" in err
    assert not (tmp_path / "train.py").exists()


def test_cli_export_writes_model_and_script(tmp_path: Path) -> None:
    code = main(["export", "--template", "linear_regression", "-o", str(tmp_path / "net.py"),
                 "--train-script", str(tmp_path / "train.py")])
    assert code == 0
    assert "from net import build_model" in (tmp_path / "train.py").read_text()
