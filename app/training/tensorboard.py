"""Optional TensorBoard event files, written through torch.utils.tensorboard.

torch's writer needs the separate `tensorboard` package; without it `--tensorboard`
fails up front with one line saying so, instead of half-way through a run.
"""

from __future__ import annotations

from typing import Any

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
            for name, norm in event.grad_norms.items():
                self.writer.add_scalar(f"grad_norm/{name}", norm, event.step)
        elif isinstance(event, RunFinished | RunFailed):
            self.writer.close()
