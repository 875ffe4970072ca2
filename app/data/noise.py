"""Salt-and-pepper (impulse) noise as a ``torchvision.transforms.v2`` transform."""

from __future__ import annotations

from typing import Any

import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


class SaltPepperNoise(v2.Transform):
    """With probability ``p``, replace a ``1 - snr`` fraction of pixels by black or white.

    ``snr`` (signal-to-noise ratio) is the fraction of pixels kept; the rest is
    split evenly between pepper (0) and salt (the dtype's maximum: 255 for
    uint8, 1.0 for float). A pixel is hit in all its channels at once, as
    impulse noise hits whole pixels. Randomness comes from torch's generator,
    so ``torch.manual_seed`` makes it reproducible. Works on PIL images and on
    tensors ``(..., C, H, W)``; a PIL input gives a PIL output.
    """

    _transformed_types = (PIL.Image.Image, tv_tensors.Image, torch.Tensor)

    def __init__(self, snr: float = 0.9, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= snr <= 1.0 or not 0.0 <= p <= 1.0:
            raise ValueError(f"snr and p must lie in [0, 1], got snr={snr}, p={p}")
        self.snr = float(snr)
        self.p = float(p)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        apply = bool(torch.rand(()) < self.p)
        # 0 = keep, 1 = pepper, 2 = salt; one draw per pixel location.
        draw = torch.rand(height, width)
        noise = 1.0 - self.snr
        kind = torch.zeros(height, width, dtype=torch.uint8)
        kind[draw < noise / 2] = 1
        kind[(draw >= noise / 2) & (draw < noise)] = 2
        return {"apply": apply, "kind": kind}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not params["apply"]:
            return inpt
        if isinstance(inpt, PIL.Image.Image):
            return F.to_pil_image(self._noisy(F.pil_to_tensor(inpt), params["kind"]), mode=inpt.mode)
        return self._noisy(inpt, params["kind"])

    @staticmethod
    def _noisy(image: torch.Tensor, kind: torch.Tensor) -> torch.Tensor:
        high = 1.0 if image.is_floating_point() else torch.iinfo(image.dtype).max
        out = image.clone()
        out[..., kind == 1] = 0
        out[..., kind == 2] = high
        return out

    def extra_repr(self) -> str:
        return f"snr={self.snr}, p={self.p}"
