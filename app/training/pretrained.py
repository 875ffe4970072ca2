"""Pretrained weights and fine-tuning.

A project's `training.pretrained` section says where a run's starting weights come from:
`{"published": "ResNet18_Weights.IMAGENET1K_V1"}` (torchvision's weights enums) or
`{"file": "resnet18.pth"}` (a local state_dict), and which layers keep their fresh
initialisation instead (`"keep": ["fc"]`, the replaced classifier head). A run never
downloads: published weights are read from where torchvision caches them
(`torch.hub.get_dir()/checkpoints`), and `download` puts them there when the user asks.

`plan_finetune` turns the fine-tuning choices (weights, number of classes, frozen blocks,
head learning rate) into the edits of a project: the head's class count, the Input's
size and the data pipeline from the weights' preprocessing, and the training section.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from app.core.graph import NetworkDocument, module_path
from app.training.errors import ConfigError

# (bytes done, bytes in all or 0 when unknown) -> False cancels the download
Progress = Callable[[int, int], bool]
CHUNK = 1 << 16
HASH = re.compile(r"-([a-f0-9]*)\.")  # torch.hub's: the file name carries its sha256 prefix


class PretrainedError(ConfigError):
    """Weights that cannot be found, fetched or used; the message is one readable line."""


# -- the section ---------------------------------------------------------------------------

def check_section(value: Any, where: str = "training.pretrained") -> dict[str, Any] | None:
    """The validated `training.pretrained` section (None: start from fresh weights)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be an object like {{\"published\": \"ResNet18_"
                          f"Weights.IMAGENET1K_V1\"}} or {{\"file\": \"weights.pth\"}}, "
                          f"got {value!r}")
    unknown = set(value) - {"published", "file", "keep"}
    if unknown:
        raise ConfigError(f"{where}.{min(unknown)}: unknown field (known: published, "
                          f"file, keep)")
    sources = [k for k in ("published", "file") if value.get(k)]
    if len(sources) != 1:
        raise ConfigError(f"{where}: give exactly one of 'published' (a torchvision weights "
                          f"name) or 'file' (a .pth state_dict)")
    if not isinstance(value[sources[0]], str):
        raise ConfigError(f"{where}.{sources[0]}: must be text, got {value[sources[0]]!r}")
    keep = value.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ConfigError(f"{where}.keep: must be a list of node names, got {keep!r}")
    return {sources[0]: value[sources[0]], "keep": list(keep)}


def source_name(section: dict[str, Any]) -> str:
    return section.get("published") or Path(section["file"]).name


# -- torchvision's published weights ------------------------------------------------------

def architectures() -> list[str]:
    """torchvision's classification models (the names `import --torchvision` takes)."""
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def architecture_of(name: str) -> str | None:
    """The torchvision model a project stands for: its name after `import --torchvision
    NAME`, or a template that reproduces one (its title, e.g. "ResNet-18 (He et al.)")."""
    from app.core.templates import TEMPLATES

    known = set(architectures())
    if name in known:
        return name
    return next((t.id for t in TEMPLATES.values() if t.title == name and t.id in known), None)


def published_weights(architecture: str) -> list[str]:
    """The weights torchvision publishes for a model, the default first."""
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(architecture)
    except (ValueError, KeyError):
        raise PretrainedError(f"torchvision has no model named {architecture!r}") from None
    names = [f"{enum.__name__}.{m.name}" for m in enum]
    default = f"{enum.__name__}.{enum.DEFAULT.name}"
    return [default] + [n for n in names if n != default]


def weights_entry(name: str) -> Any:
    """The torchvision weights enum member, e.g. ResNet18_Weights.IMAGENET1K_V1."""
    from torchvision.models import get_weight

    try:
        return get_weight(name)
    except (ValueError, KeyError, AttributeError):
        raise PretrainedError(f"unknown published weights {name!r} (names look like "
                              f"ResNet18_Weights.IMAGENET1K_V1)") from None


def cache_path(name: str) -> Path:
    """Where torchvision keeps these weights once downloaded (torch.hub's cache)."""
    import torch

    url = weights_entry(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def download(name: str, progress: Progress | None = None) -> Path:
    """Fetch published weights into torch.hub's cache (a no-op when they are there),
    checking the sha256 prefix in the file name as torch.hub does."""
    target = cache_path(name)
    if target.is_file():
        return target
    url = weights_entry(name).url
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None and progress(done, total) is False:
                    raise PretrainedError(f"download of {name} cancelled")
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise PretrainedError(f"cannot download {name} from {url} ({reason}); offline, "
                              f"choose a local .pth file instead") from None
    except PretrainedError:
        partial.unlink(missing_ok=True)
        raise
    expected = HASH.search(target.name)
    if expected and not digest.hexdigest().startswith(expected.group(1)):
        partial.unlink(missing_ok=True)
        raise PretrainedError(f"download of {name} is damaged (sha256 does not start with "
                              f"{expected.group(1)}); try again")
    os.replace(partial, target)
    return target


def weights_file(section: dict[str, Any]) -> Path:
    """The file a `training.pretrained` section names; published weights must have been
    downloaded already (a run never downloads)."""
    if section.get("file"):
        return Path(section["file"]).expanduser()
    path = cache_path(section["published"])
    if not path.is_file():
        raise PretrainedError(f"the published weights {section['published']} are not "
                              f"downloaded yet (looked in {path}): download them with File > "
                              f"Fine-tune… or `python -m app finetune ... --download`")
    return path


def source_label(section: dict[str, Any], path: Path) -> str:
    """How messages name the weights: the file, and for published weights their name too."""
    return f"{section['published']} ({path})" if section.get("published") else str(path)


def load_weights(doc: NetworkDocument, model: Any, section: dict[str, Any]) -> int:
    """Give `model`, compiled from `doc`, the section's weights: strictly, except the `keep`
    layers, reading torchvision's file formats as torchvision does. The one loading path of
    a run, `finetune` and the Fine-tune dialog. Returns the number of tensors in the file."""
    from app.training.weights import WeightsError, load_into, read_state_dict

    path = weights_file(section)
    try:
        state = read_state_dict(path)
        load_into(doc, model, state, source_label(section, path), section.get("keep", ()))
    except WeightsError as exc:
        raise PretrainedError(str(exc) + _head_hint(doc, exc.node, section)) from None
    return len(state)


def _head_hint(doc: NetworkDocument, node: str | None, section: dict[str, Any]) -> str:
    """What to do when the file's classifier head does not fit this one."""
    if node is None or node in section.get("keep", ()) or node != _head(doc):
        return ""
    return (f"; {node} is the classifier head: to train it for your classes, replace it "
            f"(File > Fine-tune Pretrained…, or `finetune --classes N`)")


def _head(doc: NetworkDocument) -> str | None:
    """The last layer whose catalogue entry names the parameter that sets its outputs."""
    heads = [n for n in doc.topological_order() if doc.node(n).spec.width is not None]
    return heads[-1] if heads else None


def load_pretrained(doc: NetworkDocument, model: Any, section: dict[str, Any] | None) -> None:
    """Give a freshly compiled `model` the section's weights (a run's start)."""
    if not section:
        return
    if not isinstance(doc, NetworkDocument):
        raise PretrainedError("training.pretrained: only a project's network can load "
                              "pretrained weights")
    try:
        load_weights(doc, model, section)
    except PretrainedError as exc:
        raise PretrainedError(f"training.pretrained: {exc}") from None


# -- preprocessing -------------------------------------------------------------------------

# torchvision builds GoogLeNet and Inception v3 with transform_input=True when it gives
# them their published weights (googlenet.py, inception.py): forward() first turns the
# ImageNet normalisation of the weights' transforms into (x - 0.5) / 0.5 per channel, what
# the networks were trained on. A network imported or built here has no such step, so the
# Data pipeline normalises that way itself: the first layer sees the same numbers.
TRANSFORM_INPUT = frozenset({"GoogLeNet_Weights", "Inception_V3_Weights"})
TRANSFORM_INPUT_STATS = 0.5  # the mean and std of (x - 0.5) / 0.5
TRANSFORM_INPUT_NOTE = ("torchvision's model for these weights rescales its input to "
                        "(x − 0.5) / 0.5 itself (transform_input); here Normalize does it")


@dataclass(frozen=True)
class Preprocessing:
    """What torchvision's ImageClassification transform (and the model's own input
    transform, where it has one) does for a weights entry."""

    resize: int | list[int]
    crop: int | list[int]
    mean: list[float]
    std: list[float]
    interpolation: str  # "bilinear" / "bicubic" / "nearest"
    note: str = ""  # why the numbers differ from the weights' transforms, when they do

    def steps(self) -> list[dict[str, Any]]:
        """The same operations as Data pipeline steps (app.data.augment)."""
        return [{"type": "Resize", "size": self.resize, "interpolation": self.interpolation},
                {"type": "CenterCrop", "size": self.crop},
                {"type": "ToImage"}, {"type": "ToDtype", "dtype": "float32", "scale": True},
                {"type": "Normalize", "preset": "custom", "mean": self.mean, "std": self.std}]

    def input_shape(self) -> list[int]:
        crop = self.crop if isinstance(self.crop, list) else [self.crop]
        return [len(self.mean), crop[0], crop[-1]]


def _one(size: Any) -> int | list[int]:
    size = list(size) if isinstance(size, list | tuple) else [size]
    return int(size[0]) if len(size) == 1 else [int(s) for s in size]


def preprocessing(name: str) -> Preprocessing:
    """The preprocessing the published weights `name` were trained with: their transforms,
    with a model's own input transform folded into Normalize (TRANSFORM_INPUT)."""
    t = weights_entry(name).transforms()
    missing = [a for a in ("resize_size", "crop_size", "mean", "std") if not hasattr(t, a)]
    if missing:
        raise PretrainedError(f"{name}: its transforms are not an image classification "
                              f"preset (no {missing[0]})")
    mean, std = [float(m) for m in t.mean], [float(s) for s in t.std]
    if name.split(".")[0] in TRANSFORM_INPUT:
        return Preprocessing(_one(t.resize_size), _one(t.crop_size),
                             [TRANSFORM_INPUT_STATS] * len(mean),
                             [TRANSFORM_INPUT_STATS] * len(std), t.interpolation.value,
                             TRANSFORM_INPUT_NOTE)
    return Preprocessing(_one(t.resize_size), _one(t.crop_size), mean, std,
                         t.interpolation.value)


# -- fine-tuning ---------------------------------------------------------------------------

@dataclass
class FineTune:
    """What the student chose: weights, classes, frozen blocks, the head's learning rate."""

    published: str | None = None  # torchvision weights name
    file: str | None = None  # or a local state_dict
    num_classes: int | None = None  # None: keep the head (and load its weights)
    freeze: list[str] = field(default_factory=list)  # node names or block module paths
    head_lr: float | None = None
    preprocess: str | None = None  # published weights whose transforms set the Data pipeline


@dataclass
class FineTunePlan:
    """The edits that set a project up for fine-tuning (applied by the CLI directly and
    by the GUI as one undoable step)."""

    params: dict[str, dict[str, Any]]  # node -> parameter changes
    data: dict[str, Any]
    training: dict[str, Any]
    head: str


def head_layer(doc: NetworkDocument) -> str:
    """The classifier head: the last layer that sets how many outputs it makes, a Linear
    (ResNet's fc, ViT's heads.head) or a convolution (SqueezeNet's 1×1 classifier.1)."""
    head = _head(doc)
    if head is None:
        raise PretrainedError("this network has no Linear or convolution layer to serve as "
                              "the classifier head")
    return head


def head_width(doc: NetworkDocument, head: str) -> str:
    """The head's parameter that is the number of classes (out_features, out_channels)."""
    return doc.node(head).spec.width


def weighted_layers(doc: NetworkDocument) -> list[str]:
    """Nodes that have learnable parameters, in order (errors: none counted)."""
    from app.core.param_count import layer_parameters
    from app.core.shapes import infer_shapes

    counts = layer_parameters(doc, infer_shapes(doc))
    return [n for n in doc.topological_order() if counts.get(n, 0) > 0]


def freeze_units(doc: NetworkDocument) -> list[str]:
    """What can be frozen as a whole: the top-level blocks and layers with weights
    (`conv1`, `layer1`, ..., `fc`); the block holding the head is split into its layers
    so everything but the head can be frozen."""
    head = head_layer(doc)
    head_block = module_path(doc.node(head)).split(".")[0]
    units: list[str] = []
    for name in weighted_layers(doc):
        path = module_path(doc.node(name))
        top = path.split(".")[0]
        unit = name if top == head_block else (top if "." in path else name)
        if unit not in units:
            units.append(unit)
    return units


def all_but_head(doc: NetworkDocument) -> list[str]:
    head = head_layer(doc)
    return [u for u in freeze_units(doc) if u != head]


def covers(entry: str, name: str, path: str) -> bool:
    """A freeze / layer_lr entry names a layer (node name or module path) or a block (a
    module path prefix such as `layer1`, which covers `layer1.0.conv1`)."""
    return entry in (name, path) or path.startswith(entry + ".")


def frozen_layers(doc: NetworkDocument, frozen: list[str]) -> set[str]:
    """The node names that the `freeze` entries cover."""
    return {n.name for n in doc.nodes
            if any(covers(entry, n.name, module_path(n)) for entry in frozen)}


def unfreeze(doc: NetworkDocument, entries: list[str], name: str) -> list[str]:
    """`entries` without layer `name`: a block that held it gives way to its other layers."""
    path = module_path(doc.node(name))
    out: list[str] = []
    for entry in entries:
        if not covers(entry, name, path):
            out.append(entry)
        elif entry not in (name, path):
            out += [n.name for n in doc.nodes if n.name != name and n.spec.has_module
                    and covers(entry, n.name, module_path(n)) and n.name not in out]
    return out


def _covers(doc: NetworkDocument, unit: str, layer: str) -> bool:
    return covers(unit, layer, module_path(doc.node(layer)))


def _check_freeze(doc: NetworkDocument, names: list[str], head: str, new_head: bool) -> None:
    layers = [n.name for n in doc.nodes if n.spec.has_module]
    for unit in names:
        if not any(_covers(doc, unit, layer) for layer in layers):
            raise PretrainedError(f"freeze: no layer or block named {unit!r} (blocks: "
                                  f"{', '.join(freeze_units(doc))})")
        if new_head and _covers(doc, unit, head):
            raise PretrainedError(f"freeze: {unit!r} holds the new head {head!r}, which "
                                  f"must train")


def _check_edits(doc: NetworkDocument, params: dict[str, dict[str, Any]]) -> None:
    """The network must still work with the new head size and the weights' input size
    (a ViT traced at 224 × 224 cannot take the 384 × 384 its SWAG weights want)."""
    from app.core.shapes import infer_shapes

    broken = {name for name, r in infer_shapes(doc).items() if r.error}
    trial = doc.copy()
    for name, changes in params.items():
        trial.set_params(name, changes)
    problem = next(((name, r.error) for name, r in infer_shapes(trial).items()
                    if r.error and name not in broken), None)
    if problem is not None:
        edits = ", ".join(f"{name}.{key} = {value}" for name, changes in params.items()
                          for key, value in changes.items())
        raise PretrainedError(f"the network cannot take these edits ({edits}): node "
                              f"{problem[0]}: {problem[1]}")


def plan_finetune(project: Any, choice: FineTune) -> FineTunePlan:
    """The project edits for `choice`; raises PretrainedError naming the bad choice."""
    doc: NetworkDocument = project.network
    if bool(choice.published) == bool(choice.file):
        raise PretrainedError("choose the weights: published (torchvision) or a local file")
    if choice.published:
        weights_entry(choice.published)
    head = head_layer(doc)
    params: dict[str, dict[str, Any]] = {}
    keep: list[str] = []
    if choice.num_classes is not None:
        if choice.num_classes < 1:
            raise PretrainedError(f"number of classes: must be at least 1, got "
                                  f"{choice.num_classes}")
        params[head] = {head_width(doc, head): choice.num_classes}
        keep = [head]  # its old weights have the old class count: it starts fresh
    _check_freeze(doc, choice.freeze, head, bool(keep))
    data = dict(project.data)
    prep_name = choice.preprocess or choice.published
    if prep_name:
        prep = preprocessing(prep_name)
        inputs = [n.name for n in doc.nodes if n.type == "Input"]
        if len(inputs) != 1:
            raise PretrainedError("the weights' preprocessing needs a network with one Input")
        params[inputs[0]] = {"shape": prep.input_shape()}
        data["train_transforms"] = prep.steps()
        data["eval_transforms"] = prep.steps()
    _check_edits(doc, params)
    training = dict(project.training)
    source = {"published": choice.published} if choice.published else {"file": choice.file}
    training["pretrained"] = source | {"keep": keep}
    training["freeze"] = list(choice.freeze)
    layer_lr = dict(training.get("layer_lr") or {})
    layer_lr.pop(head, None)
    if choice.head_lr is not None:
        layer_lr[head] = choice.head_lr
    training["layer_lr"] = layer_lr
    return FineTunePlan(params, data, training, head)


def apply_plan(project: Any, plan: FineTunePlan) -> None:
    """Apply a plan to a project directly (no undo: the CLI)."""
    for name, changes in plan.params.items():
        project.network.set_params(name, changes)
    project.data = plan.data
    project.training = plan.training
