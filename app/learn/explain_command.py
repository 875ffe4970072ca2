"""`python -m app explain FILE --checkpoint CKPT --sample N -o cam.png`: a saliency map of
one validation sample, written as a PNG (the input beside the map laid over it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.learn.saliency import METHOD_TITLES, SaliencyError, conv_layers, explain, overlay

MIN_SIDE = 224  # small digits are scaled up (pixel-exact) so the PNG is readable
GAP = 8


class ExplainError(ValueError):
    """Bad input to `explain`: one line naming the file, sample or layer."""


@dataclass
class ExplainedSample:
    """What `explain` shows: the sample, its label and the explanation's picture."""

    index: int
    label: int | None
    class_names: list[str]
    picture: np.ndarray  # (H, W', 3) uint8: input | overlay
    target: int
    predicted: int
    confidence: float
    layer: str | None


def load_trained(project: Any, checkpoint: str) -> torch.nn.Module:
    """The project's network with the checkpoint's weights, in eval mode."""
    from app.core.compiler import CompileError, compile_document
    from app.training.checkpoints import load_checkpoint
    from app.training.errors import TrainingError

    try:
        model = compile_document(project.network)
        state = load_checkpoint(checkpoint)
    except CompileError as exc:
        raise ExplainError(f"the network has errors: {exc}") from None
    except TrainingError as exc:
        raise ExplainError(str(exc)) from None
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ExplainError(f"checkpoint {checkpoint} does not fit this network ({reason})") \
            from None
    return model.eval()


def module_path_for(project: Any, model: torch.nn.Module, layer: str | None) -> str | None:
    """A layer given by node name (as on the canvas) or module path -> its module path."""
    if layer is None:
        return None
    from app.training.setup import layer_paths

    return layer_paths(project.network, model).get(layer, layer)


def node_names(project: Any, model: torch.nn.Module) -> dict[str, str]:
    """module path -> the canvas node name, for messages and menus."""
    from app.training.setup import layer_paths

    return {path: name for name, path in layer_paths(project.network, model).items()}


def picture(image: np.ndarray, heat: np.ndarray, opacity: float) -> np.ndarray:
    """input | overlay, side by side, uint8 RGB, scaled up to at least MIN_SIDE pixels."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3]
    both = [rgb, overlay(image, heat, opacity)]
    h = rgb.shape[0]
    scale = max(1, math.ceil(MIN_SIDE / h))
    big = [np.kron(p, np.ones((scale, scale, 1))) for p in both]
    gap = np.ones((h * scale, GAP, 3))
    return (np.clip(np.concatenate([big[0], gap, big[1]], axis=1), 0, 1) * 255).round() \
        .astype(np.uint8)


def explain_sample(project: Any, model: torch.nn.Module, bundle: Any, index: int,
                   method: str = "gradcam", layer: str | None = None,
                   target: int | None = None, opacity: float = 0.5) -> ExplainedSample:
    from app.data.preview import image_to_display

    data = bundle.val if bundle.val is not None else bundle.train
    if not 0 <= index < len(data):
        raise ExplainError(f"--sample {index}: the validation set has samples 0..{len(data) - 1}")
    x, y = data[index]
    names = node_names(project, model)
    path = module_path_for(project, model, layer)
    convs = conv_layers(model)
    if method == "gradcam" and path is not None and path not in convs:
        raise ExplainError(f"--layer {layer}: not a Conv2d layer (choose from "
                           f"{', '.join(names.get(c, c) for c in convs) or 'none'})")
    try:
        result = explain(model, x, method, path, target)
    except SaliencyError as exc:
        raise ExplainError(str(exc)) from None
    classes = bundle.class_names or [str(i) for i in range(len(result.probs))]
    return ExplainedSample(index, int(y) if bundle.task == "classification" else None, classes,
                           picture(image_to_display(x), result.heat, opacity), result.target,
                           result.predicted, float(result.probs[result.predicted]),
                           names.get(result.layer or "", result.layer))


def write_png(picture: np.ndarray, path: str) -> None:
    """Pillow (torchvision's own image dependency) encodes; the file is written atomically."""
    import io

    from PIL import Image

    from app.core.fileio import write_atomic

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG")
    write_atomic(Path(path), buffer.getvalue())


def run_explain_command(args: Any) -> int:
    from app.core.project import load_project
    from app.training.data import load_data
    from app.training.errors import ConfigError
    from app.training.sections import check_sections

    project = load_project(args.file)
    try:
        check_sections(project)
        bundle = load_data(project.data)
    except ConfigError as exc:
        raise ExplainError(str(exc)) from None
    if bundle.task != "classification" or len(bundle.input_shape) != 3:
        raise ExplainError("explain needs an image classifier (its data has shape "
                           f"{'×'.join(map(str, bundle.input_shape))}, task {bundle.task})")
    model = load_trained(project, args.checkpoint)
    shown = explain_sample(project, model, bundle, args.sample, args.method, args.layer,
                           args.target, args.opacity)
    write_png(shown.picture, args.output)
    names = shown.class_names
    truth = f", true {names[shown.label]}" if shown.label is not None else ""
    layer = f", layer {shown.layer}" if shown.layer else ""
    print(f"wrote {args.output} ({METHOD_TITLES[args.method]} for class "
          f"{names[shown.target]}; predicted {names[shown.predicted]} "
          f"{shown.confidence:.0%}{truth}{layer})")
    return 0
