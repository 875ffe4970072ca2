"""Checkpoints: plain dicts of tensors and primitives, written atomically.

They load with torch.load(weights_only=True), so nothing in them can run code: the
config is stored as its dict, metrics as floats, RNG states as byte tensors. Loading
checks every field a resume reads, so a damaged or hand-edited file gives one line
naming the field, and a resume refuses settings that the saved optimizer or position
would silently override (see `check_resumable`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from app.core.fileio import stream_atomic
from app.training.errors import TrainingError

LAST = "last.pt"
BEST = "best.pt"
# A resume continues the saved optimizer, scheduler and batch position; these settings
# are baked into them, so a changed value would be ignored (the optimizer state carries
# the old learning rate) or would misplace the position (another batch size).
RESUME_FIXED = ("batch_size", "drop_last", "optimizer", "scheduler", "layer_lr", "freeze",
                "loss")


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """temp file in the same folder + fsync + rename: a crash leaves the old file whole."""
    return stream_atomic(path, lambda fh: torch.save(state, fh))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_tensors(path: str | os.PathLike[str], what: str,
                 error: Callable[[str], Exception] = TrainingError) -> Any:
    """torch.load(weights_only=True) onto the CPU, so nothing in the file can run code. A
    missing or unreadable file raises `error` with one line naming `what` and the path."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise error(f"{what} {path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 -- unpickling errors vary: refused globals, truncation
        raise error(f"{what} {path}: cannot be loaded ({first_line(exc)})") from None


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    state = load_tensors(path, "checkpoint")
    if not isinstance(state, dict) or "model" not in state:
        raise TrainingError(f"checkpoint {path}: not a TorchCanvas checkpoint")
    problem = _problem(state)
    if problem:
        raise TrainingError(f"checkpoint {path}: {problem}")
    return state


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63


def _number_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _state_dict(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(t, torch.Tensor)
                                       for k, t in v.items())


FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (_state_dict, "a dict of tensors"),
    "optimizer": (lambda v: isinstance(v, dict) and isinstance(v.get("param_groups"), list)
                  and isinstance(v.get("state"), dict), "an optimizer state dict"),
    "scheduler": (lambda v: v is None or isinstance(v, dict), "a dict or None"),
    "scaler": (lambda v: v is None or isinstance(v, dict), "a dict or None"),
    "epoch": (_count, "a whole number >= 0"),
    "batch": (_count, "a whole number >= 0"),
    "step": (_count, "a whole number >= 0"),
    "rng": (lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.dim() == 1,
            "a byte tensor (torch.get_rng_state())"),
    "config": (lambda v: isinstance(v, dict), "a dict"),
    "metrics": (lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and _number_or_none(x) for k, x in v.items()), "a dict of numbers"),
    "early": (lambda v: isinstance(v, dict) and _number_or_none(v.get("best"))
              and (v.get("best_epoch") is None or _count(v.get("best_epoch")))
              and _count(v.get("wait", 0)), "{best, best_epoch, wait}"),
}


def _problem(state: dict[str, Any]) -> str | None:
    for name, (valid, expected) in FIELDS.items():
        if name not in state:
            return f"field '{name}' is missing"
        if not valid(state[name]):
            return f"field '{name}' must be {expected}"
    return None


def check_resumable(state: dict[str, Any], config: dict[str, Any]) -> None:
    """Refuse a resume whose settings differ where the checkpoint would override them."""
    saved = state.get("config") or {}
    for key in RESUME_FIXED:
        if key in saved and saved[key] != config.get(key):
            raise TrainingError(
                f"cannot resume: training.{_first_difference(key, saved[key], config.get(key))}"
                f"; a resume continues the saved optimizer and position, so put the setting "
                f"back or start a new run")


def _first_difference(path: str, old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                return _first_difference(f"{path}.{key}", old.get(key), new.get(key))
    return f"{path} is {new!r} now but {old!r} in the checkpoint"
