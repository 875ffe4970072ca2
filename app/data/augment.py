"""Augmentation pipelines: JSON-friendly step lists compiled to ``torchvision.transforms.v2``.

A pipeline is a list of dicts such as ``{"type": "RandomRotation", "degrees": 15,
"enabled": true}``. ``STEPS`` describes every step type (torch's own names and
parameter names) so the GUI can generate editors; ``build_pipeline`` validates
a list and compiles it; training and evaluation each get their own list.

While compiling we track what the image *is* after each step -- a PIL image,
a uint8 tensor or a float tensor -- because several v2 transforms silently do
nothing on the wrong input (RandomErasing and ToDtype pass PIL images through
unchanged, Normalize broadcasts a 3-channel mean over a 1-channel image).
Such misplacements are refused with the step and the reason. A compiled
pipeline always ends in a float32 tensor: missing ``ToImage``/``ToDtype`` are
appended, since every network here takes float features; the result is a
plain ``torch.Tensor``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.lazy import lazy_module
from app.core.params import Param
from app.core.pysource import Expr, Snippet, call, changed, literal, needs, snippet
from app.data.errors import AugmentError, checked_params

# torchvision takes seconds to import: checking a pipeline must not wait for it, so the
# transform classes are looked up when a pipeline is built.
torch = lazy_module("torch")
v2 = lazy_module("torchvision.transforms.v2")
extra = lazy_module("app.data.extra_transforms")
noise = lazy_module("app.data.noise")

PIL, UINT8, FLOAT = "pil", "uint8", "float"
ANY = frozenset({PIL, UINT8, FLOAT})
TENSOR = frozenset({UINT8, FLOAT})

NORMALIZE_PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "MNIST": ((0.1307,), (0.3081,)),
    "CIFAR-10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "ImageNet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


V2 = "from torchvision.transforms import v2"


def v2_code(spec: StepSpec, params: dict) -> Snippet:
    """``v2.<type>(name=value, ...)``: the source of a step whose builder passes its params
    to the v2 class of the same name. Nested steps arrive as the snippets of the children."""
    children = params.get("transforms", [])
    kwargs = {name: CODE_VALUES[name](value) if name in CODE_VALUES else value
              for name, value in changed(getattr(v2, spec.type), params).items()}
    return needs(call(f"v2.{spec.type}", **kwargs), [snippet("", V2), *children])


@dataclass(frozen=True)
class StepSpec:
    """One step type: its params, the v2 transform it builds, what input it accepts.

    ``produces`` maps the input kind (pil/uint8/float) and the params to the
    output kind; ``check`` enforces rules that span fields or that a single
    ``Param`` cannot express, raising ``ValueError`` with the field named.
    ``code`` writes the source of what ``build`` builds (for the train script);
    None when a script cannot reproduce the step.
    """

    type: str
    title: str
    help: str
    params: list[Param]
    build: Callable[[dict], Any]
    accepts: frozenset[str] = ANY
    produces: Callable[[str, dict], str] = lambda kind, params: kind
    check: Callable[[dict], None] | None = None
    nests: bool = False
    code: Callable[[StepSpec, dict], Snippet] | None = v2_code


# --- parameter helpers ---------------------------------------------------------

INTERP = ("nearest", "bilinear", "bicubic")  # v2.InterpolationMode members, lower case


def _mode(name: str) -> Any:
    return v2.InterpolationMode[name.upper()]


def _p(default: float = 0.5, help: str = "probability that the step is applied") -> Param:
    return Param("p", "float", default, minimum=0.0, maximum=1.0, help=help)


def _size(default: Any = 28) -> Param:
    return Param("size", "ints", default, minimum=1, maximum=100_000, lengths=(1, 2),
                 help="output size: one number for a square, or [height, width]")


def _interp(default: str = "bilinear") -> Param:
    return Param("interpolation", "choice", default, choices=INTERP,
                 help="how new pixel values are computed")


def _fill() -> Param:
    return Param("fill", "floats", 0, lengths=(1, 3),
                 help="value of new pixels: one number, or one per channel")


def _padding(default: Any, optional: bool) -> Param:
    return Param("padding", "ints", default, minimum=0, maximum=10_000, lengths=(2, 4),
                 optional=optional, help="a: all sides; [a, b]: left/right a, top/bottom b; "
                          "[l, t, r, b]: each side")


PADDING_MODE = Param("padding_mode", "choice", "constant",
                     choices=("constant", "edge", "reflect", "symmetric"),
                     help="constant: fill value; edge: repeat the border pixel; reflect: "
                              "mirror without the border [1,2,3,4]->[3,2,1,2,3,4,3,2]; "
                              "symmetric: mirror with it [1,2,3,4]->[2,1,1,2,3,4,4,3]")


def _range(name: str, default: Any, low: float, high: float, help: str) -> Param:
    return Param(name, "floats", default, help, low, high, lengths=(2,), ordered=True)


def _pair(name: str, default: Any, low: float, high: float, help: str, **kw: Any) -> Param:
    return Param(name, "floats", default, help, low, high, lengths=(2,), scalar_ok=False,
                 ordered=True, **kw)


def _degrees(default: Any) -> Param:
    return _range("degrees", default, -360, 360,
                  "a: angle drawn from [-a, a]; [min, max]: drawn from that range")


def _center() -> Param:
    return Param("center", "floats", None, lengths=(2,), scalar_ok=False, optional=True,
                 help="rotation centre [x, y] in pixels; empty = image centre")


def _jitter(name: str, high: float = 1e6) -> Param:
    return _range(name, 0, 0, high,
                  f"{name} factor: a draws from [max(0, 1-a), 1+a]; [min, max] from that range")


def _children() -> Param:
    return Param("transforms", "steps", [], help="the nested steps")


# --- cross-field checks ----------------------------------------------------------

def _positive_scalar(field_name: str) -> Callable[[dict], None]:
    def check(params: dict) -> None:
        value = params[field_name]
        if isinstance(value, int | float) and value < 0:
            raise ValueError(f"field '{field_name}': a single number means [-a, a] and must be "
                             f">= 0, got {value}")
    return check


def _check_hue(params: dict) -> None:
    hue = params["hue"]
    if isinstance(hue, int | float) and not 0 <= hue <= 0.5:
        raise ValueError(f"field 'hue': a single number must lie in [0, 0.5], got {hue}")


def _check_jitter(params: dict) -> None:
    _check_hue(params)
    for name in ("brightness", "contrast", "saturation"):
        if isinstance(params[name], list) and params[name][0] < 0:
            raise ValueError(f"field '{name}': factors must be >= 0, got {params[name]}")


def _check_blur(params: dict) -> None:
    sizes = params["kernel_size"] if isinstance(params["kernel_size"], list) else [
        params["kernel_size"]]
    if any(k % 2 == 0 for k in sizes):
        raise ValueError(f"field 'kernel_size': must be odd, got {params['kernel_size']}")


def _check_affine(params: dict) -> None:
    _positive_scalar("degrees")(params)
    shear = params["shear"]
    if isinstance(shear, int | float) and shear < 0:
        raise ValueError(f"field 'shear': a single number must be >= 0, got {shear}")


def _check_normalize(params: dict) -> None:
    if params["preset"] not in ("custom", "dataset"):
        return
    mean, std = params["mean"], params["std"]
    if mean is None or std is None:
        if params["preset"] == "custom":
            raise ValueError("field 'mean': preset 'custom' needs mean and std")
        return
    if len(mean) != len(std):
        raise ValueError(f"field 'std': needs one value per channel like mean ({len(mean)}), "
                         f"got {len(std)}")


def _check_linear(params: dict) -> None:
    size = len(params["transformation_matrix"])
    if len(params["mean_vector"]) != size:
        raise ValueError(f"field 'mean_vector': needs {size} values (the matrix is "
                         f"{size}x{size}), got {len(params['mean_vector'])}")


def _check_choice_p(params: dict) -> None:
    p = params["p"]
    if p is not None and len(p) != len(params["transforms"]):
        raise ValueError(f"field 'p': needs one probability per nested step "
                         f"({len(params['transforms'])}), got {len(p)}")


def _crop_builder(name: str) -> Callable[[dict], Any]:
    """Builder of v2.`name` (FiveCrop or TenCrop) stacked into one image."""
    def build(p: dict) -> Any:
        flip = {"vertical_flip": p["vertical_flip"]} if "vertical_flip" in p else {}
        return v2.Compose([getattr(v2, name)(p["size"], **flip), extra.StackCrops()])
    return build


def _normalize_stats(p: dict) -> tuple[list[float], list[float]]:
    mean, std = NORMALIZE_PRESETS.get(p["preset"], (p["mean"], p["std"]))
    if mean is None:
        raise ValueError("field 'mean': preset 'dataset' needs statistics; load_source computes "
                         "them, or call fill_dataset_stats with compute_mean_std")
    return list(mean), list(std)


def _normalize(p: dict) -> Any:
    return extra.CheckedNormalize(*_normalize_stats(p))


def _normalize_code(spec: StepSpec, p: dict) -> Snippet:
    # CheckedNormalize only refuses what v2.Normalize would broadcast; same numbers otherwise.
    mean, std = _normalize_stats(p)
    return snippet(call("v2.Normalize", mean=mean, std=std), V2)


def _tensor(value: Any) -> Expr:
    return Expr(f"torch.tensor({literal(value)})")


def _linear_code(spec: StepSpec, p: dict) -> Snippet:
    return snippet(call("v2.LinearTransformation", _tensor(p["transformation_matrix"]),
                        _tensor(p["mean_vector"])), V2, "import torch")


def _to_tensor_code(spec: StepSpec, p: dict) -> Snippet:
    return snippet("v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])", V2,
                   "import torch")


def _to_dtype(kind: str, params: dict) -> str:
    return UINT8 if params["dtype"] == "uint8" else FLOAT


def _to_tensor_kind(kind: str, params: dict) -> str:
    return UINT8 if kind == PIL else kind


DTYPES = ("float32", "float64", "uint8")  # torch dtypes by name
# Params whose JSON value names a torch object: how the code writers spell that object.
CODE_VALUES: dict[str, Callable[[Any], Any]] = {
    "interpolation": lambda mode: Expr(f"v2.InterpolationMode.{mode.upper()}"),
    "dtype": lambda name: Expr(f"torch.{name}"),
    "transforms": lambda children: [Expr(c.code) for c in children],
}


def _steps_table() -> list[StepSpec]:
    return [
        StepSpec("Resize", "Resize", "Resize to size; one number scales the shorter side.",
                 [_size(), _interp(),
                  Param("max_size", "int", None, minimum=1, maximum=100_000, optional=True,
                        help="cap on the longer side (only with a single-number size)"),
                  Param("antialias", "bool", True, help="smooth when shrinking")],
                 lambda p: v2.Resize(p["size"], _mode(p["interpolation"]), p["max_size"],
                                     p["antialias"])),
        StepSpec("CenterCrop", "Center crop", "Crop the centre; pads with 0 if the image is "
                 "smaller.", [_size()], lambda p: v2.CenterCrop(p["size"])),
        StepSpec("RandomCrop", "Random crop", "Crop at a random position, optionally after "
                 "padding.",
                 [_size(), _padding(None, True),
                  Param("pad_if_needed", "bool", False, help="pad when smaller than size"),
                  _fill(), PADDING_MODE],
                 lambda p: v2.RandomCrop(p["size"], p["padding"], p["pad_if_needed"], p["fill"],
                                         p["padding_mode"])),
        StepSpec("RandomResizedCrop", "Random resized crop",
                 "Crop a random area and aspect ratio, then resize to size.",
                 [_size(), _pair("scale", [0.08, 1.0], 0.0, 1.0, "area fraction range"),
                  _pair("ratio", [0.75, 4 / 3], 1e-6, 1e6, "aspect ratio range"), _interp()],
                 lambda p: v2.RandomResizedCrop(p["size"], p["scale"], p["ratio"],
                                                _mode(p["interpolation"]))),
        StepSpec("FiveCrop", "Five crops", "Four corners and the centre, stacked into one "
                 "tensor (n_crops, C, H, W); average the network's outputs over crops.",
                 [_size()], _crop_builder("FiveCrop"), produces=_to_tensor_kind, code=None),
        StepSpec("TenCrop", "Ten crops", "FiveCrop plus the flipped image's five crops, "
                 "stacked into (10, C, H, W).",
                 [_size(), Param("vertical_flip", "bool", False,
                                 help="flip vertically instead of horizontally")],
                 _crop_builder("TenCrop"), produces=_to_tensor_kind, code=None),
        StepSpec("RandomHorizontalFlip", "Horizontal flip", "Mirror left-right with "
                 "probability p.", [_p()], lambda p: v2.RandomHorizontalFlip(p["p"])),
        StepSpec("RandomVerticalFlip", "Vertical flip", "Mirror top-bottom with probability p.",
                 [_p()], lambda p: v2.RandomVerticalFlip(p["p"])),
        StepSpec("RandomRotation", "Random rotation",
                 "Rotate by a random angle. torch takes a number a (angle in [-a, a]) or a "
                 "[min, max] pair, not a list of angles.",
                 [_degrees(15), _interp("nearest"),
                  Param("expand", "bool", False, help="grow the canvas to keep corners"),
                  _center(), _fill()],
                 lambda p: v2.RandomRotation(p["degrees"], _mode(p["interpolation"]),
                                             p["expand"], p["center"], p["fill"]),
                 check=_positive_scalar("degrees")),
        StepSpec("Pad", "Pad", "Add a border.", [_padding(2, False), _fill(), PADDING_MODE],
                 lambda p: v2.Pad(p["padding"], p["fill"], p["padding_mode"])),
        StepSpec("ColorJitter", "Colour jitter", "Random brightness, contrast, saturation, hue.",
                 [_jitter("brightness"), _jitter("contrast"), _jitter("saturation"),
                  _range("hue", 0, -0.5, 0.5, "hue shift: a in [0, 0.5] draws from [-a, a]")],
                 lambda p: v2.ColorJitter(p["brightness"], p["contrast"], p["saturation"],
                                          p["hue"]),
                 check=_check_jitter),
        StepSpec("Grayscale", "Grayscale", "Convert to grey with 1 or 3 output channels.",
                 [Param("num_output_channels", "choice", 1, choices=(1, 3),
                        help="1 channel, or 3 equal channels")],
                 lambda p: v2.Grayscale(p["num_output_channels"])),
        StepSpec("RandomGrayscale", "Random grayscale", "Convert to grey with probability p, "
                 "keeping the number of channels.", [_p(0.1)],
                 lambda p: v2.RandomGrayscale(p["p"])),
        StepSpec("RandomAffine", "Random affine", "Random rotation, translation, scale, shear.",
                 [_degrees(0),
                  Param("translate", "floats", None, "[a, b]: shift up to a*width and b*height",
                        0.0, 1.0, lengths=(2,), scalar_ok=False, optional=True),
                  _pair("scale", None, 1e-6, 100.0, "[min, max] zoom factor (linear, not area)",
                        optional=True),
                  Param("shear", "floats", None, minimum=-360, maximum=360, lengths=(2, 4),
                        optional=True,
                        help="a: x-shear in [-a, a]; [a, b]: x range; [a, b, c, d]: x and "
                             "y ranges"),
                  _interp("nearest"), _fill(), _center()],
                 lambda p: v2.RandomAffine(p["degrees"], p["translate"], p["scale"], p["shear"],
                                           _mode(p["interpolation"]), p["fill"], p["center"]),
                 check=_check_affine),
        StepSpec("RandomPerspective", "Random perspective", "Random perspective warp.",
                 [Param("distortion_scale", "float", 0.5, "how strong", 0.0, 1.0),
                  _p(), _interp(), _fill()],
                 lambda p: v2.RandomPerspective(p["distortion_scale"], p["p"],
                                                _mode(p["interpolation"]), p["fill"])),
        StepSpec("GaussianBlur", "Gaussian blur", "Blur with a random sigma.",
                 [Param("kernel_size", "ints", 3, minimum=1, maximum=999, lengths=(2,),
                        help="odd kernel size, or [height, width]"),
                  Param("sigma", "floats", [0.1, 2.0], minimum=1e-6, maximum=1e3, lengths=(2,),
                        ordered=True, help="fixed sigma, or [min, max] to draw from")],
                 lambda p: v2.GaussianBlur(p["kernel_size"], p["sigma"]), check=_check_blur),
        StepSpec("RandomErasing", "Random erasing", "Blank a random rectangle. Works on "
                 "tensors only: place it after ToImage.",
                 [_p(), _pair("scale", [0.02, 0.33], 0.0, 1.0, "area fraction range"),
                  _pair("ratio", [0.3, 3.3], 1e-6, 1e6, "aspect ratio range"),
                  Param("value", "floats", 0, lengths=(1, 3), choices=("random",),
                        help="fill: a number, one per channel, or 'random' noise")],
                 lambda p: v2.RandomErasing(p["p"], p["scale"], p["ratio"], p["value"]),
                 accepts=TENSOR),
        StepSpec("LinearTransformation", "Linear transformation",
                 "Flatten, subtract mean_vector, multiply by the matrix (e.g. ZCA whitening). "
                 "Needs a float tensor with C*H*W = matrix size.",
                 [Param("transformation_matrix", "matrix", [[1.0]], help="D x D matrix"),
                  Param("mean_vector", "floats", [0.0], scalar_ok=False, help="D values")],
                 lambda p: v2.LinearTransformation(torch.tensor(p["transformation_matrix"]),
                                                   torch.tensor(p["mean_vector"])),
                 accepts=frozenset({FLOAT}), check=_check_linear, code=_linear_code),
        StepSpec("ToImage", "To image tensor", "PIL image -> uint8 tensor (C, H, W).", [],
                 lambda p: v2.ToImage(), produces=_to_tensor_kind),
        StepSpec("ToDtype", "To dtype", "Change the tensor dtype; scale maps 0..255 to 0..1.",
                 [Param("dtype", "choice", "float32", choices=DTYPES, help="dtype"),
                  Param("scale", "bool", True, help="rescale values to the new dtype")],
                 lambda p: v2.ToDtype(getattr(torch, p["dtype"]), scale=p["scale"]),
                 accepts=TENSOR, produces=_to_dtype),
        StepSpec("ToTensor", "To tensor (v1)", "The course notes' ToTensor: ToImage + "
                 "ToDtype(float32, scale=True).", [],
                 lambda p: v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]),
                 produces=lambda kind, p: FLOAT, code=_to_tensor_code),
        StepSpec("Normalize", "Normalize", "(x - mean) / std per channel. Presets, or "
                 "'dataset' to compute from the training images.",
                 [Param("preset", "choice", "custom",
                        choices=("custom", *NORMALIZE_PRESETS, "dataset"),
                        help="named statistics; custom uses mean/std below"),
                  Param("mean", "floats", None, scalar_ok=False, optional=True,
                        help="per-channel mean"),
                  Param("std", "floats", None, minimum=1e-12, scalar_ok=False, optional=True,
                        help="per-channel standard deviation (> 0)")],
                 _normalize, accepts=frozenset({FLOAT}), check=_check_normalize,
                 code=_normalize_code),
        StepSpec("RandomChoice", "Random choice", "Apply one nested step, picked at random.",
                 [_children(), Param("p", "floats", None, "weights, one per nested step", 0.0,
                                     scalar_ok=False, optional=True)],
                 lambda p: v2.RandomChoice(p["transforms"], p["p"]), check=_check_choice_p,
                 nests=True),
        StepSpec("RandomApply", "Random apply", "Apply all nested steps with probability p.",
                 [_children(), _p()], lambda p: v2.RandomApply(p["transforms"], p["p"]),
                 nests=True),
        StepSpec("RandomOrder", "Random order", "Apply the nested steps in a random order.",
                 [_children()], lambda p: v2.RandomOrder(p["transforms"]), nests=True),
        StepSpec("SaltPepperNoise", "Salt-and-pepper noise", "With probability p, set a 1-snr "
                 "fraction of pixels to black or white.",
                 [Param("snr", "float", 0.95, "fraction of pixels kept", 0.0, 1.0), _p()],
                 lambda p: noise.SaltPepperNoise(p["snr"], p["p"]), code=None),
    ]


STEPS: dict[str, StepSpec] = {s.type: s for s in _steps_table()}
NEEDS = {FLOAT: "a float tensor: add ToImage and ToDtype(float32, scale=True) before it",
         UINT8: "a tensor: add ToImage before it"}


# --- validation and compilation ---------------------------------------------------

@dataclass
class _Compiled:
    transforms: list[Any]
    kind: str


def _where(path: str, index: int, step: Any) -> str:
    name = step.get("type", "?") if isinstance(step, dict) else "?"
    return f"{path}step {index + 1} '{name}'"


def _step_params(step: Any, where: str) -> tuple[StepSpec, dict]:
    if not isinstance(step, dict) or "type" not in step:
        raise AugmentError(f"{where}: a step must be an object with a 'type'")
    spec = STEPS.get(step["type"])
    if spec is None:
        raise AugmentError(f"{where}: unknown step type; known: {sorted(STEPS)}")
    values = {k: v for k, v in step.items() if k not in ("type", "enabled")}
    params = checked_params(spec.params, values, where, AugmentError)
    if not isinstance(step.get("enabled", True), bool):
        raise AugmentError(f"{where}: field 'enabled' expects true or false")
    if spec.check:
        try:
            spec.check(params)
        except ValueError as exc:
            raise AugmentError(f"{where}: {exc}") from None
    return spec, params


def _compile(steps: list, kind: str, path: str, stats: tuple | None) -> _Compiled:
    if not isinstance(steps, list | tuple):
        raise AugmentError(f"{path or 'pipeline'}: expects a list of steps")
    out: list[Any] = []
    for index, step in enumerate(steps):
        where = _where(path, index, step)
        spec, params = _step_params(step, where)
        if spec.nests:
            params["transforms"] = _compile_children(params["transforms"], kind, where, stats)
        if not step.get("enabled", True):
            continue
        if kind not in spec.accepts:
            need = NEEDS[FLOAT] if spec.accepts == {FLOAT} else NEEDS[UINT8]
            raise AugmentError(f"{where}: needs {need} (the image is a {_describe(kind)} here)")
        out.append(build_step(spec, params, where, stats))
        kind = spec.produces(kind, params)
    return _Compiled(out, kind)


def _compile_children(children: list, kind: str, where: str, stats: tuple | None) -> list:
    inner = _compile(children, kind, f"{where} > ", stats)
    if inner.kind != kind:
        # The nested steps may be skipped or reordered, so they must not change what the
        # image is, or the steps after them would see either kind.
        raise AugmentError(f"{where}: nested steps must not change the image type "
                           f"({_describe(kind)} -> {_describe(inner.kind)}); move conversions "
                           f"out of it")
    return inner.transforms


def build_step(spec: StepSpec, params: dict, where: str, stats: tuple | None) -> Any:
    if spec.type == "Normalize" and params["preset"] == "dataset" and params["mean"] is None \
            and stats is not None:
        params = {**params, "mean": list(stats[0]), "std": list(stats[1])}
    try:
        return spec.build(params)
    except (ValueError, TypeError) as exc:
        raise AugmentError(f"{where}: {exc}") from None


def _describe(kind: str) -> str:
    return {PIL: "PIL image", UINT8: "uint8 tensor", FLOAT: "float tensor"}[kind]


def build_pipeline(
    steps: list[dict] | None, *, input_kind: str = PIL,
    stats: tuple[list[float], list[float]] | None = None,
) -> v2.Compose:
    """Validate ``steps`` and compile them into one ``v2.Compose`` ending in a float32 tensor.

    ``input_kind`` is what the dataset yields: ``"pil"`` (torchvision sets,
    ImageFolder) or ``"float"`` (in-memory image tensors in [0, 1]). ``stats``
    (mean, std) fills Normalize steps whose preset is ``"dataset"``. Disabled
    steps (``"enabled": false``) are validated but skipped. Raises
    ``AugmentError`` naming the step and field.
    """
    if input_kind not in (PIL, UINT8, FLOAT):
        raise AugmentError(f"pipeline: input_kind must be pil, uint8 or float, got {input_kind!r}")
    compiled = _compile(list(steps or []), input_kind, "", stats)
    tail = {PIL: [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)],
            UINT8: [v2.ToDtype(torch.float32, scale=True)], FLOAT: []}[compiled.kind]
    # Plain tensors leave the pipeline: tv_tensors subclasses would otherwise ride along
    # into batches and models.
    return v2.Compose([*compiled.transforms, *tail, v2.ToPureTensor()])


def normalize_steps(steps: list[dict]) -> list[dict]:
    """Canonical copy of ``steps``: every parameter present (defaults filled), ``enabled`` set.

    Raises ``AugmentError`` for invalid steps, so a saved pipeline is always valid.
    """
    out = []
    for index, step in enumerate(steps):
        spec, params = _step_params(step, _where("", index, step))
        if spec.nests:
            params["transforms"] = normalize_steps(params["transforms"])
        out.append({"type": spec.type, **params, "enabled": step.get("enabled", True)})
    return out


def pipeline_to_json(steps: list[dict]) -> str:
    """JSON text of the canonical form of ``steps``."""
    return json.dumps(normalize_steps(steps), indent=1)


def pipeline_from_json(text: str) -> list[dict]:
    """Parse and validate a pipeline saved by ``pipeline_to_json``."""
    try:
        steps = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AugmentError(f"pipeline: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return normalize_steps(steps if isinstance(steps, list) else [steps])


def needs_dataset_stats(steps: list[dict] | None) -> bool:
    """True when a Normalize step (at any depth) asks for statistics not yet computed."""
    for step in steps or []:
        if step.get("type") == "Normalize" and step.get("preset") == "dataset" \
                and step.get("mean") is None:
            return True
        if needs_dataset_stats(step.get("transforms")):
            return True
    return False


def fill_dataset_stats(steps: list[dict], mean: list[float], std: list[float]) -> list[dict]:
    """Copy of ``steps`` with computed statistics written into ``dataset`` Normalize steps.

    The GUI can show and save the numbers, so a saved pipeline reproduces the run.
    """
    out = []
    for step in steps:
        step = dict(step)
        if step.get("type") == "Normalize" and step.get("preset") == "dataset":
            step["mean"], step["std"] = list(mean), list(std)
        if "transforms" in step:
            step["transforms"] = fill_dataset_stats(step["transforms"], mean, std)
        out.append(step)
    return out
