"""The layer catalogue: one LayerSpec per layer or op a student can place on the canvas.

A LayerSpec is the one home of a layer: its parameters, role, typed ports, shape rule,
student checks, code writer, import hook and parameter count. Every consumer (palette,
inspector, shape inference, compiler, code generator, importer, docs) reads this table
and nothing else, so a plain torch layer is one entry here and a special one is one entry
plus the functions it names (in shape_rules, layer_checks, layer_code, import_hooks,
param_count). Nothing in this module imports torch, so the window can show the palette
before torch has loaded.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from app.core import import_hooks as reads
from app.core import layer_checks as mistakes
from app.core import layer_code as write
from app.core import param_count as weights
from app.core import shape_rules as shape
from app.core.import_hooks import (
    Reader,
    Traced,
    attention_call,
    cat,
    expand,
    merge,
    permute,
    product,
    quotient,
    reduction,
    reshape,
    split,
    split_sizes,
    stack,
    swap,
)
from app.core.layer_checks import Check
from app.core.layer_code import Writer
from app.core.param_count import Counter
from app.core.params import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    INTS,
    SHAPE,
    TUPLE,
    Param,
    validate_params,
)
from app.core.shape_rules import Explain, Rule

CATEGORIES = (
    "Input/Output",
    "Linear",
    "Convolution",
    "Pooling",
    "Normalisation",
    "Recurrent",
    "Attention",
    "Activation",
    "Dropout",
    "Merge",
    "Reshape",
)

# The palette lists the blocks torchvision's models are built from (Swin's window attention,
# MaxViT's attention) apart, last and collapsed: they are there so that an imported model
# keeps its structure, not as first choices for a network built by hand.
TORCHVISION_BLOCKS = "torchvision blocks"


class Role(StrEnum):
    """What a node is to the network, which decides how every consumer treats it."""

    INPUT = "input"  # where data enters: no input ports, its shape is a parameter
    OUTPUT = "output"  # what the network returns: no output ports, no module
    LAYER = "layer"  # one module called on its inputs
    PARAMETER = "parameter"  # a learnable tensor at its module path: no inputs, no module
    MERGE = "merge"  # combines `num_inputs` numbered inputs (in1..inN)


# What flows along a wire. A port only connects to a port of the same kind.
TENSOR = "tensor"  # values
INDICES = "indices"  # the positions a max pooling took its maxima from (MaxUnpool2d)
PORT_KINDS = {TENSOR: "values", INDICES: "pooling positions (a max pooling's 'indices' output)"}

# Element types a tensor input port takes; Input nodes make float32 values or int64 ids.
FLOATS = ("float32",)
IDS = ("int64",)
ANY_DTYPE = ("float32", "int64")


# Library module prefixes -> how exported code refers to them (it imports torch.nn as nn).
LIBRARIES = {"torch.nn.": "nn.", "torchvision.ops.": "torchvision.ops.",
             "torchvision.models.swin_transformer.": "torchvision.models.swin_transformer.",
             "torchvision.models.maxvit.": "torchvision.models.maxvit.",
             "torchvision.models.convnext.": "torchvision.models.convnext."}


@dataclass(frozen=True)
class Port:
    """One input or output of a layer. An input port takes the element types `dtypes`
    lists; an output port passes its input's type on when it lists it, else makes the
    first (an Embedding turns ids into floats, pooling indices are int64). `enabled_by`
    names the boolean parameter that switches an optional output on (MaxPool2d's
    return_indices); `ids_below` the parameter that token ids on the port must stay below
    (an Embedding's num_embeddings)."""

    name: str
    kind: str = TENSOR
    dtypes: tuple[str, ...] = FLOATS
    enabled_by: str | None = None
    ids_below: str | None = None


IN = (Port("in"),)
OUT = (Port("out"),)


@dataclass(frozen=True)
class LayerSpec:
    """A layer type: its torch class, parameters, role, ports, teaching text and behaviour.

    `ranks` lists the accepted per-sample input ranks (batch dimension excluded);
    None accepts any rank. `module` is "torch.nn.Conv2d" or "app.core.ops.Add".
    `sequence` marks a recurrent layer over a batch-first sequence: torch returns
    (outputs, hidden state) and the node passes on the outputs, every step or only the
    last one as its `output` parameter says. `attention` marks self-attention: the module
    is called as module(x, x, x, need_weights=False) and the node passes on the first item
    of what it returns (torch returns (outputs, None)). `split` names the integer parameter that says
    how many outputs the layer has (Chunk's chunks: ports out, out2, ..., outN).

    Behaviour, each optional: `shape_rule` computes output shapes in closed form (without
    one the layer runs on meta tensors); `checks` catch mistakes before torch sees them;
    `code` writes its forward() lines (without one a torch layer is called); `traced`
    lists the functional calls the importer reads as this layer; `count` gives its
    learnable parameters (without one it has none); `explain` shows the shape arithmetic
    with the node's numbers; `read` gives the importer the constructor arguments of a
    built module that keeps them in its sublayers rather than as attributes
    (SqueezeExcitation's input_channels is its fc1's in_channels).

    `width` names the parameter that sets how many features or channels the layer makes
    (Linear's out_features, a convolution's out_channels): the last such layer is a
    network's classifier head, which fine-tuning resizes to the student's classes.

    `classes` names the parameters whose value names a torch.nn layer class that the
    constructor takes (SqueezeExcitation's activation "SiLU" is nn.SiLU); `lists` the list
    parameters the constructor must get as lists, not tuples (torchvision's Swin attention
    copies its shift_size with list.copy()).

    `label` is the palette's name for a layer whose class name is too long to read at the
    palette's width (the tooltip, inspector and code keep the class name); `internal` puts
    a block torchvision's models use under TORCHVISION_BLOCKS in the palette.
    """

    type: str
    category: str
    module: str
    params: tuple[Param, ...]
    help: str
    formula: str
    ranks: tuple[int, ...] | None = None
    prefix: str = ""
    role: Role = Role.LAYER
    inputs: tuple[Port, ...] = IN
    outputs: tuple[Port, ...] = OUT
    sequence: bool = False
    attention: bool = False
    split: str | None = None
    shape_rule: Rule | None = field(default=None, compare=False)
    checks: tuple[Check, ...] = field(default=(), compare=False)
    code: Writer | None = field(default=None, compare=False)
    traced: Traced | None = field(default=None, compare=False)
    count: Counter | None = field(default=None, compare=False)
    explain: Explain | None = field(default=None, compare=False)
    read: Reader | None = field(default=None, compare=False)
    width: str | None = None
    classes: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    label: str = ""
    internal: bool = False

    @property
    def palette_name(self) -> str:
        return self.label or self.type

    @property
    def palette_group(self) -> str:
        return TORCHVISION_BLOCKS if self.internal else self.category

    @property
    def class_name(self) -> str:
        return self.module.rsplit(".", 1)[1]

    @property
    def is_torch_layer(self) -> bool:
        """A library layer, built and called as a module: torch.nn's, or one of the few
        torchvision layers torchvision's models use (StochasticDepth, Swin's attention)."""
        return self.module.startswith(tuple(LIBRARIES))

    @property
    def code_name(self) -> str:
        """How exported code names the class: `nn.Conv2d`, `torchvision.ops.StochasticDepth`."""
        library = next(prefix for prefix in LIBRARIES if self.module.startswith(prefix))
        return LIBRARIES[library] + self.class_name

    @property
    def holds_tensor(self) -> bool:
        """A learnable tensor node: its parameter itself sits at its module path."""
        return self.role is Role.PARAMETER

    @property
    def variadic(self) -> bool:
        return self.role is Role.MERGE

    @property
    def has_module(self) -> bool:
        """Input and Output nodes mark the network's ends; every other node is a module."""
        return self.role not in (Role.INPUT, Role.OUTPUT)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.type} has no parameter {name!r}")

    def defaults(self) -> dict[str, Any]:
        return {p.name: None if p.auto else p.default for p in self.params}

    def input_port_specs(self, params: dict[str, Any]) -> tuple[Port, ...]:
        if self.role is Role.MERGE:
            return _merge_ports(self.inputs[0], int(params.get("num_inputs", 2)))
        return self.inputs

    def output_port_specs(self, params: dict[str, Any]) -> tuple[Port, ...]:
        if self.split is not None:
            count = int(params.get(self.split, 2))
            return tuple(replace(self.outputs[0], name=f"out{i}" if i > 1 else "out")
                         for i in range(1, count + 1))
        return tuple(p for p in self.outputs if p.enabled_by is None or params.get(p.enabled_by))

    def input_ports(self, params: dict[str, Any]) -> tuple[str, ...]:
        return tuple(p.name for p in self.input_port_specs(params))

    def output_ports(self, params: dict[str, Any]) -> tuple[str, ...]:
        return tuple(p.name for p in self.output_port_specs(params))

    def input_port(self, name: str, params: dict[str, Any]) -> Port:
        return next(p for p in self.input_port_specs(params) if p.name == name)

    def output_port(self, name: str, params: dict[str, Any]) -> Port:
        return next(p for p in self.output_port_specs(params) if p.name == name)

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Full parameter dict (defaults filled in), each value checked against its schema."""
        return validate_params(self.params, params)

    def ctor_kwargs(self, resolved: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the torch constructor: tuples for tuple params (lists for
        `lists`), torch.nn classes for `classes`."""
        kwargs = {}
        for p in self.params:
            if p.graph_only:
                continue
            value = resolved[p.name]
            if p.name in self.classes:
                value = _import_class(f"torch.nn.{value}")
            elif isinstance(value, list):
                value = list(value) if p.name in self.lists else tuple(value)
            kwargs[p.name] = value
        return kwargs

    def module_class(self) -> type:
        return _import_class(self.module)

    def build(self, resolved: dict[str, Any]) -> Any:
        return self.module_class()(**self.ctor_kwargs(resolved))


