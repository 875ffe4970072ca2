"""Small in-memory datasets so trainer tests run in well under a second each."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from app.data.sources import DatasetBundle
from app.training.config import TrainConfig


def blobs(n: int = 96, classes: int = 3, features: int = 4, seed: int = 0) -> DatasetBundle:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, features, generator=g) + 2.0 * nn.functional.one_hot(
        y, features).float()
    cut = n * 3 // 4
    return DatasetBundle(TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:]),
                         None, "classification", (features,), classes,
                         [str(c) for c in range(classes)])


def regression(n: int = 80, seed: int = 0) -> DatasetBundle:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x @ torch.tensor([2.0, -3.4]) + 4.2).unsqueeze(1)
    return DatasetBundle(TensorDataset(x[:60], y[:60]), TensorDataset(x[60:], y[60:]), None,
                         "regression", (2,), None, None, target_shape=(1,))


def small_net(features: int = 4, classes: int = 3, dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(16, classes))


def config(**overrides: object) -> TrainConfig:
    base = {"epochs": 2, "batch_size": 16, "device": "cpu", "log_every": 1,
            "probes": {"enabled": False}}
    return TrainConfig.from_dict({**base, **overrides})


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the machine is shared; also makes timings steadier
