"""Training script exported by TorchCanvas.

Data: source 'breast_cancer'; loss, optimizer and schedule as in the project.
Run:  python train.py
  or: torchrun --nproc_per_node N train.py   (DistributedDataParallel)
Saves the trained weights to model.pt (load them with build_model().load_state_dict).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from sklearn import datasets as skd
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

PROJECT = 'Logistic regression'
EPOCHS = 20
BATCH_SIZE = 64
SEED = 0
SHUFFLE = True
DROP_LAST = False
NUM_WORKERS = 0
VAL_FRACTION = 0.2
TEST_FRACTION = 0.0
SPLIT_SEED = 0
L1 = 0.0
CLIP = None  # None, 'norm' or 'value'
CLIP_VALUE = 1.0
CLIP_NORM_TYPE = 2.0
REGRESSION = False
THRESHOLD = 0.5  # one output per sample: class 1 above it


def standardize_columns(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std per column (ddof=1, NaN ignored); NaN and constant columns -> 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1])
        count = np.sum(~np.isnan(x), axis=0)
        std = np.sqrt(np.nansum((x - mean) ** 2, axis=0) / (count - 1))
        out = (x - mean) / std
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def table_arrays(bunch, task: str, standardize: bool = False,
                 standardize_target: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and targets of a scikit-learn bunch, scaled as asked."""
    x = np.asarray(bunch.data, dtype=np.float64)
    if standardize:
        x = standardize_columns(x)
    y = np.asarray(bunch.target, dtype=np.float64 if task == "regression" else np.int64)
    if standardize_target:
        y = (y - y.mean()) / y.std()
    return x, y


def _like(output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return output, target.reshape(output.shape).to(output.dtype)


class DataSourceError(ValueError):
    """One-line, readable message naming the source, field or file at fault."""


@dataclass
class SplitConfig:
    """Fractions of the training pool held out, and the seed of the shuffle.

    Sources with an official test split (MNIST, CIFAR-10) keep it and ignore
    ``test_fraction``.
    """

    val_fraction: float = 0.2
    test_fraction: float = 0.0
    seed: int = 0


def split_indices(n: int, split: SplitConfig, *, has_test: bool) -> tuple[list, list, list]:
    """Shuffled (train, val, test) index lists; test is empty when ``has_test``."""
    test_fraction = 0.0 if has_test else split.test_fraction
    for name, value in (("val_fraction", split.val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataSourceError(f"split: {name} must lie in [0, 1), got {value}")
    n_val, n_test = round(n * split.val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise DataSourceError(f"split: no training samples left ({n} samples, "
                              f"val {split.val_fraction}, test {test_fraction})")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(split.seed)).tolist()
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


def load_data():
    """The training and validation datasets of the project's data source."""
    x, y = table_arrays(skd.load_breast_cancer(), 'classification', standardize=True)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    pool = TensorDataset(x.float(), y.long())
    split = SplitConfig(VAL_FRACTION, TEST_FRACTION, SPLIT_SEED)
    train_idx, val_idx, _ = split_indices(len(pool), split, has_test=False)
    x, y = pool.tensors
    val = TensorDataset(x[val_idx], y[val_idx]) if val_idx else None
    return TensorDataset(x[train_idx], y[train_idx]), val


def output_of(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def main():
    from model import build_model  # the exported model file, next to this script

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        rank, world, local_rank = 0, 1, 0
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    main_process = rank == 0

    train_set, val_set = load_data()
    torch.manual_seed(SEED)  # same seed -> the same initial weights in every process
    model = build_model().to(device)
    net = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda"
                                  else None) if distributed else model
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=SHUFFLE,
                                 seed=SEED)
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, sampler=sampler,
                              drop_last=DROP_LAST, num_workers=NUM_WORKERS)
    val_loader = DataLoader(val_set, batch_size=max(BATCH_SIZE, 256),
                            num_workers=NUM_WORKERS) if val_set is not None else None

    criterion = nn.BCELoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    l1_params = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]

    for epoch in range(1, EPOCHS + 1):
        sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, samples
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = output_of(net(x))
            loss = criterion(*_like(out, y))
            if L1:
                loss = loss + L1 * sum(p.abs().sum() for p in l1_params)
            loss.backward()
            if CLIP == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), CLIP_VALUE, CLIP_NORM_TYPE)
            elif CLIP == "value":
                nn.utils.clip_grad_value_(model.parameters(), CLIP_VALUE)
            optimizer.step()
            total += torch.tensor([loss.item() * len(y), len(y)], device=device)
        if distributed:
            dist.all_reduce(total)
        train_loss = (total[0] / total[1]).item()
        val_loss, val_metric = evaluate(model, val_loader, criterion, device)
        if main_process:
            line = f"epoch {epoch}/{EPOCHS}  train_loss {train_loss:.4f}"
            if val_loss is not None:
                name = "val_mse" if REGRESSION else "val_accuracy"
                line += f"  val_loss {val_loss:.4f}  {name} {val_metric:.4f}"
            print(line, flush=True)

    if main_process:
        torch.save(model.state_dict(), "model.pt")  # the unwrapped module's weights
        print("saved model.pt", flush=True)
    if distributed:
        dist.destroy_process_group()


def evaluate(model, loader, criterion, device):
    """Validation loss and accuracy (MSE for regression); every process computes it."""
    if loader is None:
        return None, None
    model.eval()
    loss_sum, metric_sum, count = 0.0, 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = output_of(model(x))
            loss_sum += criterion(*_like(out, y)).item() * len(y)
            if REGRESSION:
                metric_sum += ((out - y) ** 2).mean().item() * len(y)
            elif THRESHOLD is not None:
                metric_sum += ((out.reshape(-1) > THRESHOLD).long() == y).sum().item()
            else:
                metric_sum += (out.argmax(1) == y).sum().item()
            count += len(y)
    model.train()
    return loss_sum / count, metric_sum / count


if __name__ == "__main__":
    main()
