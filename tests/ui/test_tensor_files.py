"""Checkpoints and weights files are read by one helper: torch.load(weights_only=True)
with one readable line for a missing or damaged file."""

from __future__ import annotations

import pytest
import torch

from app.training.checkpoints import load_checkpoint, load_tensors
from app.training.errors import TrainingError
from app.ui.weights_export import WeightsError, read_state_dict


def test_missing_and_damaged_files_name_what_they_are(tmp_path) -> None:
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a zip archive")
    with pytest.raises(TrainingError, match=r"^checkpoint .*missing\.pt: no such file$"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match=r"^weights file .*damaged\.pt: cannot be loaded \("):
        read_state_dict(damaged)


def test_code_in_a_file_is_refused(tmp_path) -> None:
    path = tmp_path / "pickled.pt"
    torch.save({"model": {"w": torch.ones(2)}, "hook": print}, path)
    with pytest.raises(WeightsError, match="cannot be loaded"):
        load_tensors(path, "weights file", WeightsError)


def test_a_checkpoints_model_entry_is_a_weights_file(tmp_path) -> None:
    path = tmp_path / "last.pt"
    torch.save({"model": {"w": torch.ones(2)}, "epoch": 3}, path)
    assert torch.equal(read_state_dict(path)["w"], torch.ones(2))
