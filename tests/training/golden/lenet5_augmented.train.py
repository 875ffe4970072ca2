"""Training script exported by TorchCanvas.

Data: source 'digits'; loss, optimizer and schedule as in the project.
Run:  python train.py
  or: torchrun --nproc_per_node N train.py   (DistributedDataParallel)
Saves the trained weights to model.pt (load them with build_model().load_state_dict).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from sklearn import datasets as skd
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.data.distributed import DistributedSampler
from torchvision.transforms import v2

PROJECT = 'LeNet-5 (LeCun et al., 1998)'
EPOCHS = 5
BATCH_SIZE = 32
SEED = 0
SHUFFLE = True
DROP_LAST = False
NUM_WORKERS = 0
VAL_FRACTION = 0.1
TEST_FRACTION = 0.0
SPLIT_SEED = 3
L1 = 0.0
CLIP = 'norm'  # None, 'norm' or 'value'
CLIP_VALUE = 2.0
CLIP_NORM_TYPE = 2.0
REGRESSION = False
THRESHOLD = None  # one output per sample: class 1 above it


def mnist_frame(images: torch.Tensor) -> torch.Tensor:
    """8x8 digits (N, 1, 8, 8) as MNIST draws them: 20x20, centred in a 28x28 frame, which
    keeps MNIST architectures and statistics close."""
    images = torch.nn.functional.interpolate(images, size=(20, 20), mode="bilinear",
                                             align_corners=False)
    return torch.nn.functional.pad(images, (4, 4, 4, 4)).clamp(0, 1)


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


class TransformedDataset(Dataset):
    """Items of ``base`` at ``indices``, with ``transform`` on x and y made a tensor.

    ``target_dtype`` int64 gives a class index of shape (); float32 gives shape (1,).
    Indices let train and validation share one base dataset with different pipelines.
    """

    def __init__(self, base: Dataset, indices: Sequence[int] | None,
                 transform: Callable[[Any], torch.Tensor] | None,
                 target_dtype: torch.dtype = torch.int64) -> None:
        self.base = base
        self.indices = list(range(len(base))) if indices is None else list(indices)
        self.transform = transform
        self.target_dtype = target_dtype

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base[self.indices[index]]
        if self.transform is not None:
            x = self.transform(x)
        y = torch.as_tensor(y, dtype=self.target_dtype)
        if self.target_dtype.is_floating_point:
            y = y.reshape(1)
        return x, y


def load_data():
    """The training and validation datasets of the project's data source."""
    bunch = skd.load_digits()
    x = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0
    x = mnist_frame(x)
    y = torch.from_numpy(bunch.target)
    pool = TensorDataset(x.float(), y.long())
    split = SplitConfig(VAL_FRACTION, TEST_FRACTION, SPLIT_SEED)
    train_idx, val_idx, _ = split_indices(len(pool), split, has_test=False)
    train_tf = v2.Compose([
        v2.RandomAffine(degrees=10.0, translate=[0.1, 0.1], interpolation=v2.InterpolationMode.BILINEAR),
        v2.RandomApply(transforms=[v2.GaussianBlur(kernel_size=3)], p=0.3),
        v2.Normalize(mean=[0.1307], std=[0.3081]),
        v2.ToPureTensor(),
    ])
    eval_tf = v2.Compose([
        v2.Normalize(mean=[0.1307], std=[0.3081]),
        v2.ToPureTensor(),
    ])
    return (TransformedDataset(pool, train_idx, train_tf, torch.int64),
            TransformedDataset(pool, val_idx, eval_tf, torch.int64) if val_idx else None)


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

    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.0005)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=EPOCHS * len(train_loader))
    l1_params = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]

    for epoch in range(1, EPOCHS + 1):
        sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, samples
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = output_of(net(x))
            loss = criterion(out, y)
            if L1:
                loss = loss + L1 * sum(p.abs().sum() for p in l1_params)
            loss.backward()
            if CLIP == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), CLIP_VALUE, CLIP_NORM_TYPE)
            elif CLIP == "value":
                nn.utils.clip_grad_value_(model.parameters(), CLIP_VALUE)
            optimizer.step()
            scheduler.step()
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
            loss_sum += criterion(out, y).item() * len(y)
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
