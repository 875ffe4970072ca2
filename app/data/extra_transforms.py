"""Small transforms the v2 set lacks, used by the augmentation steps (app.data.augment)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


class StackCrops(nn.Module):
    """Turn the tuple FiveCrop/TenCrop returns into one ``(n_crops, C, H, W)`` image."""

    def forward(self, crops: tuple) -> tv_tensors.Image:
        return tv_tensors.Image(torch.stack([F.to_image(c) for c in crops]))


class CheckedNormalize(v2.Normalize):
    """``v2.Normalize`` that refuses a channel-count mismatch instead of broadcasting."""

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        channels = inpt.shape[-3] if inpt.ndim >= 3 else 1
        if channels != len(self.mean):
            raise ValueError(f"Normalize: mean/std have {len(self.mean)} values but the image "
                             f"has {channels} channel(s)")
        return super().transform(inpt, params)
