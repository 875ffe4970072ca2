"""The training loop: headless, thread-friendly, reporting through typed events.

A GUI worker calls `run()` in its own thread and `pause()/resume()/stop()` from the GUI
thread; all three only flip threading.Events that the loop checks between batches.
The hot loop never reads a tensor back to the host: losses are kept on the device and
read (one sync) every `log_every` batches, when they are also checked for NaN.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from app.core.catalogue import Role
from app.training import checkpoints as ckpt
from app.training.config import TrainConfig
from app.training.devices import resolve_device
from app.training.errors import ConfigError, TrainingError
from app.training.events import (
    BatchEnd,
    EpochEnd,
    Event,
    ProbeSample,
    RunFailed,
    RunFinished,
    RunStarted,
)
from app.training.failures import readable_failure
from app.training.init import apply_init
from app.training.losses import Criterion, build_loss
from app.training.metrics import LossMeter, MetricKind, metric_kind
from app.training.optimizers import OPTIMIZERS, build_optimizer, current_lr
from app.training.pretrained import load_pretrained
from app.training.probes import Probes
from app.training.schedulers import BATCH, Schedule, build_scheduler
from app.training.setup import (
    build_model,
    eval_loader,
    first_batch,
    freeze_layers,
    layer_paths,
    param_groups,
    parameter_counts,
    seed_everything,
    train_loader,
)

Callback = Callable[[Event], None]
LOWER_IS_BETTER = ("val_loss", "train_loss")


@dataclass
class Progress:
    """Where the run is; saved in checkpoints so a resumed run continues exactly."""

    epoch: int = 0  # epochs fully done
    batch: int = 0  # batches done in the epoch in progress
    step: int = 0
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0  # epochs without improvement (early stopping)
    metrics: dict[str, float] = field(default_factory=dict)


class NonFiniteLoss(TrainingError):
    pass


class Trainer:
    def __init__(self, network: Any, data: Any, config: TrainConfig, *,
                 callback: Callback | None = None,
                 checkpoint_dir: str | Path | None = None,
                 resume_from: str | Path | None = None) -> None:
        """network: a NetworkDocument (compiled after seeding) or an nn.Module.
        data: a DatasetBundle (train, val, test, task, ...). Nothing heavy happens here:
        errors in the config, network or data are reported by run() as RunFailed."""
        self.network = network
        self.data = data
        self.config = config
        self.callback = callback or (lambda event: None)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.resume_from = resume_from
        self.model: nn.Module | None = None
        self.progress = Progress()
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._last_checkpoint: str | None = None
        self._where: tuple[int | None, int | None] = (None, None)

    # -- control, from any thread -------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused loop wakes up to see the stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- the run ------------------------------------------------------------------------
    def run(self) -> RunFinished | RunFailed:
        """Train to the end, a stop, early stopping or a failure; never raises for those."""
        try:
            self._prepare()
            return self._train()
        except Exception as exc:  # noqa: BLE001 -- every failure becomes one readable line
            message = readable_failure(exc, self._where, self.config)
            event = RunFailed(message, *self._where, checkpoint=self._last_checkpoint)
            with contextlib.suppress(Exception):
                self.callback(event)
            return event

    def _emit(self, event: Event) -> None:
        self.callback(event)

    def _prepare(self) -> None:
        cfg = self.config = self.config.validated()
        self.device = resolve_device(cfg.device)
        seed_everything(cfg.seed)
        model = build_model(self.network)
        _check_input_shape(model, self.network, self.data)
        apply_init(model, cfg.init)
        load_pretrained(self.network, model, cfg.pretrained)
        layers = layer_paths(self.network, model)
        freeze_layers(model, layers, cfg.freeze)
        self.model = model.to(self.device)
        self.criterion: Criterion = build_loss(cfg.loss).to(self.device)
        self.optimizer = build_optimizer(cfg.optimizer, param_groups(model, layers, cfg.layer_lr))
        self.closure = OPTIMIZERS[cfg.optimizer.name].needs_closure
        self.loader, self.sampler = train_loader(self.data.train, cfg, self.device)
        self.steps_per_epoch = len(self.loader)
        self.val_loader = eval_loader(self.data.val, cfg, self.device)
        self.test_loader = eval_loader(self.data.test, cfg, self.device)
        self.schedule: Schedule | None = build_scheduler(
            cfg.scheduler, self.optimizer, epochs=cfg.epochs,
            steps_per_epoch=self.steps_per_epoch)
        self.notes: list[str] = []
        self._mixed_precision()
        self.kind = self._preflight()
        self.l1_params = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
        sample, info = self._probe_sample()
        self.probes = Probes(self.model, cfg.probes, sample, layers, info)
        self.best_state: dict[str, Tensor] | None = None
        if self.resume_from is not None:
            self._load(ckpt.load_checkpoint(self.resume_from))

    def _mixed_precision(self) -> None:
        use = self.config.mixed_precision and self.device.type == "cuda"
        if self.config.mixed_precision and not use:
            self.notes.append(f"mixed precision works on CUDA only; ignored on "
                              f"{self.device.type}")
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use \
            else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler("cuda") if use else None

    def _preflight(self) -> MetricKind:
        """One eval-mode forward pass on a few samples: shapes and targets fit the loss?

        Eval mode and no_grad: no dropout draw, no batch-norm update, so the run that
        follows is exactly the one it would be without this check."""
        x, y = first_batch(self.data.train, 8)
        x, y = x.to(self.device), y.to(self.device)
        self.model.eval()
        with torch.no_grad(), self.autocast():
            out = _first_output(self.model(x))
            self.criterion.check(out, y)
            self.criterion(out, y)
        self.model.train()
        return metric_kind(out, y, self.config.loss.name)

    def _probe_sample(self) -> tuple[Tensor | None, ProbeSample | None]:
        """The first validation sample (a training one without a validation set), the same
        at every probe so its activations can be compared as training goes on."""
        if not self.config.probes.enabled:
            return None, None
        validation = self.data.val is not None and len(self.data.val)
        x, y = (self.data.val if validation else self.data.train)[0][:2]
        label = (float(y) if isinstance(y, int | float) else
                 float(y.reshape(-1)[0]) if isinstance(y, Tensor) and y.numel() == 1 else None)
        info = ProbeSample("validation" if validation else "training", 0, label)
        return x.unsqueeze(0).to(self.device), info

    def _train(self) -> RunFinished:
        cfg = self.config
        params, trainable = parameter_counts(self.network, self.model, cfg.freeze)
        self._emit(RunStarted(cfg.epochs, self.steps_per_epoch, str(self.device),
                              self.progress.epoch, params, trainable,
                              getattr(self.data, "task", self.kind.name), list(self.notes)))
        reason = "completed"
        while self.progress.epoch < cfg.epochs:
            reason = self._epoch()
            if reason != "completed":
                break
        return self._finish(reason)

    def _epoch(self) -> str:
        """One epoch; returns "completed", "stopped" or "early_stopping"."""
        p = self.progress
        epoch = p.epoch + 1
        started = time.perf_counter()
        lr = current_lr(self.optimizer)
        train = self._train_batches(epoch)
        if self._stop.is_set() and p.batch < self.steps_per_epoch:
            self._save_position()
            return "stopped"
        p.epoch, p.batch = epoch, 0
        event = self._end_of_epoch(epoch, train, lr, time.perf_counter() - started)
        self._emit(event)
        if self.config.probes.enabled and self.config.probes.every_n_batches == 0:
            self._emit(self.probes.capture(epoch, p.step))
        if self._stop.is_set():
            return "stopped"
        stopping = self.config.early_stopping
        # As in Keras and Lightning: `patience` epochs without improvement are tolerated,
        # the next one stops; an improving epoch (wait 0) never stops, even at patience 0.
        return "early_stopping" if stopping.enabled and p.wait > 0 \
            and p.wait >= stopping.patience else "completed"

    def _train_batches(self, epoch: int) -> dict[str, Any]:
        p, cfg, device = self.progress, self.config, self.device
        skip = p.batch
        self.sampler.set_epoch(epoch, skip * cfg.batch_size)
        self.loader.generator.manual_seed(cfg.seed * 1_000_003 + epoch)
        loss_meter = LossMeter()
        meter = self.kind.train_meter(device)
        window: list[Tensor] = []
        window_samples, tick = 0, time.perf_counter()
        total = self.steps_per_epoch
        batch = skip
        for x, y in self.loader:
            batch += 1
            self._where = (epoch, batch)
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            loss, out = self._step(x, y)
            loss = loss.detach()
            window.append(loss)
            loss_meter.add(loss, len(y))
            if meter is not None:
                meter.add(self.kind.scores(out), self.kind.labels(y))
            window_samples += len(y)
            p.step += 1
            p.batch = batch
            if self.schedule is not None and self.schedule.step_per == BATCH:
                self.schedule.scheduler.step()
            if batch % cfg.log_every == 0 or batch == total:
                self._flush(window, epoch, batch, window_samples, tick)
                window, window_samples, tick = [], 0, time.perf_counter()
            if self.probes.due(batch):
                self._emit(self.probes.capture(epoch, p.step))
            if self._stop.is_set() or not self._running.is_set():
                paused_at = time.perf_counter()
                self._running.wait()
                tick += time.perf_counter() - paused_at  # paused time is not throughput
                if self._stop.is_set():
                    if window:
                        self._flush(window, epoch, batch, window_samples, tick)
                    break
        result = {"loss": loss_meter.mean()}
        if meter is not None:
            result.update(meter.result())
        return result

    def _step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if self.closure:
            return self._closure_step(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            out = _first_output(self.model(x))
            loss = self._loss(out, y)
        if self.scaler is None:
            loss.backward()
            self._clip()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)  # clip the true gradients
            self._clip()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        return loss, out

    def _closure_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """LBFGS evaluates the loss several times per step through this closure."""
        outputs: list[Tensor] = []

        def closure() -> Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            out = _first_output(self.model(x))
            loss = self._loss(out, y)
            loss.backward()
            self._clip()
            outputs[:] = [out]
            return loss

        loss = self.optimizer.step(closure)
        return loss, outputs[0]

    def _loss(self, out: Tensor, y: Tensor) -> Tensor:
        loss = self.criterion(out, y)
        l1 = self.config.regularisation.l1
        if l1:
            loss = loss + l1 * sum(p.abs().sum() for p in self.l1_params)
        return loss

    def _clip(self) -> None:
        reg = self.config.regularisation
        if reg.clip == "norm":
            nn.utils.clip_grad_norm_(self.model.parameters(), reg.clip_value,
                                     reg.clip_norm_type)
        elif reg.clip == "value":
            nn.utils.clip_grad_value_(self.model.parameters(), reg.clip_value)

    def _flush(self, window: list[Tensor], epoch: int, batch: int, samples: int,
               tick: float) -> None:
        """The one sync per `log_every` batches: read losses, check them, report."""
        losses = torch.stack(window).float().cpu()
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            first = batch - len(window) + 1 + int(bad[0, 0])
            self._where = (epoch, first)
            raise NonFiniteLoss(
                f"the loss became {float(losses[bad[0, 0]])} at epoch {epoch}, batch "
                f"{first}: training diverged; lower the learning rate (now "
                f"{current_lr(self.optimizer):g}), normalise the inputs or clip gradients")
        elapsed = max(time.perf_counter() - tick, 1e-9)
        self._emit(BatchEnd(epoch, batch, self.progress.step, float(losses[-1]),
                            float(losses.mean()), current_lr(self.optimizer),
                            samples / elapsed))

    # -- epoch end ----------------------------------------------------------------------
    def evaluate(self, loader: Any) -> dict[str, Any]:
        self.model.eval()
        loss_meter, meter = LossMeter(), None
        with torch.no_grad(), self.autocast():
            for x, y in loader:
                x, y = x.to(self.device), y.to(self.device)
                out = _first_output(self.model(x))
                loss_meter.add(self.criterion(out, y), len(y))
                meter = meter or self.kind.meter(out, self.config.top_k, self.device)
                if meter is not None:
                    meter.add(self.kind.scores(out), self.kind.labels(y))
        self.model.train()
        result = {"loss": loss_meter.mean()}
        if meter is not None:
            result.update(meter.result())
        return result

    def _end_of_epoch(self, epoch: int, train: dict[str, Any], lr: float, seconds: float
                      ) -> EpochEnd:
        val = self.evaluate(self.val_loader) if self.val_loader is not None else {}
        scores = _scores(train, val)
        if not math.isfinite(scores["train_loss"]):
            raise NonFiniteLoss(f"the training loss of epoch {epoch} is not finite")
        self._step_scheduler(scores)
        improved = self._track_best(epoch, scores)
        self.progress.metrics = scores
        self._save("last")
        shown = val or train
        return EpochEnd(
            epoch=epoch, train_loss=scores["train_loss"], val_loss=scores.get("val_loss"),
            lr=lr, seconds=seconds, train_accuracy=train.get("accuracy"),
            val_accuracy=val.get("accuracy"), top_k=shown.get("top_k", {}),
            per_class_accuracy=shown.get("per_class_accuracy"),
            confusion=shown.get("confusion"), mse=shown.get("mse"), rmse=shown.get("rmse"),
            log_rmse=shown.get("log_rmse"), improved=improved)

    def _step_scheduler(self, scores: dict[str, float]) -> None:
        if self.schedule is None or self.schedule.step_per == BATCH:
            return
        if self.schedule.monitor:
            self.schedule.scheduler.step(_monitored(scores, self.schedule.monitor))
        else:
            self.schedule.scheduler.step()

    def _track_best(self, epoch: int, scores: dict[str, float]) -> bool:
        stopping, p = self.config.early_stopping, self.progress
        value = _monitored(scores, stopping.monitor)
        sign = 1 if stopping.monitor in LOWER_IS_BETTER else -1
        improved = p.best is None or sign * (p.best - value) > stopping.min_delta
        if improved:
            p.best, p.best_epoch, p.wait = value, epoch, 0
            if stopping.enabled and stopping.restore_best:  # a copy only when it is used
                self.best_state = copy.deepcopy(self.model.state_dict())
            self._save("best")
        else:
            p.wait += 1
        return improved

    def _finish(self, reason: str) -> RunFinished:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        metrics = dict(self.progress.metrics)
        if self.test_loader is not None and reason != "stopped":
            test = self.evaluate(self.test_loader)
            metrics.update({f"test_{k}": v for k, v in test.items()
                            if isinstance(v, float)})
        event = RunFinished(self.progress.epoch, reason, metrics, self.progress.best_epoch,
                            self._last_checkpoint)
        self._emit(event)
        return event

    # -- checkpoints --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Only tensors and primitive containers: loads with weights_only=True."""
        p = self.progress
        return {
            "format": "torchcanvas-checkpoint", "version": 1,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.scheduler.state_dict() if self.schedule else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "epoch": p.epoch, "batch": p.batch, "step": p.step,
            "early": {"best": p.best, "best_epoch": p.best_epoch, "wait": p.wait},
            "rng": torch.get_rng_state(), "config": self.config.to_dict(),
            "metrics": {k: float(v) for k, v in p.metrics.items()},
        }

    def _save(self, which: str) -> None:
        if self.checkpoint_dir is None:
            return
        name = ckpt.BEST if which == "best" else ckpt.LAST
        path = ckpt.save_checkpoint(self.state(), self.checkpoint_dir / name)
        if which == "last":
            self._last_checkpoint = str(path)

    def _save_position(self) -> None:
        """Stopped mid-epoch: last.pt records the batch so a resume continues there."""
        self._save("last")

    def _load(self, state: dict[str, Any]) -> None:
        ckpt.check_resumable(state, self.config.to_dict())
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainingError(f"checkpoint does not fit this network or optimizer: "
                                f"{ckpt.first_line(exc)}") from None
        if self.schedule is not None and state.get("scheduler") is not None:
            self.schedule.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        early = state.get("early", {})
        self.progress = Progress(int(state["epoch"]), int(state["batch"]), int(state["step"]),
                                 early.get("best"), early.get("best_epoch"),
                                 int(early.get("wait", 0)), dict(state.get("metrics", {})))
        torch.set_rng_state(state["rng"])
        if self.progress.epoch > self.config.epochs:
            raise ConfigError(f"epochs: the checkpoint has done {self.progress.epoch} "
                              f"epochs already; ask for more than that")


