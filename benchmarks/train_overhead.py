"""Trainer (probes + events on) versus a hand-written PyTorch loop: the time ratio.

Same model (LeNet-5 from the templates), same data (offline digits 1x28x28), same seed,
same batch size, one process, runs alternating so drift in machine load hits both.
Prints the median ratio over the repeats; DESIGN.md targets <= 1.01.

    python benchmarks/train_overhead.py [--repeats 7] [--epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from app.core.compiler import compile_document
from app.core.templates import build_template
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer

BATCH = 64
LR = 0.9  # d2l's LeNet setting: SGD, lr 0.9


def hand_loop(data, epochs: int, seed: int) -> float:
    """What a student would write: train, then validate each epoch with accuracy."""
    torch.manual_seed(seed)
    model = compile_document(build_template("lenet5"))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    train = DataLoader(data.train, batch_size=BATCH, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(data.val, batch_size=256)
    for _ in range(epochs):
        model.train()
        total = torch.zeros(())
        for x, y in train:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.detach() * len(y)
        model.eval()
        correct = torch.zeros((), dtype=torch.long)
        with torch.no_grad():
            for x, y in val:
                correct += (model(x).argmax(1) == y).sum()
        accuracy = int(correct) / len(data.val)  # read once per epoch, like the Trainer
        _ = float(total) / len(data.train)
    return accuracy


def with_trainer(data, epochs: int, seed: int) -> float:
    cfg = TrainConfig.from_dict({
        "epochs": epochs, "batch_size": BATCH, "seed": seed, "device": "cpu",
        "optimizer": {"name": "SGD", "lr": LR},
        "probes": {"enabled": True, "every_n_batches": 0}})  # histograms + activations
    events: list = []
    result = Trainer(build_template("lenet5"), data, cfg, callback=events.append).run()
    assert isinstance(result, RunFinished), result
    return result.metrics["val_accuracy"]


def timed(fn, *args) -> float:
    """CPU seconds of this process: on a shared machine, wall time mostly measures the
    neighbours; with one thread, CPU time is what the loop itself costs."""
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_data({"source": "digits", "split": {"val_fraction": 0.2, "seed": 0}})
    timed(hand_loop, data, 1, 0)  # warm-up: allocator, kernels, imports
    timed(with_trainer, data, 1, 0)
    ratios, hands, trainers = [], [], []
    for i in range(args.repeats):
        if i % 2:  # alternate the order too
            t_trainer = timed(with_trainer, data, args.epochs, 0)
            t_hand = timed(hand_loop, data, args.epochs, 0)
        else:
            t_hand = timed(hand_loop, data, args.epochs, 0)
            t_trainer = timed(with_trainer, data, args.epochs, 0)
        hands.append(t_hand)
        trainers.append(t_trainer)
        ratios.append(t_trainer / t_hand)
        print(f"repeat {i + 1}: hand {t_hand:.3f} s  trainer {t_trainer:.3f} s  "
              f"ratio {t_trainer / t_hand:.3f}")
    print(f"median hand {statistics.median(hands):.3f} s, trainer "
          f"{statistics.median(trainers):.3f} s")
    print(f"ratio (median of {args.repeats}): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
