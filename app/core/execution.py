"""How one node turns its input tensors into output tensors.

Shared by shape inference (on meta tensors) and the compiled GraphModule (on real ones),
so the inferred shapes are the shapes the model really produces.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from app.core.catalogue import LayerSpec


def run_node(spec: LayerSpec, module: nn.Module | nn.Parameter, resolved: dict[str, Any],
             args: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    if spec.holds_tensor:
        return (module,)
    if spec.attention:
        return (module(args[0], args[0], args[0], need_weights=False)[0],)
    if spec.sequence:
        sequence = module(args[0])[0]
        if resolved["output"] == "last":
            sequence = sequence[:, -1]
        return (sequence,)
    result = module(*args)
    return result if isinstance(result, tuple) else (result,)


def build_meta(spec: LayerSpec, resolved: dict[str, Any]) -> nn.Module:
    """The node's module with shape-only (meta) tensors: no memory, no initialisation cost."""
    with torch.device("meta"):
        return spec.build(resolved).eval()
