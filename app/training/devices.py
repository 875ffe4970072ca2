"""Which devices exist, and what "auto" / "cuda:1" / "mps" mean on this machine."""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass

from app.core.lazy import lazy_module
from app.training.errors import ConfigError

torch = lazy_module("torch")

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what TrainConfig.device takes: "cpu", "cuda:0", "mps"
    name: str  # for people: "CPU (x86_64)", "NVIDIA H100 80GB HBM3"
    kind: str  # "cpu" | "cuda" | "mps"


def list_devices() -> list[DeviceInfo]:
    """The devices really present: the CPU, each CUDA GPU by name, Apple's MPS."""
    cpu = platform.processor() or platform.machine() or "unknown"
    found = [DeviceInfo("cpu", f"CPU ({cpu})", "cpu")]
    if torch.cuda.is_available():
        found += [DeviceInfo(f"cuda:{i}", torch.cuda.get_device_name(i), "cuda")
                  for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(DeviceInfo("mps", "Apple Metal (MPS)", "mps"))
    return found


def check_device_name(value: object, where: str = "device") -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.match(value):
        raise ConfigError(f"{where}: must be auto, cpu, mps, cuda or cuda:N, got {value!r}")
    return value


def resolve_device(value: str) -> torch.device:
    """A torch.device that exists here; ConfigError naming what is available otherwise."""
    check_device_name(value)
    ids = [d.id for d in list_devices()]
    if value == "auto":
        best = next((i for i in ids if i.startswith("cuda")), "mps" if "mps" in ids
                    else "cpu")
        return torch.device(best)
    wanted = "cuda:0" if value == "cuda" else value
    if wanted not in ids:
        raise ConfigError(f"device: {value} is not available on this machine (available: "
                          f"{', '.join(ids)})")
    return torch.device(wanted)
