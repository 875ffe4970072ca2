"""Tiny networks and data sections shared by the training UI tests."""

from __future__ import annotations


def tiny_cnn(classes: int = 10):
    """Input 1x8x8 -> conv 4x3x3 -> ReLU -> Flatten -> Linear: trains in a second."""
    from app.core.templates import Builder

    b = Builder()
    b.then("Input", "image", shape=[1, 8, 8])
    b.then("Conv2d", "conv1", out_channels=4, kernel_size=3)
    b.then("ReLU", "relu1")
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=classes)
    b.then("Output", "logits")
    return b.doc


def tiny_mlp(inputs: int = 2, classes: int = 2):
    from app.core.templates import Builder

    b = Builder()
    b.then("Input", "points", shape=[inputs])
    b.then("Linear", "fc1", out_features=16)
    b.then("ReLU", "relu1")
    b.then("Linear", "fc2", out_features=classes)
    b.then("Output", "logits")
    return b.doc


DIGITS_8X8 = {"source": "digits", "params": {"upscale": False},
              "split": {"val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}}
MOONS = {"source": "moons", "params": {"n_samples": 200},
         "split": {"val_fraction": 0.25, "test_fraction": 0.0, "seed": 0}}
RUN_TIMEOUT_MS = 120_000  # generous: the CPUs are shared
