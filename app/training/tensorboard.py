"""TensorBoard event files (scalars, histograms, activation images) from trainer events.

torch's writer needs the separate `tensorboard` package; without it `--tensorboard`
fails up front with one line saying so, instead of half-way through a run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.training.errors import ConfigError
from app.training.events import BatchEnd, EpochEnd, Event, RunFailed, RunFinished, Snapshot


class TensorBoardWriter:
    def __init__(self, log_dir: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the 'tensorboard' package, which is not "
                              "installed (pip install tensorboard)") from None
        self.writer: Any = SummaryWriter(log_dir)
        self.step = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEnd):
            self.step = event.step
            self.writer.add_scalar("batch/loss", event.loss, event.step)
            self.writer.add_scalar("batch/lr", event.lr, event.step)
        elif isinstance(event, EpochEnd):
            for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "rmse"):
                value = getattr(event, name)
                if value is not None:
                    self.writer.add_scalar(f"epoch/{name}", value, event.epoch)
        elif isinstance(event, Snapshot):
            self._snapshot(event)
        elif isinstance(event, RunFinished | RunFailed):
            self.writer.close()

    def _snapshot(self, event: Snapshot) -> None:
        for name, norm in event.grad_norms.items():
            self.writer.add_scalar(f"grad_norm/{name}", norm, event.step)
        for kind, hists in (("weights", event.weight_hist), ("gradients", event.grad_hist)):
            for name, (counts, edges) in hists.items():
                self._histogram(f"{kind}/{name}", counts, edges, event.step)
        for name, activation in event.activations.items():
            image = activation_image(activation)
            if image is not None:
                self.writer.add_image(f"activations/{name}", image, event.step,
                                      dataformats="HW")

    def _histogram(self, tag: str, counts: np.ndarray, edges: np.ndarray, step: int) -> None:
        """The probes already binned the values: hand TensorBoard the bins, not raw data."""
        counts = np.asarray(counts, dtype=np.float64)
        if counts.sum() == 0:
            return
        centres = (edges[:-1] + edges[1:]) / 2
        self.writer.add_histogram_raw(
            tag, min=float(edges[0]), max=float(edges[-1]), num=int(counts.sum()),
            sum=float((counts * centres).sum()), sum_squares=float((counts * centres**2).sum()),
            bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(), global_step=step)


def activation_image(activation: np.ndarray) -> np.ndarray | None:
    """Channel maps tiled into one grey image in [0, 1] (C×H×W), or a vector as one row."""
    a = np.asarray(activation, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, None, :]
    if a.ndim != 3 or a.size == 0:
        return None
    channels = a[:16]
    cols = int(np.ceil(np.sqrt(len(channels))))
    rows = int(np.ceil(len(channels) / cols))
    h, w = channels.shape[1:]
    grid = np.zeros((rows * h, cols * w), dtype=np.float32)
    for i, channel in enumerate(channels):
        span = channel.max() - channel.min()
        scaled = (channel - channel.min()) / span if span > 0 else np.zeros_like(channel)
        r, c = divmod(i, cols)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = scaled
    return grid
