"""The fine-tuning part of a generated train script: pretrained weights, frozen layers and
per-layer learning rates, done as a run in the app does them.

The script reads the weights with the app's own key handling and strict check
(app.training.weights: torchvision's file formats, one line naming the file and the first
mismatched key), freezes with the app's freeze_layers (no gradients; batch norm keeps its
statistics) and gives the optimizer the app's param_groups; those functions are copied
into the script from their source. The script names layers by module path (the exported
model's attributes), so the project's node names are resolved here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.graph import NetworkDocument, module_path
from app.core.pysource import Snippet, embed, literal
from app.training.config import TrainConfig
from app.training.setup import freeze_layers, param_groups
from app.training.weights import as_network_keys, first_mismatch

LOAD = '''def load_pretrained(model):
    """Start from the weights in PRETRAINED: every tensor must fit, except those of the
    layers in KEEP, which keep their fresh initialisation (a new classifier head)."""
    if not os.path.isfile(PRETRAINED):
        raise SystemExit(f"pretrained weights {PRETRAINED}: no such file")
    state = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    if isinstance(state.get("model"), dict):  # a TorchCanvas checkpoint
        state = state["model"]
    own = model.state_dict()
    state = as_network_keys(state, own)
    kept = {k for k in {*own, *state} if k.startswith(tuple(f"{path}." for path in KEEP))}
    mismatch = first_mismatch(own, state, kept)
    if mismatch is not None:
        raise SystemExit(f"{PRETRAINED} does not fit this network: {mismatch[1]}")
    model.load_state_dict({k: v for k, v in state.items() if k not in kept}
                          | {k: own[k] for k in kept if k in own}, strict=True)'''

LAYERS = '''def layers_of(model):
    """The script names layers by their module paths."""
    return {path: path for path, _ in model.named_modules() if path}'''


@dataclass
class FineTuneCode:
    code: Snippet  # the model expression, with the helpers and imports it needs
    constants: list[str]  # PRETRAINED, KEEP, FREEZE, LAYER_LR
    parameters: str  # what the optimizer is given


def _path(doc: NetworkDocument, entry: str, where: str) -> str:
    """The module path of a layer (node name or path) or block (a path prefix)."""
    if doc.has_node(entry):
        return module_path(doc.node(entry))
    if any(module_path(n) == entry or module_path(n).startswith(entry + ".")
           for n in doc.nodes):
        return entry
    raise ValueError(f"{where}: no layer or block named {entry!r}")


def _weights_line(section: dict[str, Any]) -> str:
    if section.get("file"):
        return f"PRETRAINED = {literal(str(Path(section['file']).expanduser()))}"
    from app.training.pretrained import cache_path

    name = section["published"]
    return (f"PRETRAINED = os.path.join(torch.hub.get_dir(), \"checkpoints\", "
            f"{literal(cache_path(name).name)})  # {name}, where torchvision caches it")


def fine_tune_code(doc: NetworkDocument, cfg: TrainConfig) -> FineTuneCode | None:
    """The script's fine-tuning for `cfg`, or None when it has none. ValueError: one line
    naming a setting that names no layer."""
    if not (cfg.pretrained or cfg.freeze or cfg.layer_lr):
        return None
    constants: list[str] = []
    steps: list[str] = []
    helpers: list[Snippet] = []
    texts: list[str] = []
    if cfg.pretrained:
        keep = [_path(doc, n, "training.pretrained.keep") for n in cfg.pretrained["keep"]]
        constants += [_weights_line(cfg.pretrained),
                      f"KEEP = {literal(tuple(keep), tuples=True)}  # start fresh (new head)"]
        helpers += [embed(as_network_keys), embed(first_mismatch)]
        texts.append(LOAD)
        steps.append("    load_pretrained(model)")
    grouped = bool(cfg.freeze or cfg.layer_lr)
    if grouped:
        texts.insert(0, LAYERS)
    if cfg.freeze:
        frozen = [_path(doc, n, "training.freeze") for n in cfg.freeze]
        constants.append(f"FREEZE = {literal(frozen)}")
        helpers.append(embed(freeze_layers))
        steps.append("    freeze_layers(model, layers_of(model), FREEZE)")
    if cfg.layer_lr:
        rates = ", ".join(f"{literal(_path(doc, n, 'training.layer_lr'))}: {literal(lr)}"
                          for n, lr in cfg.layer_lr.items())
        constants.append(f"LAYER_LR = {{{rates}}}  # module path -> its own learning rate")
    if grouped:
        helpers.append(embed(param_groups))
    model = "build_model()"
    if steps:
        texts.append('def fine_tune(model):\n    """The project\'s fine-tuning: pretrained '
                     'weights, frozen layers."""\n' + "\n".join(steps) + "\n    return model")
        model = "fine_tune(build_model())"
    rates = "LAYER_LR" if cfg.layer_lr else "{}"
    imports = frozenset(line for h in helpers for line in h.imports)
    own = tuple(dict.fromkeys(h for s in helpers for h in s.helpers)) + tuple(texts)
    return FineTuneCode(Snippet(model, imports, own), constants,
                        f"param_groups(model, layers_of(model), {rates})" if grouped
                        else "model.parameters()")
