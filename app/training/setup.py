"""Building the pieces of a run: seeded model, frozen layers, param groups, loaders."""

from __future__ import annotations

import random
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from app.training.config import TrainConfig
from app.training.errors import ConfigError, TrainingError
from app.training.pretrained import covers, frozen_layers


def seed_everything(seed: int) -> None:
    """Same seed, same config -> the same weights and the same loss curve on CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(network: Any) -> nn.Module:
    """A NetworkDocument is compiled (after seeding, so its weights are reproducible)."""
    if isinstance(network, nn.Module):
        return network
    from app.core.compiler import compile_document

    return compile_document(network)


def layer_paths(network: Any, model: nn.Module) -> dict[str, str]:
    """The names a run config gives layers -> their module paths in `model`. A
    NetworkDocument's layers are its node names (their modules sit at the nodes' module
    paths, e.g. conv1_1 -> features.0); a plain nn.Module's are its module paths."""
    if isinstance(network, nn.Module):
        return {path: path for path, _ in model.named_modules() if path}
    from app.core.graph import module_path

    nodes = (network.node(name) for name in network.topological_order())
    return {n.name: module_path(n) for n in nodes
            if n.spec.has_module and not n.spec.holds_tensor}  # a Parameter is no module


def parameter_counts(network: Any, model: nn.Module, frozen: list[str]) -> tuple[int, int]:
    """(all, trainable) learnable parameters. A NetworkDocument is counted by the formula
    every other count uses (app.core.param_count), its `frozen` layers not trainable; a
    plain nn.Module has no formula, so its own tensors are counted."""
    if isinstance(network, nn.Module):
        params = list(model.parameters())
        return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
    from app.core.param_count import layer_parameters
    from app.core.shapes import infer_shapes

    counts = layer_parameters(network, infer_shapes(network))
    still = frozen_layers(network, frozen)
    return sum(counts.values()), sum(n for name, n in counts.items() if name not in still)


def submodule(model: nn.Module, layers: dict[str, str], name: str, where: str) -> nn.Module:
    """The module of layer `name` (see layer_paths) or of a block of layers given by its
    module path; a ConfigError lists the valid names."""
    if name not in layers and any(covers(name, layer, path) for layer, path in layers.items()):
        return model.get_submodule(name)
    if name not in layers:
        weighted = ", ".join(n for n, path in layers.items() if next(
            model.get_submodule(path).parameters(recurse=False), None) is not None)
        raise ConfigError(f"{where}: no layer named {name!r} (layers with weights: "
                          f"{weighted})")
    return model.get_submodule(layers[name])


def _stay_in_eval(module: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(module, False)


def freeze_layers(model: nn.Module, layers: dict[str, str], names: list[str]) -> None:
    """No gradients, and evaluation behaviour for good: as Keras does for a frozen layer,
    batch norm keeps the running statistics it was given (model.train() would otherwise
    update them on every batch) and dropout inside a frozen block stays off."""
    for name in names:
        module = submodule(model, layers, name, "freeze")
        for p in module.parameters():
            p.requires_grad_(False)
        module.train = types.MethodType(_stay_in_eval, module)
        module.eval()


def param_groups(model: nn.Module, layers: dict[str, str],
                 layer_lr: dict[str, float]) -> list[dict[str, Any]]:
    """One group per layer with its own learning rate, then one for the rest."""
    claimed: dict[int, str] = {}
    groups = []
    for name, lr in layer_lr.items():
        params = [p for p in submodule(model, layers, name, "layer_lr").parameters()
                  if p.requires_grad]
        for p in params:
            if id(p) in claimed:
                raise ConfigError(f"layer_lr: {name!r} overlaps {claimed[id(p)]!r}")
            claimed[id(p)] = name
        if params:
            groups.append({"params": params, "lr": lr})
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in claimed]
    if rest:
        groups.insert(0, {"params": rest})
    if not groups:
        raise TrainingError("nothing to train: every layer is frozen")
    return groups


class EpochSampler(Sampler[int]):
    """The order of epoch e is a pure function of (seed, e), and it can start mid-epoch.

    That is what makes stop + resume-from-checkpoint land on exactly the batches an
    uninterrupted run would have seen, without replaying the skipped ones.
    """

    def __init__(self, size: int, shuffle: bool, seed: int) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.start = 0  # first sample position of the epoch to yield

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.start, self.size))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=g)[self.start:].tolist())

    def __len__(self) -> int:
        return self.size - self.start


def train_loader(dataset: Dataset, cfg: TrainConfig, device: torch.device
                 ) -> tuple[DataLoader, EpochSampler]:
    sampler = EpochSampler(len(dataset), cfg.shuffle, cfg.seed)
    # A generator of its own: DataLoader draws worker base seeds from it, not from the
    # global RNG, so dropout's random stream does not depend on loader restarts.
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler,
                        drop_last=cfg.drop_last, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda",
                        generator=torch.Generator().manual_seed(cfg.seed))
    if len(loader) == 0:
        raise TrainingError(f"the training set ({len(dataset)} samples) gives no batch of "
                            f"{cfg.batch_size} with drop_last on")
    return loader, sampler


def eval_loader(dataset: Dataset | None, cfg: TrainConfig, device: torch.device
                ) -> DataLoader | None:
    if dataset is None or len(dataset) == 0:
        return None
    return DataLoader(dataset, batch_size=max(cfg.batch_size, 256), shuffle=False,
                      num_workers=cfg.num_workers, pin_memory=device.type == "cuda")


def first_batch(dataset: Dataset, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A small fixed batch for the pre-flight checks (no shuffling: no RNG consumed)."""
    return next(iter(DataLoader(dataset, batch_size=min(n, len(dataset)))))