@functools.cache
def _merge_ports(port: Port, count: int) -> tuple[Port, ...]:
    # Cached: shape inference and compilation ask for every merge node's ports many times.
    return tuple(replace(port, name=f"in{i}") for i in range(1, count + 1))


@functools.cache
def _import_class(dotted: str) -> type:
    module_name, class_name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)


# -- parameter helpers ------------------------------------------------------------------

def _int(name: str, default: int, help: str, minimum: int | None = 1, maximum: int | None = None,
         key: bool = False) -> Param:
    return Param(name, INT, default, help, minimum=minimum, maximum=maximum, key=key)


def _float(name: str, default: float, help: str, minimum: float | None = None,
           maximum: float | None = None, key: bool = False) -> Param:
    return Param(name, FLOAT, default, help, minimum=minimum, maximum=maximum, key=key)


def _bool(name: str, default: bool, help: str, key: bool = False) -> Param:
    return Param(name, BOOL, default, help, key=key)


def _auto(name: str, source: str, help: str) -> Param:
    return Param(name, INT, None, help + " Leave on auto to read it from the input.",
                 minimum=1, auto=source)


def _ints(name: str, default: int | None, help: str, n: int, minimum: int = 1,
          optional: bool = False, key: bool = False) -> Param:
    return Param(name, TUPLE, default, help, minimum=minimum, lengths=(n,), optional=optional,
                 key=key)


def _conv_params(n: int, transposed: bool = False) -> tuple[Param, ...]:
    params = [
        _auto("in_channels", "channels", "Number of channels of the input image."),
        _int("out_channels", 16, "Number of filters, i.e. channels of the output.", key=True),
        _ints("kernel_size", 3, "Size of each filter.", n, key=True),
        _ints("stride", 1, "Step between filter positions.", n),
        _ints("padding", 0, "Zeros added on each side of the input.", n, minimum=0),
    ]
    if transposed:
        params.append(_ints("output_padding", 0, "Extra size added to one side of the output; "
                            "must be smaller than stride or dilation.", n, minimum=0))
    params += [
        _ints("dilation", 1, "Spacing between filter taps (atrous convolution).", n),
        _int("groups", 1, "Split channels into groups convolved separately; "
             "in_channels and out_channels must both be divisible by it."),
        _bool("bias", True, "Learn an additive bias per output channel."),
    ]
    if not transposed:
        params.append(Param("padding_mode", CHOICE, "zeros", "How padding values are made.",
                            choices=("zeros", "reflect", "replicate", "circular")))
    return tuple(params)


def _pool_params(n: int, *, max_pool: bool = False, avg: bool = False) -> tuple[Param, ...]:
    params = [
        _ints("kernel_size", 2, "Size of the pooling window.", n, key=True),
        _ints("stride", None, "Step between windows; empty means equal to kernel_size.", n,
              optional=True),
        _ints("padding", 0, "Implicit padding on each side (at most half the kernel).", n,
              minimum=0),
    ]
    if max_pool:
        params += [
            _ints("dilation", 1, "Spacing between elements in the window.", n),
            _bool("return_indices", False, "Also output where each maximum came from "
                  "(feed it to MaxUnpool2d)."),
            _bool("ceil_mode", False, "Round the output size up instead of down."),
        ]
    if avg:
        params += [
            _bool("ceil_mode", False, "Round the output size up instead of down."),
            _bool("count_include_pad", True, "Count padded zeros in the average."),
            Param("divisor_override", INT, None, "Divide by this instead of the window size.",
                  minimum=1, optional=True),
        ]
    return tuple(params)


def _norm_params(track_default: bool, affine_default: bool) -> tuple[Param, ...]:
    return (
        _auto("num_features", "channels", "Number of channels (or features) to normalise."),
        _float("eps", 1e-5, "Added to the variance for numerical stability.", minimum=0.0),
        _float("momentum", 0.1, "Weight of the current batch in the running statistics.",
               minimum=0.0, maximum=1.0),
        _bool("affine", affine_default, "Learn a per-channel scale (gamma) and shift (beta)."),
        _bool("track_running_stats", track_default, "Keep running mean/variance for eval mode."),
    )


def _rnn_params(kind: str) -> tuple[Param, ...]:
    params = [
        _auto("input_size", "features", "Features per time step."),
        _int("hidden_size", 64, "Size of the hidden state.", key=True),
        _int("num_layers", 1, "Stacked recurrent layers.", maximum=16),
    ]
    if kind == "RNN":
        params.append(Param("nonlinearity", CHOICE, "tanh", "Activation of the hidden state.",
                            choices=("tanh", "relu")))
    params += [
        _bool("bias", True, "Learn bias terms."),
        _bool("batch_first", True, "Input is batch × sequence × features. Canvas tensors are "
              "always batch-first, so it stays on (torch's own default is off)."),
        _float("dropout", 0.0, "Dropout between stacked layers (needs num_layers > 1).",
               minimum=0.0, maximum=1.0),
        _bool("bidirectional", False, "Also run the sequence backwards; doubles the features."),
        Param("output", CHOICE, "sequence", "Pass on every time step's output ('sequence') or "
              "only the last step ('last'), as a classifier needs.",
              choices=("sequence", "last"), key=True, graph_only=True),
    ]
    return tuple(params)


# -- the table ----------------------------------------------------------------------------

_ACT_HELP = "Applied element by element; the shape does not change."


def _activation(type_: str, help: str, *params: Param, **behaviour: Any) -> LayerSpec:
    behaviour.setdefault("shape_rule", shape.same_shape)
    return LayerSpec(type_, "Activation", f"torch.nn.{type_}", tuple(params), help,
                     "Same shape as the input.", prefix=type_.lower(), **behaviour)


def _merge(type_: str, help: str, formula: str, *extra: Param, most: int = 16,
           **behaviour: Any) -> LayerSpec:
    count = Param("num_inputs", INT, 2, "How many inputs to combine.", minimum=2, maximum=most,
                  graph_only=True)
    return LayerSpec(type_, "Merge", f"app.core.ops.{type_}", (count, *extra), help, formula,
                     prefix=type_.lower(), role=Role.MERGE, **behaviour)


