"""Training with augmentation (RandomRotation + Normalize) versus without, on the digits CNN.

The app's pipeline runs on whole batches (app.data.batch_augment: one affine grid per
sample, one grid_sample call per batch), and every sample still draws its own angle
(checked below, within a batch and between two reads). Same model (the mnist_cnn template),
data (offline digits 1x28x28), seed and batch size, one thread, runs alternating; CPU
time of this process. Issue 18's target: at most 1.25x training without augmentation
(the course's per-sample PIL way costs 2.43x).

    python benchmarks/augment_overhead.py [--repeats 5] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from app.core.templates import build_template
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer
from benchmarks.report import QUICK, figure

STEPS = [{"type": "RandomRotation", "degrees": 15},
         {"type": "Normalize", "preset": "custom", "mean": [0.1], "std": [0.25]}]


def train(data, epochs: int) -> float:
    cfg = TrainConfig.from_dict({"epochs": epochs, "batch_size": 64, "seed": 0,
                                 "device": "cpu", "probes": {"enabled": False}})
    start = time.process_time()
    result = Trainer(build_template("mnist_cnn"), data, cfg).run()
    assert isinstance(result, RunFinished), result
    return time.process_time() - start


def distinct_draws(data, n: int = 8) -> tuple[int, int]:
    """(how many of n samples, each read twice, came out different the second time; how
    many distinct results n copies of one sample give in one batch)."""
    rereads = sum(not torch.equal(data.train[i][0], data.train[i][0]) for i in range(n))
    batch = data.train.__getitems__([0] * n) if hasattr(data.train, "__getitems__") \
        else [data.train[0] for _ in range(n)]
    return rereads, len({tuple(x.flatten().tolist()) for x, _ in batch})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    if QUICK:
        args.repeats, args.epochs = 1, 1
    torch.set_num_threads(1)
    split = {"val_fraction": 0.2, "seed": 0}
    plain = load_data({"source": "digits", "split": split})
    augmented = load_data({"source": "digits", "split": split, "train_transforms": STEPS})
    rereads, in_batch = distinct_draws(augmented)
    print(f"{type(augmented.train).__name__}: samples that differ between two reads "
          f"{rereads}/8; one sample 8 times in a batch gives {in_batch} different images")
    train(plain, 1), train(augmented, 1)  # warm-up
    ratios, plains, augs = [], [], []
    for i in range(args.repeats):
        pair = (plain, augmented) if i % 2 == 0 else (augmented, plain)
        t = {id(d): train(d, args.epochs) for d in pair}
        plains.append(t[id(plain)])
        augs.append(t[id(augmented)])
        ratios.append(augs[-1] / plains[-1])
        print(f"repeat {i + 1}: plain {plains[-1]:.3f} s  augmented {augs[-1]:.3f} s  "
              f"ratio {ratios[-1]:.3f}")
    print(f"augmented / plain: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}, {args.repeats} repeats)")
    figure("augmentation RandomRotation+Normalize / none (digits CNN)", ratios, "ratio", 1.25)


if __name__ == "__main__":
    main()
