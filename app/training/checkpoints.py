"""Checkpoints: plain dicts of tensors and primitives, written atomically.

They load with torch.load(weights_only=True), so nothing in them can run code: the
config is stored as its dict, metrics as floats, RNG states as byte tensors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from app.core.fileio import stream_atomic
from app.training.errors import TrainingError

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """temp file in the same folder + fsync + rename: a crash leaves the old file whole."""
    return stream_atomic(path, lambda fh: torch.save(state, fh))


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainingError(f"checkpoint {path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 -- unpickling errors vary: refused globals, truncation
        raise TrainingError(f"checkpoint {path}: cannot be loaded "
                            f"({str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise TrainingError(f"checkpoint {path}: not a TorchCanvas checkpoint")
    return state
