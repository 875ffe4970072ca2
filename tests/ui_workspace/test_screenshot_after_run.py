"""`python -m app gui --screenshot PNG --train [--epochs N] --mode M`: the picture is taken
after a real run, so Train shows curves and Evaluate a filled confusion matrix."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from app.cli import build_parser
from app.ui import theme
from app.ui.launch import launch, parse_size


def shoot(tmp_path: Path, mode: str, train: bool) -> np.ndarray:
    out = tmp_path / f"{mode}-{train}.png"
    args = argparse.Namespace(file=None, template="mlp", screenshot=str(out),
                              size=parse_size("1366x768"), mode=mode, theme=None,
                              train=train, epochs=1 if train else None)
    assert launch(args) == 0
    assert out.exists()
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    assert (w, h) == (1366, 768)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, :w * 4].reshape(h, w, 4)[..., [2, 1, 0]].astype(int)  # BGRA -> RGB


def pixels_of(image: np.ndarray, colour: str) -> int:
    rgb = QColor(colour).getRgb()[:3]
    return int((np.abs(image - np.array(rgb)).sum(axis=2) <= 6).sum())


def test_train_screenshot_shows_the_curves_of_a_real_run(qtbot, tmp_path) -> None:
    trained = shoot(tmp_path, "train", train=True)
    plots = trained[:, 500:]  # right of the settings column
    # the training curve and its epoch markers are drawn in the first series colour
    assert pixels_of(plots, theme.current().series[0]) > 50
    empty = shoot(tmp_path, "train", train=False)[:, 500:]
    assert pixels_of(empty, theme.current().series[0]) < pixels_of(plots,
                                                                   theme.current().series[0])


def test_evaluate_screenshot_shows_a_filled_confusion_matrix(qtbot, tmp_path) -> None:
    trained = shoot(tmp_path, "evaluate", train=True)
    empty = shoot(tmp_path, "evaluate", train=False)
    region = (slice(120, 700), slice(40, 660))  # the matrix, left half of the tab
    # a message page is flat background with a few words; the matrix has dark cells
    assert trained[region].std() > 2 * empty[region].std()
    assert trained[region].std() > 30
    dark_blue = (trained[region][..., 2] > 100) & (trained[region][..., 0] < 60)
    assert dark_blue.sum() > 2000  # the diagonal cells of a network that learned


def test_epochs_must_be_a_positive_whole_number() -> None:
    parser = build_parser()
    assert parser.parse_args(["gui", "--train", "--epochs", "2"]).epochs == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["gui", "--epochs", "0"])