def _convolution(n: int, help: str, formula: str) -> LayerSpec:
    return LayerSpec(
        f"Conv{n}d", "Convolution", f"torch.nn.Conv{n}d", _conv_params(n), help, formula,
        ranks=(n + 1,), prefix="conv", explain=shape.explain_window(n),
        shape_rule=shape.sliding(n, "out_channels"),
        checks=(mistakes.groups_divide, mistakes.window_fits), count=weights.conv(n),
        width="out_channels")


def _recurrent(type_: str, help: str, gates: int) -> LayerSpec:
    return LayerSpec(
        type_, "Recurrent", f"torch.nn.{type_}", _rnn_params(type_), help,
        "sequence × hidden_size (× 2 if bidirectional); with output='last' just the features.",
        ranks=(2,), prefix=type_.lower(), sequence=True, shape_rule=shape.recurrent,
        checks=(mistakes.recurrent_settings,), code=write.recurrent,
        count=weights.recurrent(gates))



# Token ids pass through layers that only move values around.
_ANY_IN = (Port("in", dtypes=ANY_DTYPE),)
_ANY_OUT = (Port("out", dtypes=ANY_DTYPE),)
_POOL = (mistakes.window_fits, mistakes.pool_padding)
_F = "torch.nn.functional."
_MAX_POOL_OUT = (Port("out"), Port("indices", INDICES, IDS, enabled_by="return_indices"))


def _dropout(type_: str, unit: str, help: str, function: str,
             ranks: tuple[int, ...] | None = None) -> LayerSpec:
    """A torch dropout layer, active in training only; `function` is its F.<name> form."""
    return LayerSpec(
        type_, "Dropout", f"torch.nn.{type_}",
        (_float("p", 0.5, f"Probability of zeroing each {unit}.", minimum=0.0, maximum=1.0,
                key=True),),
        help, "Same shape as the input.", ranks=ranks, prefix="dropout",
        shape_rule=shape.same_shape,
        traced=Traced((_F + function,), args=("p", "training", "inplace")))


# SqueezeExcitation's activations: torch.nn layer classes, as torchvision passes them.
_SE_ACTIVATIONS = ("ReLU", "ReLU6", "SiLU", "Hardswish", "GELU", "Mish", "Tanh", "Sigmoid",
                   "Hardsigmoid")
_SE_SCALES = ("Sigmoid", "Hardsigmoid", "Tanh")
_SWIN = "torchvision.models.swin_transformer."


def _window_attention(version: int, help: str) -> LayerSpec:
    """torchvision's ShiftedWindowAttention (V1) or ShiftedWindowAttentionV2."""
    suffix = "V2" if version == 2 else ""
    # V2 scales its relative coordinates by 1/(window_size − 1), so a window has 2 tokens
    return LayerSpec(
        f"ShiftedWindowAttention{suffix}", "Attention", f"{_SWIN}ShiftedWindowAttention{suffix}",
        (_auto("dim", "features", "Channels of each token."),
         Param("window_size", INTS, [7, 7], "Height and width of each attention window (in "
               "tokens).", minimum=version, lengths=(2,), scalar_ok=False, key=True),
         Param("shift_size", INTS, [0, 0], "How far the windows are shifted (down, right); "
               "0, 0 in even blocks and half the window in odd ones.", minimum=0,
               lengths=(2,), scalar_ok=False, key=True),
         _int("num_heads", 2, "Attention heads; dim must be divisible by it.", key=True),
         _bool("qkv_bias", True, "Learn a bias for the query, key and value projection."),
         _bool("proj_bias", True, "Learn a bias for the output projection."),
         _float("attention_dropout", 0.0, "Dropout on the attention weights.", minimum=0.0,
                maximum=1.0),
         _float("dropout", 0.0, "Dropout on the output.", minimum=0.0, maximum=1.0)),
        help, "Same shape as the input.", ranks=(3,), prefix="attn",
        shape_rule=shape.same_shape,
        checks=(mistakes.heads_divide("dim", "num_heads"), mistakes.shift_inside_window),
        count=weights.window_attention(version), read=reads.window_attention,
        lists=("window_size", "shift_size"), label=f"Window attention {suffix}".strip(),
        internal=True,
    )


def _patch_merging(version: int, help: str) -> LayerSpec:
    suffix = "V2" if version == 2 else ""
    return LayerSpec(
        f"PatchMerging{suffix}", "Pooling", f"{_SWIN}PatchMerging{suffix}",
        (_auto("dim", "features", "Channels of each token."),),
        help, "H_out = ⌈H/2⌉, W_out = ⌈W/2⌉, channels become 2·dim.", ranks=(3,),
        prefix="downsample", shape_rule=shape.patch_merging,
        count=weights.patch_merging(version), read=reads.patch_merging, internal=True,
    )


