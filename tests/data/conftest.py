"""Tiny on-disk datasets in torchvision's standard layouts, written with numpy."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_images(images: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, *images.shape) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def mnist_payloads(n_train: int = 20, n_test: int = 6) -> dict[str, bytes]:
    """File name -> idx bytes; image i is filled with the value 10 * label."""
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.repeat((labels * 10)[:, None, None], 28 * 28, axis=1).reshape(n, 28, 28)
        out[f"{prefix}-images-idx3-ubyte"] = _idx_images(images)
        out[f"{prefix}-labels-idx1-ubyte"] = _idx_labels(labels)
    return out


def write_mnist(root: Path, folder: str = "MNIST", gz: bool = False) -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for name, payload in mnist_payloads().items():
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (raw / name).write_bytes(payload)
    return raw


def write_cifar(root: Path, per_batch: int = 4, n_test: int = 5) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        with (folder / name).open("wb") as f:
            pickle.dump({"data": data, "labels": list(np.arange(n) % 10)}, f)
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    return folder


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    write_mnist(tmp_path)
    return tmp_path


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    write_cifar(tmp_path)
    return tmp_path
