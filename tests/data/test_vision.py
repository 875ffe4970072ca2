"""MNIST / Fashion-MNIST / CIFAR-10 / ImageFolder through torchvision's real code path."""

from __future__ import annotations

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets as tvd

from app.data.sources import DataSourceError, SplitConfig, load_source
from tests.data.conftest import MNIST_FILES, mnist_payloads, write_mnist


def test_mnist_loads_from_local_idx_files(mnist_root: Path) -> None:
    bundle = load_source("mnist", {"root": str(mnist_root)},
                         split=SplitConfig(val_fraction=0.25, test_fraction=0.5))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (15, 5, 6)  # official test
    x, y = bundle.test[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert y.item() == 3 and torch.allclose(x, torch.full_like(x, 30 / 255))
    assert bundle.input_shape == (1, 28, 28) and bundle.num_classes == 10
    assert bundle.class_names[0] == "0 - zero"


def test_mnist_gz_files_are_unpacked_offline(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    bundle = load_source("mnist", {"root": str(tmp_path)}, split=SplitConfig(0.0))
    assert len(bundle.train) == 20 and bundle.val is None
    assert all((tmp_path / "MNIST" / "raw" / n).is_file() for n in MNIST_FILES)


def test_fashion_mnist_uses_its_own_folder(tmp_path: Path) -> None:
    write_mnist(tmp_path, folder="FashionMNIST")
    bundle = load_source("fashion_mnist", {"root": str(tmp_path)})
    assert bundle.class_names[0] == "T-shirt/top" and len(bundle.test) == 6


def test_missing_mnist_names_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as err:
        load_source("mnist", {"root": str(tmp_path)})
    message = str(err.value)
    assert f"MNIST files not found in {tmp_path / 'MNIST' / 'raw'}" in message
    assert "expected train-images-idx3-ubyte, train-labels-idx1-ubyte" in message
    assert "tick 'download'" in message and "\n" not in message


def test_partially_missing_mnist_lists_what_is_missing(mnist_root: Path) -> None:
    (mnist_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataSourceError, match=r"\(missing t10k-labels-idx1-ubyte\)"):
        load_source("mnist", {"root": str(mnist_root)})


def test_download_uses_mirrors_checksums_and_progress(tmp_path: Path, monkeypatch) -> None:
    # A file:// mirror exercises the download path without touching the network.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    resources = []
    for name, payload in mnist_payloads().items():
        packed = mirror / f"{name}.gz"
        packed.write_bytes(gzip.compress(payload))
        resources.append((packed.name, hashlib.md5(packed.read_bytes()).hexdigest()))
    monkeypatch.setattr(tvd.MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    calls = []
    bundle = load_source("mnist", {"root": str(tmp_path / "data"), "download": True},
                         progress=lambda name, done, total: calls.append((name, done, total)))
    assert len(bundle.train) + len(bundle.val) == 20
    assert {c[0] for c in calls} == {r[0] for r in resources}
    assert all(done == total for name, done, total in calls)


def test_download_with_bad_checksum_fails_clearly(tmp_path: Path, monkeypatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "train-images-idx3-ubyte.gz").write_bytes(b"not the real file")
    monkeypatch.setattr(tvd.MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(tvd.MNIST, "resources", [("train-images-idx3-ubyte.gz", "0" * 32)])
    with pytest.raises(DataSourceError, match="train-images-idx3-ubyte.gz failed: .*checksum"):
        load_source("mnist", {"root": str(tmp_path / "data"), "download": True})


def test_cifar10_loads_pickled_batches(cifar_root: Path) -> None:
    bundle = load_source("cifar10", {"root": str(cifar_root)}, split=SplitConfig(0.1))
    assert len(bundle.train) + len(bundle.val) == 20 and len(bundle.test) == 5
    assert bundle.input_shape == (3, 32, 32) and bundle.class_names[3] == "class3"
    with (cifar_root / "cifar-10-batches-py" / "test_batch").open("rb") as f:
        first = pickle.load(f)["data"][0].reshape(3, 32, 32)
    assert torch.allclose(bundle.test[0][0], torch.from_numpy(first).float() / 255)


def test_cifar10_with_augmentation(cifar_root: Path) -> None:
    steps = [{"type": "RandomCrop", "size": 32, "padding": 4},
             {"type": "RandomHorizontalFlip"}, {"type": "ToImage"}, {"type": "ToDtype"},
             {"type": "Normalize", "preset": "CIFAR-10"}]
    eval_steps = [{"type": "ToTensor"}, {"type": "Normalize", "preset": "CIFAR-10"}]
    bundle = load_source("cifar10", {"root": str(cifar_root)}, train_transforms=steps,
                         eval_transforms=eval_steps)
    assert bundle.train[0][0].shape == (3, 32, 32) and bundle.test[0][0].min() < 0


def test_missing_cifar_names_expected_files(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"CIFAR-10 files not found in .*cifar-10-batches-py: "
                                              r"expected data_batch_1, .*batches.meta"):
        load_source("cifar10", {"root": str(tmp_path)})


def _write_images(root: Path, classes: dict[str, int]) -> None:
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8)).save(root / name / f"{i}.png")


def test_image_folder_one_subfolder_per_class(tmp_path: Path) -> None:
    _write_images(tmp_path / "train", {"cat": 3, "dog": 3})
    _write_images(tmp_path / "test", {"cat": 1, "dog": 1})
    bundle = load_source("image_folder", {"root": str(tmp_path / "train"),
                                          "test_root": str(tmp_path / "test")},
                         train_transforms=[{"type": "Resize", "size": [8, 8]}],
                         eval_transforms=[{"type": "Resize", "size": [8, 8]}],
                         split=SplitConfig(val_fraction=1 / 3))
    assert bundle.class_names == ["cat", "dog"] and len(bundle.train) == 4
    assert len(bundle.val) == 2 and len(bundle.test) == 2 and bundle.input_shape == (3, 8, 8)


def test_image_folder_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="field 'root': folder not found"):
        load_source("image_folder", {"root": str(tmp_path / "nope")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="one sub-folder per class"):
        load_source("image_folder", {"root": str(tmp_path / "empty")})
