"""`python -m app train FILE ...`: train a project headless, progress on stderr."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from app.training.events import BatchEnd, EpochEnd, Event, RunFailed, RunFinished, RunStarted

BAR_WIDTH = 28


@dataclass
class ProgressBar:
    """One self-overwriting line (bar, loss, ETA) on a terminal; a line per epoch."""

    stream: TextIO
    live: bool  # a terminal: redraw in place; otherwise print epoch lines only
    total: int = 0
    per_epoch: int = 1
    first: int = 0
    started: float = field(default_factory=time.perf_counter)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.per_epoch = max(1, event.steps_per_epoch)
            self.total = event.epochs * self.per_epoch
            self.first = event.start_epoch * self.per_epoch
            self.started = time.perf_counter()
            for note in event.notes:
                print(f"note: {note}", file=self.stream)
        elif isinstance(event, BatchEnd) and self.live:
            self._draw(event)
        elif isinstance(event, EpochEnd):
            self._epoch_line(event)

    def _draw(self, event: BatchEnd) -> None:
        done = (event.epoch - 1) * self.per_epoch + event.batch
        fraction = min(1.0, done / max(1, self.total))
        filled = int(fraction * BAR_WIDTH)
        elapsed = time.perf_counter() - self.started
        rate = (done - self.first) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else math.nan
        self.stream.write(f"\repoch {event.epoch} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"
                          f" {fraction:4.0%} loss {event.loss:.4f} ETA {_clock(eta)}  ")
        self.stream.flush()

    def _epoch_line(self, e: EpochEnd) -> None:
        parts = [f"epoch {e.epoch}", f"train_loss {e.train_loss:.4f}"]
        for name in ("val_loss", "val_accuracy", "rmse"):
            value = getattr(e, name)
            if value is not None:
                parts.append(f"{name} {value:.4f}")
        prefix = "\r\033[K" if self.live else ""
        print(prefix + "  ".join(parts) + f"  ({e.seconds:.1f} s)", file=self.stream)


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def run_train_command(args: Any) -> int:
    """Returns the exit status; raises ConfigError / ProjectError for bad input."""
    from app.core.params import INT, Param
    from app.core.project import load_project
    from app.training.config import TrainConfig, default_config
    from app.training.data import load_data
    from app.training.devices import check_device_name
    from app.training.errors import checked_value
    from app.training.sections import check_sections
    from app.training.trainer import Trainer

    project = load_project(args.file)
    check_sections(project)  # every field, before the data loads or a file is written
    _check_out_dir(args.out)
    overrides = {"epochs": args.epochs, "device": args.device}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.device is not None:
        check_device_name(args.device, "--device")
    if args.epochs is not None:
        checked_value(Param("epochs", INT, None, minimum=1), args.epochs, "--epochs")
    data = load_data(project.data)
    config = TrainConfig.from_dict(project.training) if project.training \
        else default_config(data.task)  # no training section: defaults for the task
    config = TrainConfig.from_dict({**config.to_dict(), **overrides})
    callback = _tee(ProgressBar(sys.stderr, sys.stderr.isatty()), args.tensorboard)
    trainer = Trainer(project.network, data, config, callback=callback,
                      checkpoint_dir=args.out, resume_from=args.resume)
    result = trainer.run()
    if isinstance(result, RunFailed):
        print(f"error: {result.reason}", file=sys.stderr)
        return 1
    _report(result, args.json)
    return 0


def _check_out_dir(out: str | None) -> None:
    """--out must be a folder (or not exist yet); found now, not after the first epoch."""
    from pathlib import Path

    from app.training.errors import ConfigError

    if not out:
        return
    path = Path(out)
    blocker = next((p for p in (path, *path.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"--out: {blocker} is a file, not a folder for checkpoints")
    if blocker is not None and not os.access(blocker, os.W_OK):
        raise ConfigError(f"--out: cannot write in {blocker}")


def _tee(bar: ProgressBar, tensorboard: str | None) -> Any:
    if not tensorboard:
        return bar
    from app.training.tensorboard import TensorBoardWriter

    writer = TensorBoardWriter(tensorboard)

    def both(event: Event) -> None:
        bar(event)
        writer(event)
    return both


def _report(result: RunFinished, as_json: bool) -> None:
    summary = {"epochs": result.epochs_done, "reason": result.reason,
               "best_epoch": result.best_epoch, "checkpoint": result.checkpoint,
               **{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in result.metrics.items()}}
    if as_json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>16}: {value}")
