"""Weights files in: read a state_dict safely and load it strictly into a network.

A weights file is a plain `state_dict` (or a TorchCanvas checkpoint, whose "model" entry
is one), read with `torch.load(weights_only=True)` so nothing in it can run code. Its keys
are module paths (`layer1.0.conv1.weight`); a network's layers sit at their nodes' module
paths, so a mismatch is reported as one line naming the key and the node it belongs to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable

import torch
from torch import nn

from app.core.graph import NetworkDocument, module_path
from app.training.checkpoints import load_tensors

# Key names that torchvision's published files still use and torchvision renames as it
# loads them: (pattern, replacement). DenseNet's files keep PyTorch 0.3's names
# (`denselayer1.norm.1.weight` for `denselayer1.norm1.weight`, densenet._load_state_dict);
# ViT's keep the MLP names from before torchvision 0.13 (`mlp.linear_1` for `mlp.0`,
# `mlp.linear_2` for `mlp.3`, MLPBlock._load_from_state_dict).
LEGACY_KEYS = (
    (r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_\w+))$",
     r"\1\2"),
    (r"^(.*\.mlp)\.linear_1\.(weight|bias)$", r"\1.0.\2"),
    (r"^(.*\.mlp)\.linear_2\.(weight|bias)$", r"\1.3.\2"),
)
# Heads that only run in training (GoogLeNet's aux1/aux2, Inception v3's AuxLogits): an
# eval-mode import never reaches them, so a network without them leaves their weights out.
TRAINING_ONLY_HEADS = ("aux1.", "aux2.", "AuxLogits.")
BATCH_COUNT = ".num_batches_tracked"


class WeightsError(ValueError):
    """A weights file that cannot be read or does not fit the network; one readable line.
    `node` is the layer of the first mismatched key, when it has one."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


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


def network_key(key: str, expected: Collection[str]) -> str | None:
    """The network's name for key `key` of a weights file: the key itself, or the name
    torchvision's own loading gives it (LEGACY_KEYS; RegNet's `block1-0`, which is no
    attribute name, as `block1_0`); None for a training-only head the network lacks."""
    if key in expected:
        return key
    renamings = [re.sub(pattern, to, key) for pattern, to in LEGACY_KEYS]
    for renamed in (*renamings, key.replace("-", "_")):
        if renamed in expected:
            return renamed
    head = next((h for h in TRAINING_ONLY_HEADS if key.startswith(h)), None)
    if head is not None and not any(k.startswith(head) for k in expected):
        return None
    return key


def as_network_keys(state: dict[str, torch.Tensor], expected: Collection[str]
                    ) -> dict[str, torch.Tensor]:
    """`state` under the network's key names (network_key). A batch norm saved before
    PyTorch counted batches (torchvision's older files) gets the count 0, as BatchNorm's
    own loader gives it."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        renamed = network_key(key, expected)
        if renamed is not None:
            out[renamed] = tensor
    for key in expected:
        stem = key.removesuffix(BATCH_COUNT)
        if stem != key and key not in out and f"{stem}.running_mean" in out:
            out[key] = torch.tensor(0, dtype=torch.long)
    return out


def first_mismatch(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor],
                   ignored: Collection[str] = ()) -> tuple[str, str] | None:
    """Where `state` does not load strictly into a module whose state_dict is `expected`
    (the keys in `ignored` aside): (the key, one line saying what is wrong), or None."""
    for key, tensor in expected.items():
        if key in ignored:
            continue
        if key not in state:
            return key, f"missing key '{key}'"
        if state[key].shape != tensor.shape:
            return key, (f"key '{key}' is {_shape(state[key])} in the file but "
                         f"{_shape(tensor)} in the network")
    extra = next((k for k in state if k not in expected and k not in ignored), None)
    return None if extra is None else (extra, f"unexpected key '{extra}'")


def _mismatch(doc: NetworkDocument, model: nn.Module, state: dict[str, torch.Tensor],
              skip: Iterable[str]) -> tuple[str, str] | None:
    expected = model.state_dict()
    mismatch = first_mismatch(expected, state, owned_keys(doc, set(expected) | set(state), skip))
    if mismatch is None:
        return None
    key, problem = mismatch
    return key, problem.replace(f"'{key}'", f"'{key}' ({_where(doc, key)})", 1)


def fit_problem(doc: NetworkDocument, model: nn.Module, state: dict[str, torch.Tensor],
                skip: Iterable[str] = ()) -> str:
    """"" when `state` loads strictly into `model` (ignoring the keys of the layers in
    `skip`); else the first mismatch, naming the key and its node."""
    mismatch = _mismatch(doc, model, state, skip)
    return "" if mismatch is None else mismatch[1]


def load_into(doc: NetworkDocument, model: nn.Module, state: dict[str, torch.Tensor],
              source: str, skip: Iterable[str] = ()) -> nn.Module:
    """Load `state` into `model` (compiled from `doc`) strictly, except the layers in
    `skip`, which keep the weights they have (a replaced head keeps its fresh init).
    torchvision's file formats are read as torchvision reads them (as_network_keys)."""
    skip = list(skip)
    current = model.state_dict()
    state = as_network_keys(state, current)
    mismatch = _mismatch(doc, model, state, skip)
    if mismatch is not None:
        key, problem = mismatch
        raise WeightsError(f"{source} does not fit this network: {problem}",
                           node_of_key(doc, key))
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