_SPECS: list[LayerSpec] = [
    LayerSpec(
        "Input", "Input/Output", "app.core.ops.Identity",
        (Param("shape", SHAPE, [1, 28, 28], "Shape of one sample, without the batch "
               "dimension: channels × height × width for images, features for tables, "
               "sequence length for token ids.", key=True, graph_only=True),
         Param("dtype", CHOICE, "float32", "float32 for images and tables; int64 for token ids "
               "fed to an Embedding.", choices=("float32", "int64"), graph_only=True)),
        "Where data enters the network. Its shape is one sample's shape; the batch dimension "
        "is added in front automatically.",
        "Produces batch × shape.", prefix="input", role=Role.INPUT, inputs=(),
    ),
    LayerSpec(
        "Output", "Input/Output", "app.core.ops.Identity", (),
        "Marks a network output. The loss is computed on what arrives here, so a classifier's "
        "output node receives one score (logit) per class.",
        "Same shape as the input.", prefix="output", role=Role.OUTPUT,
        inputs=(Port("in", dtypes=ANY_DTYPE),), outputs=(),
    ),
    LayerSpec(
        "Parameter", "Input/Output", "app.core.ops.learnable",
        (Param("shape", SHAPE, [1], "Shape of the tensor as each sample sees it (batch "
               "excluded): channels × 1 × 1 for one learned scale per channel, tokens × "
               "features for a position embedding.", minimum=1, key=True),
         _bool("batch_dim", False, "Store a leading dimension of size 1 for the batch "
               "(1 × shape), as ViT stores its class token and position embedding. Off, the "
               "tensor is just `shape` (ConvNeXt's layer scale) and broadcasts over the "
               "batch."),
         Param("init", CHOICE, "constant", "How the values start: all equal to value "
               "('constant'), or drawn from a normal distribution with mean 0 and standard "
               "deviation value ('normal').", choices=("constant", "normal")),
         _float("value", 1.0, "The constant, or the normal distribution's standard "
                "deviation.")),
        "A learned tensor with no input, trained like a layer's weights and added to or "
        "multiplied with other values: ViT's class token and position embedding, ConvNeXt's "
        "per-channel layer scale. Its values sit in the state_dict at its module path "
        "(`encoder.pos_embedding`).",
        "batch × shape: every sample sees the same values.", prefix="param",
        role=Role.PARAMETER, inputs=(), shape_rule=shape.parameter, code=write.parameter,
        count=weights.tensor,
    ),
    LayerSpec(
        "Linear", "Linear", "torch.nn.Linear",
        (_auto("in_features", "features", "Size of each input vector."),
         _int("out_features", 10, "Size of each output vector.", key=True),
         _bool("bias", True, "Learn an additive bias.")),
        "A fully connected layer: y = x·Wᵀ + b. Every output is a weighted sum of all inputs. "
        "It acts on the last dimension, so images are usually flattened first.",
        "Last dimension becomes out_features.", prefix="fc",
        shape_rule=shape.last_dim("out_features"), checks=(mistakes.last_dimension_only,),
        count=weights.linear, width="out_features",
    ),
    _convolution(1, "Slides out_channels learned filters along a sequence (channels × length), "
                 "e.g. audio or text features.",
                 "L_out = ⌊(L + 2·padding − dilation·(kernel_size − 1) − 1)/stride⌋ + 1; "
                 "channels become out_channels."),
    _convolution(2, "Slides out_channels learned filters over an image (channels × height × "
                 "width). Each filter sees kernel_size × kernel_size pixels of every input "
                 "channel and produces one feature map. A 1×1 convolution mixes channels "
                 "without looking at neighbours.",
                 "H_out = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1)/stride⌋ + 1 (same "
                 "for W); channels become out_channels."),
    _convolution(3, "Convolution over volumes or video (channels × depth × height × width).",
                 "Each of D, H, W: ⌊(size + 2·padding − dilation·(kernel_size − 1) − 1)/stride⌋"
                 " + 1."),
    LayerSpec(
        "ConvTranspose2d", "Convolution", "torch.nn.ConvTranspose2d", _conv_params(2, True),
        "The gradient of a convolution used as a layer: it upsamples an image with learned "
        "filters (decoders, segmentation, GAN generators). Not a true inverse of Conv2d.",
        "H_out = (H − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1.",
        ranks=(3,), prefix="deconv", explain=shape.explain_window(2, transposed=True),
        checks=(mistakes.groups_divide, mistakes.output_padding_fits),
        count=weights.conv(2, transposed=True),
    ),
    LayerSpec(
        "MaxPool1d", "Pooling", "torch.nn.MaxPool1d", _pool_params(1, max_pool=True),
        "Keeps the largest value of each window along a sequence.",
        "L_out = ⌊(L + 2·padding − dilation·(kernel_size − 1) − 1)/stride⌋ + 1.",
        ranks=(2,), prefix="pool", outputs=_MAX_POOL_OUT, explain=shape.explain_window(1),
        shape_rule=shape.sliding(1), checks=_POOL,
    ),
    LayerSpec(
        "MaxPool2d", "Pooling", "torch.nn.MaxPool2d", _pool_params(2, max_pool=True),
        "Keeps the largest value of each window: halves the image with the default 2×2 window, "
        "keeps the channels, and makes features tolerant to small shifts. It has no weights.",
        "H_out = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1)/stride⌋ + 1; stride "
        "defaults to kernel_size.", ranks=(3,), prefix="pool", outputs=_MAX_POOL_OUT,
        explain=shape.explain_window(2), shape_rule=shape.sliding(2), checks=_POOL,
        traced=Traced((_F + "max_pool2d",), args=("kernel_size", "stride", "padding",
                                                  "dilation", "ceil_mode", "return_indices")),
    ),
    LayerSpec(
        "AvgPool2d", "Pooling", "torch.nn.AvgPool2d", _pool_params(2, avg=True),
        "Replaces each window by its average (LeNet's subsampling).",
        "H_out = ⌊(H + 2·padding − kernel_size)/stride⌋ + 1; stride defaults to kernel_size.",
        ranks=(3,), prefix="pool", explain=shape.explain_window(2), shape_rule=shape.sliding(2),
        checks=_POOL,
        traced=Traced((_F + "avg_pool2d",), args=("kernel_size", "stride", "padding",
                                                  "ceil_mode", "count_include_pad",
                                                  "divisor_override")),
    ),
    LayerSpec(
        "MaxUnpool2d", "Pooling", "torch.nn.MaxUnpool2d", _pool_params(2),
        "Puts each value back where a MaxPool2d found its maximum and fills the rest with "
        "zeros. Connect the pooling layer's 'indices' output (turn on return_indices there).",
        "H_out = (H − 1)·stride − 2·padding + kernel_size.", ranks=(3,), prefix="unpool",
        inputs=(Port("in"), Port("indices", INDICES, IDS)), checks=(mistakes.unpool_fits,),
    ),
    LayerSpec(
        "AdaptiveAvgPool2d", "Pooling", "torch.nn.AdaptiveAvgPool2d",
        (_ints("output_size", 1, "Height and width of the output, whatever the input size.",
               2, key=True),),
        "Averages over windows chosen so the output has exactly output_size; with 1 it is "
        "global average pooling, as in ResNet's head.",
        "H_out, W_out = output_size; channels unchanged.", ranks=(3,), prefix="avgpool",
        shape_rule=shape.adaptive,
        traced=Traced((_F + "adaptive_avg_pool2d",), args=("output_size",)),
    ),
    LayerSpec(
        "AdaptiveMaxPool2d", "Pooling", "torch.nn.AdaptiveMaxPool2d",
        (_ints("output_size", 1, "Height and width of the output, whatever the input size.",
               2, key=True),),
        "Takes the maximum over windows chosen so the output has exactly output_size.",
        "H_out, W_out = output_size; channels unchanged.", ranks=(3,), prefix="maxpool",
        shape_rule=shape.adaptive,
    ),
    LayerSpec(
        "BatchNorm1d", "Normalisation", "torch.nn.BatchNorm1d", _norm_params(True, True),
        "Normalises each feature over the batch to zero mean and unit variance, then scales "
        "and shifts. Uses batch statistics in training and running averages in eval mode.",
        "Same shape as the input (features or channels × length).", ranks=(1, 2), prefix="bn",
        shape_rule=shape.same_shape, count=weights.norm("num_features"),
    ),
    LayerSpec(
        "BatchNorm2d", "Normalisation", "torch.nn.BatchNorm2d", _norm_params(True, True),
        "Normalises each channel over the batch and the image, then scales and shifts. Speeds "
        "up and stabilises training of deep CNNs.",
        "Same shape as the input.", ranks=(3,), prefix="bn",
        shape_rule=shape.same_shape, count=weights.norm("num_features"),
    ),
    LayerSpec(
        "LayerNorm", "Normalisation", "torch.nn.LayerNorm",
        (Param("normalized_shape", SHAPE, None, "Trailing dimensions to normalise over. Leave "
               "on auto to use the last dimension.", auto="last"),
         _float("eps", 1e-5, "Added to the variance for numerical stability.", minimum=0.0),
         _bool("elementwise_affine", True, "Learn a scale and shift per element."),
         _bool("bias", True, "Learn the shift (needs elementwise_affine).")),
        "Normalises each sample over its last dimension(s), independent of the batch; the "
        "standard normalisation of transformers and RNNs.",
        "Same shape as the input.", prefix="ln", shape_rule=shape.same_shape,
        count=weights.layer_norm,
    ),
    LayerSpec(
        "InstanceNorm2d", "Normalisation", "torch.nn.InstanceNorm2d", _norm_params(False, False),
        "Normalises each channel of each image separately (style transfer).",
        "Same shape as the input.", ranks=(3,), prefix="inorm", shape_rule=shape.same_shape,
        count=weights.norm("num_features"),
    ),
    LayerSpec(
        "GroupNorm", "Normalisation", "torch.nn.GroupNorm",
        (_int("num_groups", 2, "Channels are split into this many groups; it must divide "
              "num_channels.", key=True),
         _auto("num_channels", "channels", "Number of channels."),
         _float("eps", 1e-5, "Added to the variance for numerical stability.", minimum=0.0),
         _bool("affine", True, "Learn a per-channel scale and shift.")),
        "Normalises groups of channels within each sample; works with tiny batches.",
        "Same shape as the input.", ranks=(1, 2, 3, 4), prefix="gn",
        shape_rule=shape.same_shape, checks=(mistakes.groups_split_channels,),
        count=weights.norm("num_channels"),
    ),
    LayerSpec(
        "LayerNorm2d", "Normalisation", "torchvision.models.convnext.LayerNorm2d",
        (Param("normalized_shape", TUPLE, None, "Number of channels to normalise over. Leave "
               "on auto to read it from the input.", minimum=1, lengths=(1,), auto="channels"),
         _float("eps", 1e-5, "Added to the variance for numerical stability.", minimum=0.0),
         _bool("elementwise_affine", True, "Learn a scale and shift per channel."),
         _bool("bias", True, "Learn the shift (needs elementwise_affine).")),
        "LayerNorm over the channels of each pixel (channels × height × width), as ConvNeXt "
        "uses it: the same as permuting to channels-last, a LayerNorm over the channels and "
        "permuting back. Independent of the batch, unlike BatchNorm2d.",
        "Same shape as the input.", ranks=(3,), prefix="ln", shape_rule=shape.same_shape,
        count=weights.layer_norm,
    ),
    _dropout("Dropout", "element", "In training, zeroes each element with probability p and "
             "scales the rest by 1/(1 − p); does nothing in eval mode. Fights overfitting.",
             "dropout"),
    _dropout("Dropout2d", "whole channel", "Zeroes whole feature maps at random in training "
             "(neighbouring pixels are correlated, so dropping single pixels helps little).",
             "dropout2d", ranks=(3,)),
    LayerSpec(
        "Flatten", "Reshape", "torch.nn.Flatten",
        (_int("start_dim", 1, "First dimension to flatten (0 is the batch).", minimum=None),
         _int("end_dim", -1, "Last dimension to flatten.", minimum=None)),
        "Joins dimensions into one, e.g. 64×7×7 feature maps into a 3136-vector for a Linear "
        "layer. The batch dimension is kept.",
        "Dimensions start_dim..end_dim become their product.", prefix="flatten",
        inputs=_ANY_IN, outputs=_ANY_OUT, shape_rule=shape.flatten,
        checks=(mistakes.flatten_range,),
        traced=Traced(("torch.flatten",), ("flatten",), ("start_dim", "end_dim")),
    ),
    LayerSpec(
        "Reshape", "Reshape", "app.core.ops.Reshape",
        (Param("shape", SHAPE, [-1], "New shape of one sample (batch excluded); one entry may "
               "be -1 to be inferred.", key=True),),
        "Changes the shape without changing the data, e.g. a 784-vector into 1×28×28. The "
        "number of elements must stay the same.",
        "batch × shape.", prefix="reshape", inputs=_ANY_IN, outputs=_ANY_OUT,
        shape_rule=shape.reshape, checks=(mistakes.reshape_fits,), code=write.reshape,
        traced=Traced(methods=("view", "reshape"), hook=reshape),
    ),
    LayerSpec(
        "Embedding", "Linear", "torch.nn.Embedding",
        (_int("num_embeddings", 1000, "Vocabulary size: token ids must be below it.", key=True),
         _int("embedding_dim", 64, "Length of each token's vector.", key=True),
         Param("padding_idx", INT, None, "Token id whose vector stays zero and gets no "
               "gradient.", minimum=0, optional=True),
         Param("max_norm", FLOAT, None, "Renormalise vectors longer than this.", minimum=0.0,
               optional=True)),
        "A lookup table turning integer token ids into learned vectors; the first layer of "
        "text and sequence models. Its input must be int64 ids.",
        "Adds a last dimension of size embedding_dim.", prefix="embed",
        inputs=(Port("in", dtypes=IDS, ids_below="num_embeddings"),),
        shape_rule=shape.new_last_dim("embedding_dim"), count=weights.table,
    ),
    _recurrent("RNN", "An Elman recurrent network: h_t = tanh(W_ih·x_t + W_hh·h_(t−1) + b). "
               "Reads a sequence step by step, carrying a hidden state. Input is batch × "
               "sequence × features.", gates=1),
    _recurrent("LSTM", "Long short-term memory: gates decide what to keep, forget and output, "
               "so gradients survive long sequences.", gates=4),
    _recurrent("GRU", "Gated recurrent unit: a lighter LSTM with update and reset gates.",
               gates=3),
    LayerSpec(
        "MultiheadAttention", "Attention", "torch.nn.MultiheadAttention",
        (_auto("embed_dim", "features", "Features per token (the last dimension)."),
         _int("num_heads", 1, "Independent attention heads; each sees embed_dim/num_heads "
              "features, so embed_dim must be divisible by it.", key=True),
         _float("dropout", 0.0, "Dropout on the attention weights in training.", minimum=0.0,
                maximum=1.0),
         _bool("bias", True, "Learn biases in the input and output projections."),
         _bool("add_bias_kv", False, "Add a learned bias token to the keys and values."),
         _bool("add_zero_attn", False, "Add a token of zeros to the keys and values."),
         _bool("batch_first", True, "Input is batch × sequence × features. Canvas tensors are "
               "always batch-first, so it stays on (torch's own default is off).")),
        "Self-attention, the core of transformers (ViT): every token of a sequence (tokens × "
        "features) scores every token, and its output is the score-weighted mix of their "
        "values, computed by num_heads heads side by side. Called as attention(x, x, x, "
        "need_weights=False).",
        "Same shape as the input (tokens × embed_dim).", ranks=(2,), prefix="attention",
        attention=True, shape_rule=shape.same_shape, checks=(mistakes.heads_divide("embed_dim", "num_heads"),),
        code=write.attention, count=weights.attention,
    ),
    _activation("ReLU", "max(0, x): the default activation of modern networks. " + _ACT_HELP,
                traced=Traced(("torch.relu", _F + "relu"), ("relu",))),
    _activation("Sigmoid", "1 / (1 + e^(−x)), squashing to (0, 1); saturates, so deep sigmoid "
                "networks suffer vanishing gradients. " + _ACT_HELP,
                traced=Traced(("torch.sigmoid", _F + "sigmoid"), ("sigmoid",))),
    _activation("Tanh", "(e^x − e^(−x)) / (e^x + e^(−x)), squashing to (−1, 1), zero-centred. "
                + _ACT_HELP, traced=Traced(("torch.tanh", _F + "tanh"), ("tanh",))),
    _activation("LeakyReLU", "x for x > 0, negative_slope·x otherwise: keeps a small gradient "
                "for negative inputs. " + _ACT_HELP,
                _float("negative_slope", 0.01, "Slope for negative inputs.", key=True),
                traced=Traced((_F + "leaky_relu",), args=("negative_slope",))),
    _activation("PReLU", "Like LeakyReLU but the negative slope is learned. " + _ACT_HELP,
                _int("num_parameters", 1, "1, or the number of channels for one slope per "
                     "channel."),
                _float("init", 0.25, "Initial slope."),
                shape_rule=None, count=weights.per_channel("num_parameters")),
    _activation("RReLU", "LeakyReLU with a random slope from [lower, upper] in training and "
                "their mean in eval. " + _ACT_HELP,
                _float("lower", 1 / 8, "Lowest random slope.", minimum=0.0),
                _float("upper", 1 / 3, "Highest random slope.", minimum=0.0)),
    _activation("ELU", "x for x > 0, alpha·(e^x − 1) otherwise: smooth, with negative outputs "
                "that push mean activations towards zero. " + _ACT_HELP,
                _float("alpha", 1.0, "Value approached for large negative inputs."),
                traced=Traced((_F + "elu",), args=("alpha",))),
    _activation("SELU", "Scaled ELU with fixed constants that keep activations normalised in "
                "deep MLPs (self-normalising networks). " + _ACT_HELP),
    _activation("Softplus", "(1/beta)·log(1 + e^(beta·x)): a smooth ReLU. " + _ACT_HELP,
                _float("beta", 1.0, "Sharpness."),
                _float("threshold", 20.0, "Above beta·x > threshold it is linear.")),
    _activation("GELU", "x·Φ(x): the smooth activation of BERT and GPT. " + _ACT_HELP,
                Param("approximate", CHOICE, "none", "'tanh' uses the faster approximation.",
                      choices=("none", "tanh")),
                traced=Traced((_F + "gelu",))),
    _activation("Softmax", "Turns scores into probabilities that sum to 1 along dim. Do not put "
                "it before CrossEntropyLoss, which applies log-softmax itself.",
                _int("dim", 1, "Dimension that sums to 1 (1 = classes; 0 is the batch).",
                     minimum=None, key=True),
                checks=(mistakes.dim_in_range,),
                traced=Traced(("torch.softmax", _F + "softmax"), ("softmax",), ("dim",))),
    _activation("LogSoftmax", "log(softmax(x)), computed in a numerically stable way; pair it with NLLLoss "
                "(together they equal CrossEntropyLoss).",
                _int("dim", 1, "Dimension to normalise (1 = classes).", minimum=None, key=True),
                checks=(mistakes.dim_in_range,), traced=Traced((_F + "log_softmax",), args=("dim",))),
    # -- the layers and tensor ops of torchvision's classification models ----------------
    _activation("ReLU6", "min(max(0, x), 6): a ReLU capped at 6, which keeps activations "
                "small enough for low-precision phones; MobileNetV2's activation. " + _ACT_HELP,
                traced=Traced((_F + "relu6",), args=("inplace",))),
    _activation("SiLU", "x·sigmoid(x), also called swish: smooth, and slightly negative for "
                "small negative inputs; EfficientNet's activation. " + _ACT_HELP,
                traced=Traced((_F + "silu",), args=("inplace",))),
    _activation("Hardswish", "x·ReLU6(x + 3)/6: a cheap piecewise approximation of SiLU, "
                "MobileNetV3's activation. " + _ACT_HELP,
                traced=Traced((_F + "hardswish",), args=("inplace",))),
    _activation("Hardsigmoid", "ReLU6(x + 3)/6: a piecewise-linear sigmoid, 0 below −3 and 1 "
                "above 3; the gate of MobileNetV3's squeeze-and-excitation. " + _ACT_HELP,
                traced=Traced((_F + "hardsigmoid",), args=("inplace",))),
    _activation("Mish", "x·tanh(softplus(x)): smooth and non-monotonic like SiLU, with a "
                "slightly larger dip below zero. " + _ACT_HELP,
                traced=Traced((_F + "mish",), args=("inplace",))),
    _dropout("Dropout1d", "whole channel", "Zeroes whole channels of a sequence (channels × "
             "length) at random in training; the 1-D Dropout2d.", "dropout1d", ranks=(2,)),
    _dropout("AlphaDropout", "element", "Dropout for SELU networks: dropped values are set to "
             "SELU's negative saturation and the result is rescaled, so the mean and variance "
             "stay normalised.", "alpha_dropout"),
    LayerSpec(
        "StochasticDepth", "Dropout", "torchvision.ops.StochasticDepth",
        (_float("p", 0.2, "Probability of dropping the branch.", minimum=0.0, maximum=1.0,
                key=True),
         Param("mode", CHOICE, "row", "'row' drops the branch for each sample on its own, "
               "'batch' for the whole batch at once.", choices=("row", "batch"))),
        "Drops a residual branch at random in training (each sample's whole output is zeroed "
        "with probability p and the rest scaled by 1/(1 − p)), so a deep network trains as "
        "an ensemble of shallower ones; does nothing in eval mode. EfficientNet and ConvNeXt "
        "put it before the skip connection's Add.",
        "Same shape as the input.", prefix="stochastic_depth", shape_rule=shape.same_shape,
        traced=Traced(("torchvision.ops.stochastic_depth.stochastic_depth",),
                      args=("p", "mode", "training")),
    ),
    LayerSpec(
        "Identity", "Reshape", "torch.nn.Identity", (),
        "Passes its input on unchanged: a placeholder where a block has nothing to do (a "
        "skipped shortcut, a removed classifier head).",
        "Same shape as the input.", prefix="identity", inputs=_ANY_IN, outputs=_ANY_OUT,
        shape_rule=shape.same_shape,
    ),
    LayerSpec(
        "Upsample", "Reshape", "torch.nn.Upsample",
        (Param("size", TUPLE, None, "Output size: one value for every spatial dimension, or "
               "one each; leave empty to use scale_factor.", minimum=1, lengths=(2, 1, 3),
               optional=True),
         Param("scale_factor", FLOAT, 2.0, "Multiplies each spatial size (2 doubles height "
               "and width); leave empty to use size. (torch has no default; set one of the "
               "two.)", minimum=0.0, optional=True, key=True),
         Param("mode", CHOICE, "nearest", "How the new values are made: copy the nearest "
               "('nearest', 'nearest-exact') or interpolate ('linear' for sequences, "
               "'bilinear' or 'bicubic' for images, 'trilinear' for volumes).",
               choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic",
                        "trilinear"), key=True),
         Param("align_corners", BOOL, None, "Interpolating modes only: line up the corner "
               "pixels of input and output.", optional=True),
         Param("recompute_scale_factor", BOOL, None, "Compute the interpolation from the "
               "rounded output size instead of scale_factor.", optional=True)),
        "Enlarges feature maps without weights, by copying or interpolating values (decoders, "
        "segmentation heads, feature pyramids).",
        "Each spatial size becomes ⌊size·scale_factor⌋, or the given size; channels "
        "unchanged.", ranks=(3, 2, 4), prefix="upsample", shape_rule=shape.upsample,
        checks=(mistakes.upsample_settings,),
        traced=Traced((_F + "interpolate",), args=("size", "scale_factor", "mode",
                                                   "align_corners", "recompute_scale_factor")),
    ),
    LayerSpec(
        "ZeroPad2d", "Reshape", "torch.nn.ZeroPad2d",
        (_ints("padding", 1, "Zeros added on each side: one value, or (left, right, top, "
               "bottom).", 4, minimum=0, key=True),),
        "Adds a border of zeros around each feature map, e.g. to make an odd size even before "
        "a stride-2 layer.",
        "H_out = H + top + bottom, W_out = W + left + right.", ranks=(3,), prefix="pad",
        shape_rule=shape.zero_pad,
    ),
    LayerSpec(
        "ChannelShuffle", "Reshape", "torch.nn.ChannelShuffle",
        (_int("groups", 2, "Number of channel groups to interleave; it must divide the "
              "channels.", key=True),),
        "Interleaves the channels of `groups` groups (ShuffleNet), so the next grouped "
        "convolution sees channels from every group. The same as reshaping to groups × "
        "channels/groups, swapping those two and flattening back.",
        "Same shape as the input.", ranks=(3,), prefix="shuffle", shape_rule=shape.same_shape,
        checks=(mistakes.channels_divide,),
        traced=Traced(("torch.channel_shuffle",), args=("groups",)),
    ),
    LayerSpec(
        "Mean", "Pooling", "app.core.ops.Mean",
        (Param("dim", SHAPE, [-1], "Dimension(s) to average over, numbered as torch numbers "
               "them (0 is the batch, 1 the channels, -1 the last): 2, 3 averages over height "
               "and width.", key=True),
         _bool("keepdim", False, "Keep the averaged dimensions with size 1.")),
        "Averages over the given dimensions, as `x.mean((2, 3))`: global average pooling "
        "written as a tensor op (MNASNet, ShuffleNet).",
        "The averaged dimensions go (or become 1 with keepdim).", prefix="mean",
        shape_rule=shape.reduce, checks=(mistakes.dims_in_range,),
        code=write.method("mean", "dim", keepdim=False),
        traced=Traced(("torch.mean",), ("mean",), ("dim", "keepdim"), hook=reduction),
    ),
    LayerSpec(
        "Permute", "Reshape", "app.core.ops.Permute",
        (Param("dims", SHAPE, [2, 3, 1], "The new order of the dimensions after the batch, "
               "numbered as torch numbers them (1 is the first after the batch): 2, 3, 1 turns "
               "channels × height × width into height × width × channels.", key=True),),
        "Reorders the dimensions, as `x.permute(0, 2, 3, 1)`: e.g. to channels-last for a "
        "LayerNorm or Linear over the channels (ConvNeXt).",
        "Dimension i of the output is dimension dims[i] of the input.", ranks=(3, 1, 2, 4, 5),
        prefix="permute", inputs=_ANY_IN, outputs=_ANY_OUT, shape_rule=shape.permute,
        checks=(mistakes.reorders_sample_dims,), code=write.permute,
        traced=Traced(("torch.permute",), ("permute",), hook=permute),
    ),
    LayerSpec(
        "Transpose", "Reshape", "app.core.ops.Transpose",
        (_int("dim0", 1, "One dimension to swap (1 is the first after the batch).",
              minimum=None, key=True),
         _int("dim1", 2, "The other dimension to swap.", minimum=None, key=True)),
        "Swaps two dimensions, as `x.transpose(1, 2)`: e.g. channels × length into length × "
        "channels, or the group step of a channel shuffle.",
        "dim0 and dim1 trade places.", ranks=(3, 2, 4), prefix="transpose", inputs=_ANY_IN,
        outputs=_ANY_OUT, shape_rule=shape.transpose, checks=(mistakes.swaps_sample_dims,),
        code=write.method("transpose", "dim0", "dim1"),
        traced=Traced(("torch.transpose", "torch.swapaxes"), ("transpose", "swapaxes"),
                      ("dim0", "dim1"), hook=swap),
    ),
    LayerSpec(
        "Expand", "Reshape", "app.core.ops.Expand",
        (Param("sizes", INTS, [-1, -1], "The size of each dimension after the batch, one per "
               "dimension of the input; -1 keeps the input's size, a size-1 dimension may be "
               "repeated to any size.", minimum=-1, scalar_ok=False, key=True),),
        "Repeats a tensor of batch size 1 (a learned class token) once per sample of the "
        "batch, as `token.expand(x.size(0), -1, -1)`: the 'batch' input only gives the batch "
        "size. Nothing is copied; every sample reads the same values.",
        "batch × sizes (-1: the input's size).", ranks=(2, 1, 3), prefix="expand",
        inputs=(Port("in", dtypes=ANY_DTYPE), Port("batch", dtypes=ANY_DTYPE)),
        outputs=_ANY_OUT, shape_rule=shape.expand, checks=(mistakes.expand_fits,),
        code=write.expand, traced=Traced(methods=("expand",), hook=expand),
    ),
    LayerSpec(
        "Select", "Reshape", "app.core.ops.Select",
        (_int("dim", 1, "Dimension to index (1 is the first after the batch).", key=True),
         _int("index", 0, "Position to take along dim; negative counts from the end.",
              minimum=None, key=True)),
        "Takes one position along a dimension, which then disappears, as `x[:, 0]`: ViT "
        "classifies its class token, the first token of the sequence.",
        "The dimension dim goes.", ranks=(2, 1, 3), prefix="select", inputs=_ANY_IN,
        outputs=_ANY_OUT, shape_rule=shape.select, checks=(mistakes.index_in_range,),
        code=write.select,
    ),
    LayerSpec(
        "Chunk", "Reshape", "app.core.ops.Chunk",
        (_int("chunks", 2, "How many pieces (outputs).", minimum=2, maximum=64, key=True),
         _int("dim", 1, "Dimension to split (1 = channels; 0 is the batch).", minimum=None,
              key=True)),
        "Splits the input into equal pieces along dim, one per output, as "
        "`x1, x2 = x.chunk(2, dim=1)` (ShuffleNetV2 sends half the channels through a branch "
        "and passes the other half on).",
        "Each output has size ⌈size/chunks⌉ along dim (the last one what is left).",
        prefix="chunk", inputs=_ANY_IN, outputs=_ANY_OUT, split="chunks",
        shape_rule=shape.chunk, checks=(mistakes.chunks_fit,),
        code=write.method("chunk", "chunks", dim=None),
        traced=Traced(("torch.chunk",), ("chunk",), ("chunks", "dim"), hook=split),
    ),
    _merge("Add", "Adds its inputs element by element: the skip connection of a residual "
           "block. Shapes must match (or broadcast).", "Same shape as the inputs.",
           shape_rule=shape.broadcast, checks=(mistakes.broadcasts("add"),),
           code=write.operator("+"),
           traced=Traced(("operator.add", "operator.iadd", "torch.add"), hook=merge)),
    _merge("Multiply", "Multiplies its inputs element by element (gates, attention masks). "
           "Shapes must match (or broadcast).", "Same shape as the inputs.",
           shape_rule=shape.broadcast, checks=(mistakes.broadcasts("multiply"),),
           code=write.operator("*"),
           traced=Traced(("operator.mul", "operator.imul", "torch.mul"), hook=product)),
    LayerSpec(
        "Scale", "Merge", "app.core.ops.Scale",
        (_float("factor", 1.0, "The constant to multiply by (or divide by).", key=True),
         _bool("divide", False, "Divide by factor instead of multiplying, as attention "
               "divides its scores by √d.", key=True)),
        "Multiplies every value by a fixed number, or divides by it, as `x * 0.5` or "
        "`scores / math.sqrt(d)`: attention scales its scores so the softmax does not "
        "saturate. Nothing is learned.",
        "Same shape as the input.", prefix="scale", inputs=_ANY_IN, outputs=_ANY_OUT,
        shape_rule=shape.same_shape, checks=(mistakes.factor_not_zero,), code=write.scale,
        traced=Traced(("operator.truediv", "operator.itruediv", "torch.div"), ("div",),
                      hook=quotient),
    ),
    _merge("Concat", "Joins its inputs along dim, in port order: the channel concatenation of "
           "Inception and DenseNet blocks. All other dimensions must match.",
           "Size along dim is the sum of the inputs' sizes.",
           _int("dim", 1, "Dimension to join along (1 = channels; 0 is the batch).",
                minimum=None, key=True),
           most=128, inputs=_ANY_IN, outputs=_ANY_OUT, shape_rule=shape.concat,
           checks=(mistakes.concat_fits,
                   mistakes.on_whole_tensors("join", shape.concat, mistakes.concat_whole)),
           code=write.concat,
           traced=Traced(("torch.cat", "torch.concat"), hook=cat)),
    _merge("Stack", "Stacks inputs of equal shape along a new dimension dim, in port order: "
           "two 4 × 8 inputs stacked at dim=1 give 2 × 4 × 8 per sample (Concat would "
           "give 8 × 8).",
           "A new dimension of size num_inputs at dim; the inputs' dimensions stay.",
           _int("dim", 1, "Where the new dimension goes in the result (1 = right after the "
                "batch; -1 = last).", minimum=None, key=True),
           most=128, inputs=_ANY_IN, outputs=_ANY_OUT, shape_rule=shape.stack,
           checks=(mistakes.stack_fits, mistakes.stacks(shape.stack)), code=write.stack,
           traced=Traced(("torch.stack",), hook=stack)),
    # -- attention written out of tensor ops ----------------------------------------------
    LayerSpec(
        "MatMul", "Attention", "app.core.ops.MatMul", (),
        "Matrix product `torch.matmul(a, b)` (`a @ b`): a is … × n × k, b is … × k × m, the "
        "result … × n × m; the leading dimensions broadcast and a 1-D input is a vector. "
        "Attention's scores are `q @ k.transpose(-2, -1)`.",
        "… × n × k times … × k × m gives … × n × m.", prefix="matmul",
        inputs=(Port("a"), Port("b")), shape_rule=shape.matmul,
        checks=(mistakes.on_whole_tensors("multiply", shape.matmul, mistakes.matmul_whole),),
        code=write.matmul,
        traced=Traced(("torch.matmul", "operator.matmul", "torch.bmm"), ("matmul", "bmm"),
                      hook=merge),
    ),
    LayerSpec(
        "ScaledDotProductAttention", "Attention", "app.core.ops.ScaledDotProductAttention",
        (_bool("is_causal", False, "Each query sees only keys up to its own position (a "
               "decoder that must not look ahead).", key=True),
         _float("dropout_p", 0.0, "Dropout on the attention weights, in training only.",
                minimum=0.0, maximum=1.0),
         Param("scale", FLOAT, None, "Factor for the scores; empty means 1/√E (E: the "
               "query's features).", minimum=0.0, optional=True)),
        "Attention in one call, `F.scaled_dot_product_attention(q, k, v)`: softmax(q·kᵀ/√E)·v. "
        "q is … × L × E (L queries), k is … × S × E and v is … × S × Ev (S keys and values); "
        "the result is … × L × Ev.",
        "… × L × E, … × S × E, … × S × Ev give … × L × Ev.", prefix="attention",
        inputs=(Port("query"), Port("key"), Port("value")), shape_rule=shape.attention,
        checks=(mistakes.on_whole_tensors("attend with", shape.attention,
                                          mistakes.attention_whole),),
        code=write.scaled_dot_product_attention,
        traced=Traced((_F + "scaled_dot_product_attention",), hook=attention_call),
    ),
    # -- blocks of torchvision's models and torch's transformer, each one module ---------
    LayerSpec(
        "SqueezeExcitation", "Attention", "torchvision.ops.SqueezeExcitation",
        (_auto("input_channels", "channels", "Channels of the input (and of the output)."),
         _int("squeeze_channels", 8, "Channels of the bottleneck between the two 1×1 "
              "convolutions (often input_channels/4 or /16).", key=True),
         Param("activation", CHOICE, "ReLU", "Activation after the squeeze (MobileNetV3: "
               "ReLU, EfficientNet: SiLU).", choices=_SE_ACTIVATIONS),
         Param("scale_activation", CHOICE, "Sigmoid", "Turns the excitation into per-channel "
               "scales (MobileNetV3: Hardsigmoid).", choices=_SE_SCALES)),
        "Channel attention (SE-Net): averages each channel to one number (squeeze), passes "
        "these through a small bottleneck of two 1×1 convolutions (excitation) and scales "
        "each input channel by the result, so the network learns which channels matter for "
        "this image. MobileNetV3 and EfficientNet use it in every block.",
        "Same shape as the input.", ranks=(3,), prefix="se", shape_rule=shape.same_shape,
        count=weights.squeeze_excitation, read=reads.squeeze_excitation,
        classes=("activation", "scale_activation"),
    ),
    LayerSpec(
        "Split", "Reshape", "app.core.ops.Split",
        (Param("split_size_or_sections", INTS, 3, "One number: pieces of that size along "
               "dim (the last one what is left); several: the size of each piece, which must "
               "add up to the input's size.", minimum=1, key=True),
         _int("dim", 1, "Dimension to split (1 = channels; 0 is the batch).", minimum=None,
              key=True),
         Param("pieces", INT, 2, "How many pieces (outputs) the split makes: the number of "
               "sizes given, or ⌈size/split_size⌉.", minimum=2, maximum=64, graph_only=True)),
        "Cuts the input into pieces of given sizes along dim, one per output, as "
        "`a, b = x.split([16, 48], dim=1)` or `x.split(2, dim=1)` (pieces of 2).",
        "Each output has its piece's size along dim; other dimensions unchanged.",
        prefix="split", inputs=_ANY_IN, outputs=_ANY_OUT, split="pieces",
        shape_rule=shape.split, checks=(mistakes.split_fits,),
        code=write.method("split", "split_size_or_sections", dim=None),
        traced=Traced(("torch.split",), ("split",),
                      ("split_size_or_sections", "dim"), hook=split_sizes),
    ),
    LayerSpec(
        "TransformerEncoderLayer", "Attention", "torch.nn.TransformerEncoderLayer",
        (_auto("d_model", "features", "Features per token."),
         _int("nhead", 1, "Attention heads; d_model must be divisible by it (each head sees "
              "d_model/nhead features).", key=True),
         _int("dim_feedforward", 2048, "Width of the feed-forward network after attention.",
              key=True),
         _float("dropout", 0.1, "Dropout after attention and in the feed-forward network.",
                minimum=0.0, maximum=1.0),
         Param("activation", CHOICE, "relu", "Activation of the feed-forward network.",
               choices=("relu", "gelu")),
         _float("layer_norm_eps", 1e-5, "Added to the variance in the two LayerNorms.",
                minimum=0.0),
         _bool("batch_first", True, "Input is batch × sequence × features. Canvas tensors "
               "are always batch-first, so it stays on (torch's own default is off)."),
         _bool("norm_first", False, "LayerNorm before attention and feed-forward (pre-norm, "
               "trains more stably) instead of after."),
         _bool("bias", True, "Learn the biases of the linear layers and LayerNorms.")),
        "One transformer encoder layer: every token attends to every other token "
        "(multi-head self-attention), then a two-layer feed-forward network transforms each "
        "token; both have a residual connection and a LayerNorm. Input is batch × sequence "
        "× features, as BERT and ViT stack them.",
        "Same shape as the input.", ranks=(2,), prefix="encoder_layer",
        shape_rule=shape.same_shape, checks=(mistakes.heads_divide("d_model", "nhead"),
                                             mistakes.batch_first_on),
        count=weights.transformer_encoder_layer, read=reads.transformer_encoder_layer,
        label="Transformer layer",
    ),
    _window_attention(1, "Swin Transformer's attention: self-attention inside windows of "
                      "window_size tokens (not across the whole image), with a learned bias "
                      "for each relative position in the window; every second block shifts "
                      "the windows by shift_size so information crosses window borders. "
                      "Input is batch × height × width × channels (channels last)."),
    _window_attention(2, "Swin Transformer V2's attention: window attention as in Swin V1, "
                      "with cosine similarity scaled by a learned temperature, and the "
                      "relative-position bias made by a small MLP from log-spaced "
                      "coordinates (so it transfers to other window sizes). Input is batch × "
                      "height × width × channels."),
    LayerSpec(
        "RelativePositionalMultiHeadAttention", "Attention",
        "torchvision.models.maxvit.RelativePositionalMultiHeadAttention",
        (_auto("feat_dim", "features", "Features of each token."),
         _int("head_dim", 32, "Features per attention head; feat_dim must be divisible by "
              "it.", key=True),
         _int("max_seq_len", 49, "Tokens per window, a square number: 49 for MaxViT's 7×7 "
              "windows.", key=True)),
        "MaxViT's attention: multi-head self-attention among the tokens of each window or "
        "grid cell, with a learned bias for each relative position of two tokens. Input is "
        "batch × windows × tokens per window × features.",
        "Same shape as the input.", ranks=(3,), prefix="attn", shape_rule=shape.same_shape,
        checks=(mistakes.window_tokens,), count=weights.relative_attention,
        read=reads.relative_attention, label="Rel. pos. attention", internal=True,
    ),
    _patch_merging(1, "Swin Transformer's downsampling between stages: each 2×2 group of "
                   "neighbouring tokens is concatenated (4·C features), normalised by a "
                   "LayerNorm and mapped to 2·C by a Linear layer without bias, halving "
                   "height and width and doubling the channels."),
    _patch_merging(2, "Swin Transformer V2's downsampling: as Swin V1's PatchMerging (2×2 "
                   "tokens concatenated, Linear to 2·C) with the LayerNorm after the Linear "
                   "layer instead of before."),
]

CATALOGUE: dict[str, LayerSpec] = {spec.type: spec for spec in _SPECS}


def spec_for(layer_type: str) -> LayerSpec:
    try:
        return CATALOGUE[layer_type]
    except KeyError:
        raise KeyError(f"unknown layer type {layer_type!r}") from None


def by_category() -> dict[str, list[LayerSpec]]:
    groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for spec in CATALOGUE.values():
        groups[spec.category].append(spec)
    return groups


def palette_groups() -> dict[str, list[LayerSpec]]:
    """The palette's groups in order: the categories, then TORCHVISION_BLOCKS."""
    groups: dict[str, list[LayerSpec]] = {c: [] for c in (*CATEGORIES, TORCHVISION_BLOCKS)}
    for spec in CATALOGUE.values():
        groups[spec.palette_group].append(spec)
    return groups
