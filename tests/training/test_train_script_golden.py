"""The exported train script of a few templates, byte for byte (tests/training/golden/).

A change to a code writer or to the script's fixed text shows here as a readable diff.
After an intended change, regenerate the files and review the diff before committing:

    /work/main/.venv/bin/python tests/training/test_train_script_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.core.project import Project
from app.core.templates import TEMPLATES
from app.training.script import generate_train_script

GOLDEN = Path(__file__).with_name("golden")


def _augmented() -> Project:
    project = TEMPLATES["lenet5"].project()
    project.data = {"source": "digits", "split": {"val_fraction": 0.1, "seed": 3},
                    "train_transforms": [
                        {"type": "RandomAffine", "degrees": 10, "translate": [0.1, 0.1],
                         "interpolation": "bilinear"},
                        {"type": "RandomApply", "p": 0.3,
                         "transforms": [{"type": "GaussianBlur", "kernel_size": 3}]},
                        {"type": "Normalize", "preset": "MNIST"}],
                    "eval_transforms": [{"type": "Normalize", "preset": "MNIST"}]}
    project.training = {**project.training, "epochs": 5,
                        "optimizer": {"name": "SGD", "lr": 0.05,
                                      "params": {"momentum": 0.9, "weight_decay": 5e-4}},
                        "scheduler": {"name": "OneCycleLR", "params": {"max_lr": 0.2}},
                        "regularisation": {"clip": "norm", "clip_value": 2.0}}
    return project


PROJECTS = {
    "linear_regression": lambda: TEMPLATES["linear_regression"].project(),
    "lenet5": lambda: TEMPLATES["lenet5"].project(),
    "lenet5_augmented": _augmented,
    "logistic_regression": lambda: TEMPLATES["logistic_regression"].project(),
}


def _script(name: str) -> str:
    return generate_train_script(PROJECTS[name](), "model")


@pytest.mark.parametrize("name", list(PROJECTS))
def test_train_script_matches_its_golden_file(name: str) -> None:
    expected = (GOLDEN / f"{name}.train.py").read_text()
    assert _script(name) == expected, f"regenerate with: python {Path(__file__).relative_to(ROOT)}"


if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for key in PROJECTS:
        (GOLDEN / f"{key}.train.py").write_text(_script(key))
        print(f"wrote {GOLDEN / f'{key}.train.py'}")
