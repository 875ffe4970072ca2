"""Turning any exception of a run into one line a student can act on."""

from __future__ import annotations

from typing import Any

import torch

from app.training.errors import ConfigError, TrainingError

SHAPE_HINTS = ("shape", "size mismatch", "mat1 and mat2", "Expected input batch_size",
               "expected input", "must match the size", "dimension")
DEVICE_HINTS = ("CUDA error", "device-side assert", "cuDNN", "CUBLAS", "MPS", "HIP error",
                "Expected all tensors to be on the same device")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _at(where: tuple[int | None, int | None]) -> str:
    epoch, batch = where
    if epoch is None:
        return ""
    return f" at epoch {epoch}" + (f", batch {batch}" if batch else "")


def readable_failure(exc: BaseException, where: tuple[int | None, int | None],
                     config: Any) -> str:
    if isinstance(exc, TrainingError | ConfigError):
        return _first_line(exc)
    if isinstance(exc, torch.OutOfMemoryError):
        return (f"out of memory{_at(where)}: lower the batch size (now "
                f"{config.batch_size}), use a smaller network or train on the CPU")
    name = type(exc).__name__
    if name in ("CompileError", "DataSourceError", "DocumentError"):
        return f"{_first_line(exc)}"
    message = _first_line(exc)
    if any(h in message for h in DEVICE_HINTS):
        return f"device error{_at(where)}: {message}"
    if isinstance(exc, RuntimeError | ValueError | IndexError) and any(
            h in message for h in SHAPE_HINTS):
        return f"shape mismatch{_at(where)}: {message}"
    return f"{name}{_at(where)}: {message}"
