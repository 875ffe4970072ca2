"""Trainer (probes + events on) and PyTorch Lightning versus a hand-written loop.

Same model (LeNet-5 from the templates), same data (offline digits 1x28x28), same seed,
same batch size, one process, runs rotating so drift in machine load hits all. The app's
Trainer takes 4 probe snapshots per epoch, as the editor asks. Every loop reports what
the course's train_ch6 reports and the Trainer shows: training loss and accuracy each
epoch (kept on the device, read once an epoch) and validation accuracy. 10 epochs, as the
course trains LeNet and as a run config defaults to, so the one-off costs of a run weigh
what they weigh in a real run. Lightning runs when it is installed (the `bench` extra).
Prints each repeat and the median ratio with its spread; DESIGN.md targets <= 1.01.

    python benchmarks/train_overhead.py [--repeats 5] [--epochs 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from app.core.compiler import compile_document
from app.core.templates import build_template
from app.data.loading import iterations_per_epoch
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer
from benchmarks.report import QUICK, figure

BATCH = 64
SNAPSHOTS = 4  # per epoch, as the editor's worker asks
LR = 0.9  # d2l's LeNet setting: SGD, lr 0.9


def hand_loop(data, epochs: int, seed: int) -> float:
    """What a student would write (the course's train_ch6 without its per-batch syncs):
    train with loss and accuracy, then validate each epoch with accuracy."""
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
        hits = torch.zeros((), dtype=torch.long)
        for x, y in train:
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            total += loss.detach() * len(y)
            hits += (out.detach().argmax(1) == y).sum()
        model.eval()
        correct = torch.zeros((), dtype=torch.long)
        with torch.no_grad():
            for x, y in val:
                correct += (model(x).argmax(1) == y).sum()
        accuracy = int(correct) / len(data.val)  # read once per epoch, like the Trainer
        _ = float(total) / len(data.train), int(hits) / len(data.train)
    return accuracy


def with_trainer(data, epochs: int, seed: int, probes: bool = True) -> float:
    cfg = TrainConfig.from_dict({
        "epochs": epochs, "batch_size": BATCH, "seed": seed, "device": "cpu",
        "optimizer": {"name": "SGD", "lr": LR},
        "probes": {"enabled": probes,  # histograms, norms, activations as in the editor
                   "every_n_batches": max(1, iterations_per_epoch(len(data.train), BATCH,
                                                                  False) // SNAPSHOTS)}})
    events: list = []
    result = Trainer(build_template("lenet5"), data, cfg, callback=events.append).run()
    assert isinstance(result, RunFinished), result
    return result.metrics["val_accuracy"]


def with_lightning(data, epochs: int, seed: int) -> float:
    """The same loop as a LightningModule under lightning.Trainer (no logger, checkpoints,
    progress bar or summary: what it costs to let Lightning drive the loop)."""
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = compile_document(build_template("lenet5"))
            self.loss_fn = nn.CrossEntropyLoss()
            self.correct = torch.zeros((), dtype=torch.long)
            self.hits = torch.zeros((), dtype=torch.long)

        def training_step(self, batch, _index):
            x, y = batch
            out = self.net(x)
            self.hits += (out.detach().argmax(1) == y).sum()
            return self.loss_fn(out, y)

        def validation_step(self, batch, _index):
            x, y = batch
            self.correct += (self.net(x).argmax(1) == y).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=LR)

    torch.manual_seed(seed)
    module = Module()
    train = DataLoader(data.train, batch_size=BATCH, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(data.val, batch_size=256)
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, train, val)
    return int(module.correct) / (len(data.val) * epochs)


def timed(fn, *args) -> float:
    """CPU seconds of this process: on a shared machine, wall time mostly measures the
    neighbours; with one thread, CPU time is what the loop itself costs."""
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--split", action="store_true",
                        help="also time the Trainer with probes off: what the probes cost")
    args = parser.parse_args()
    if QUICK:
        args.repeats, args.epochs = 1, 1
    torch.set_num_threads(args.threads)
    data = load_data({"source": "digits", "split": {"val_fraction": 0.2, "seed": 0}})
    loops = {"hand": hand_loop, "trainer": with_trainer}
    if args.split:
        loops["no_probes"] = lambda *a: with_trainer(*a, probes=False)
    if importlib.util.find_spec("lightning"):
        import logging

        logging.getLogger("lightning").setLevel(logging.ERROR)
        loops["lightning"] = with_lightning
    else:
        print("lightning is not installed (pip install -e '.[bench]'): its column is skipped")
    for fn in loops.values():  # warm-up: allocator, kernels, imports
        timed(fn, data, 1, 0)
    times: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for i in range(args.repeats):
        order = names[i % len(names):] + names[:i % len(names)]  # rotate who runs first
        for name in order:
            times[name].append(timed(loops[name], data, args.epochs, 0))
        print(f"repeat {i + 1}: " + "  ".join(f"{n} {times[n][-1]:.3f} s" for n in names)
              + "  ratios " + "  ".join(f"{n}/hand {times[n][-1] / times['hand'][-1]:.3f}"
                                        for n in names[1:]))
    for name in names[1:]:
        # Neighbours on a shared machine only ever slow a run down, so the fastest run of
        # each loop is its least disturbed one: their ratio is printed beside the median.
        ratios = [t / h for t, h in zip(times[name], times["hand"])]
        print(f"{name} / hand loop: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {args.repeats} repeats; "
              f"median hand {statistics.median(times['hand']):.3f} s, {name} "
              f"{statistics.median(times[name]):.3f} s CPU; fastest runs' ratio "
              f"{min(times[name]) / min(times['hand']):.3f})")
        label = {"trainer": "app Trainer with probes", "lightning": "PyTorch Lightning",
                 "no_probes": "app Trainer, probes off"}[name]
        figure(f"{label} / plain loop (LeNet-5, digits)", ratios, "ratio",
               1.01 if name == "trainer" else None)


if __name__ == "__main__":
    main()
