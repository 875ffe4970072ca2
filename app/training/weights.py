"""Weights files in: read a state_dict safely and load it strictly into a network.

A weights file is a plain `state_dict` (or a TorchCanvas checkpoint, whose "model" entry
is one), read with `torch.load(weights_only=True)` so nothing in it can run code. Its keys
are module paths (`layer1.0.conv1.weight`); a network's layers sit at their nodes' module
paths, so a mismatch is reported as one line naming the key and the node it belongs to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
from torch import nn

from app.core.graph import NetworkDocument, module_path
from app.training.checkpoints import load_tensors


class WeightsError(ValueError):
    """A weights file that cannot be read or does not fit the network; one readable line."""


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A plain state_dict, or the "model" entry of a TorchCanvas checkpoint."""
    state = load_tensors(path, "weights file", WeightsError)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise WeightsError(f"{path}: holds no state_dict of tensors")
    return state


def _paths(doc: NetworkDocument) -> dict[str, str]:
    return {module_path(n): n.name for n in doc.nodes if n.spec.has_module}


def node_of_key(doc: NetworkDocument, key: str, paths: dict[str, str] | None = None
                ) -> str | None:
    """The node whose layer owns state_dict key `key` (the longest module path prefix)."""
    paths = _paths(doc) if paths is None else paths
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        name = paths.get(".".join(parts[:end]))
        if name is not None:
            return name
    return None


def _where(doc: NetworkDocument, key: str) -> str:
    node = node_of_key(doc, key)
    return f"node {node}" if node else f"no layer at {key.rpartition('.')[0] or key!r}"


def _shape(t: torch.Tensor) -> str:
    return "×".join(map(str, t.shape)) or "scalar"


def owned_keys(doc: NetworkDocument, keys: Iterable[str], layers: Iterable[str]) -> set[str]:
    """The keys that belong to the given layers (node names)."""
    chosen, paths = set(layers), _paths(doc)
    return {k for k in keys if node_of_key(doc, k, paths) in chosen}


def fit_problem(doc: NetworkDocument, model: nn.Module, state: dict[str, torch.Tensor],
                skip: Iterable[str] = ()) -> str:
    """"" when `state` loads strictly into `model` (ignoring the keys of the layers in
    `skip`); else the first mismatch, naming the key and its node."""
    expected = model.state_dict()
    ignored = owned_keys(doc, set(expected) | set(state), skip)
    for key, tensor in expected.items():
        if key in ignored:
            continue
        if key not in state:
            return f"missing key '{key}' ({_where(doc, key)})"
        if state[key].shape != tensor.shape:
            return (f"key '{key}' ({_where(doc, key)}) is {_shape(state[key])} in the file "
                    f"but {_shape(tensor)} in the network")
    extra = [k for k in state if k not in expected and k not in ignored]
    if extra:
        return f"unexpected key '{extra[0]}' ({_where(doc, extra[0])})"
    return ""


def load_into(doc: NetworkDocument, model: nn.Module, state: dict[str, torch.Tensor],
              source: str, skip: Iterable[str] = ()) -> nn.Module:
    """Load `state` into `model` (compiled from `doc`) strictly, except the layers in
    `skip`, which keep the weights they have (a replaced head keeps its fresh init)."""
    skip = list(skip)
    problem = fit_problem(doc, model, state, skip)
    if problem:
        raise WeightsError(f"{source} does not fit this network: {problem}")
    current = model.state_dict()
    ignored = owned_keys(doc, set(current) | set(state), skip)
    loaded = {k: v for k, v in state.items() if k not in ignored}
    model.load_state_dict(loaded | {k: v for k, v in current.items() if k in ignored},
                          strict=True)
    return model


def compile_with(doc: NetworkDocument, state: dict[str, torch.Tensor], source: str,
                 skip: Iterable[str] = ()) -> nn.Module:
    """The network compiled, with these weights."""
    from app.core.compiler import compile_document

    return load_into(doc, compile_document(doc), state, source, skip)