def _first_output(out: Any) -> Tensor:
    return out[0] if isinstance(out, tuple) else out


def _scores(train: dict[str, Any], val: dict[str, Any]) -> dict[str, float]:
    scores = {"train_loss": train["loss"]}
    if "accuracy" in train:
        scores["train_accuracy"] = train["accuracy"]
    if val:
        scores["val_loss"] = val["loss"]
        if "accuracy" in val:
            scores["val_accuracy"] = val["accuracy"]
        scores.update({k: val[k] for k in ("mse", "rmse", "log_rmse") if k in val})
    return scores


def _monitored(scores: dict[str, float], monitor: str) -> float:
    if monitor in scores:
        return scores[monitor]
    fallback = monitor.replace("val_", "train_")  # no validation set: watch training
    if fallback in scores:
        return scores[fallback]
    raise ConfigError(f"monitor: {monitor} is not measured for this task (measured: "
                      f"{', '.join(scores)})")


def _check_input_shape(model: nn.Module, network: Any, data: Any) -> None:
    from app.core.graph import NetworkDocument

    if not isinstance(network, NetworkDocument):
        return
    shapes = [tuple(network.node(n).params["shape"]) for n in network.ends(Role.INPUT)]
    given = tuple(getattr(data, "input_shape", ()) or ())
    if len(shapes) == 1 and given and shapes[0] != given:
        raise TrainingError(f"the network's Input expects samples of shape {shapes[0]} but "
                            f"the dataset gives {given}; change the Input node's shape")
