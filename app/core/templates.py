"""Built-in architectures as documents, for the gallery and `python -m app new`.

Every template is a builder function whose keyword arguments are its options
(`build_template("vgg16", num_classes=10, input_size=32)`). The classic ImageNet
networks reproduce torchvision's reference definitions layer for layer, so their
parameter counts match torchvision's exactly at the default options.
Layout: the main path runs top to bottom in column 0; branches sit in side columns.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.graph import NetworkDocument
from app.core.project import Project

ROW = 110.0  # vertical distance between consecutive layers on the canvas
COLUMN = 240.0


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    teaches: str
    build: Callable[..., NetworkDocument]
    dataset: str = ""  # id of the offline data source it trains on by default
    task: str = "classification"
    year: int | None = None
    paper: str = ""
    # TrainConfig overrides that make "open the template, press Train" work on its
    # offline dataset (the defaults suit most templates).
    training: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Builder options and data section (params, transforms) of the project a student
    # opens: the ImageNet classics keep torchvision's builder defaults (224, 1000 classes)
    # for import and comparison, but open sized for their small offline data.
    project_options: Mapping[str, Any] = field(default_factory=dict, compare=False,
                                               hash=False)
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The canvas view it opens with (e.g. {"collapsed": ["layer1"]}: blocks shown as one node).
    canvas: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def project(self, **options: Any) -> Project:
        """A new project: the network, its offline dataset and its training setup.
        `options` override the builder options the project opens with."""
        data = {"source": self.dataset} | copy.deepcopy(dict(self.data))
        return Project(build_template(self.id, **(dict(self.project_options) | options)),
                       name=self.title, data=data, training=copy.deepcopy(dict(self.training)),
                       canvas=copy.deepcopy(dict(self.canvas)))

    def input_shape(self) -> list[int]:
        """The Input shape of the project the template opens as."""
        doc = self.build(**self.project_options)
        return next(n.params["shape"] for n in doc.nodes if n.type == "Input")

    @property
    def options(self) -> dict[str, Any]:
        """Option name -> default value, read from the builder's keyword arguments."""
        return {name: p.default for name, p in inspect.signature(self.build).parameters.items()
                if p.default is not inspect.Parameter.empty}


class Builder:
    """Appends layers top to bottom; `then` wires each new layer to the previous one.
    `path` places a layer's module (`layer1.0.conv1`); inside `numbered("features")` the
    layers get torchvision's nn.Sequential paths features.0, features.1, ..."""

    def __init__(self) -> None:
        self.doc = NetworkDocument()
        self.row = 0
        self.last: str | None = None
        self.container: str | None = None
        self.index = 0

    @contextlib.contextmanager
    def numbered(self, container: str) -> Iterator[None]:
        self.container, self.index = container, 0
        try:
            yield
        finally:
            self.container = None

    def add(self, layer_type: str, name: str | None = None, column: float = 0.0,
            path: str | None = None, **params: Any) -> str:
        if path is None and self.container is not None:
            path, self.index = f"{self.container}.{self.index}", self.index + 1
        node = self.doc.add_node(layer_type, params, name=name, path=path,
                                 pos=(column * COLUMN, self.row * ROW))
        self.row += 1
        return node.name

    def then(self, layer_type: str, name: str | None = None, path: str | None = None,
             **params: Any) -> str:
        new = self.add(layer_type, name, path=path, **params)
        if self.last is not None:
            self.doc.connect(self.last, "out", new, "in")
        self.last = new
        return new

    def wire(self, src: str, dst: str, port: str = "in", src_port: str = "out") -> None:
        self.doc.connect(src, src_port, dst, port)

    def side(self, entry: str, layers: Sequence[tuple[str, str, dict[str, Any]]],
             column: float, row: int) -> str:
        """A chain of (type, name, params) layers fed by `entry`, drawn in a side column
        starting at `row`; returns the last layer's name. Leaves the main path alone.
        `params` may hold the layer's module `path`."""
        main_row, prev = self.row, entry
        self.row = row
        for layer_type, name, params in layers:
            new = self.add(layer_type, name, column, **params)
            self.wire(prev, new)
            prev = new
        self.row = main_row
        return prev

    def branches(self, branch_layers: Sequence[Sequence[tuple[str, str, dict[str, Any]]]],
                 merge: str, merge_name: str, **merge_params: Any) -> str:
        """Parallel branches from the current layer, side by side, merged by a
        variadic node (Concat/Add) in column 0 below the longest branch."""
        entry, start = self.last, self.row
        n = len(branch_layers)
        ends = [self.side(entry, layers, column=i - (n - 1) / 2, row=start)
                for i, layers in enumerate(branch_layers)]
        self.row = start + max(len(layers) for layers in branch_layers)
        node = self.add(merge, merge_name, num_inputs=n, **merge_params)
        for i, end in enumerate(ends, start=1):
            self.wire(end, node, f"in{i}")
        self.last = node
        return node


def _layer(layer_type: str, name: str, **params: Any) -> tuple[str, str, dict[str, Any]]:
    return layer_type, name, params


def _square(size: int, channels: int) -> list[int]:
    return [channels, size, size]


# -- regression and shallow classifiers ---------------------------------------------------

def linear_regression(num_features: int = 2) -> NetworkDocument:
    b = Builder()
    b.then("Input", "features", shape=[num_features])
    b.then("Linear", "linear", out_features=1)
    b.then("Output", "prediction")
    return b.doc


def logistic_regression(num_features: int = 30) -> NetworkDocument:
    """One Linear unit and a sigmoid: the probability of the positive class."""
    b = Builder()
    b.then("Input", "features", shape=[num_features])
    b.then("Linear", "linear", out_features=1)
    b.then("Sigmoid", "sigmoid")
    b.then("Output", "probability")
    return b.doc


def softmax_regression(num_features: int = 4, num_classes: int = 3) -> NetworkDocument:
    """One Linear layer producing one logit per class; the loss applies the softmax."""
    b = Builder()
    b.then("Input", "features", shape=[num_features])
    b.then("Linear", "linear", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


def house_price_mlp(num_features: int = 8, hidden: int = 64) -> NetworkDocument:
    """Two hidden layers with dropout for a small table; one output: the price."""
    b = Builder()
    b.then("Input", "features", shape=[num_features])
    b.then("Linear", "fc1", out_features=hidden)
    b.then("ReLU", "relu1")
    b.then("Dropout", "dropout1", p=0.1)
    b.then("Linear", "fc2", out_features=hidden // 2)
    b.then("ReLU", "relu2")
    b.then("Linear", "fc3", out_features=1)
    b.then("Output", "price")
    return b.doc


def mlp(num_classes: int = 10) -> NetworkDocument:
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Flatten", "flatten")
    for i, width in enumerate((512, 256, 128, 64), start=1):
        b.then("Linear", f"fc{i}", out_features=width)
        b.then("ReLU", f"relu{i}")
    b.then("Linear", "fc5", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


# -- small CNNs for 28×28 digits --------------------------------------------------------------

def mnist_cnn(num_classes: int = 10) -> NetworkDocument:
    """The lecture's first CNN: relu(pool(conv(x))) twice, then one Linear (320 -> 10)."""
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Conv2d", "conv1", out_channels=10, kernel_size=5)
    b.then("MaxPool2d", "pool1", kernel_size=2)
    b.then("ReLU", "relu1")
    b.then("Conv2d", "conv2", out_channels=20, kernel_size=5)
    b.then("MaxPool2d", "pool2", kernel_size=2)
    b.then("ReLU", "relu2")
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


def lenet5() -> NetworkDocument:
    """LeNet-5 as in d2l: sigmoid activations and average pooling on 28×28 digits."""
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Conv2d", "conv1", out_channels=6, kernel_size=5, padding=2)
    b.then("Sigmoid", "sigmoid1")
    b.then("AvgPool2d", "pool1", kernel_size=2, stride=2)
    b.then("Conv2d", "conv2", out_channels=16, kernel_size=5)
    b.then("Sigmoid", "sigmoid2")
    b.then("AvgPool2d", "pool2", kernel_size=2, stride=2)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc1", out_features=120)
    b.then("Sigmoid", "sigmoid3")
    b.then("Linear", "fc2", out_features=84)
    b.then("Sigmoid", "sigmoid4")
    b.then("Linear", "fc3", out_features=10)
    b.then("Output", "logits")
    return b.doc


def residual_block(b: Builder, prefix: str, channels: int) -> str:
    """conv-relu-conv with the block's input added back before the last ReLU."""
    entry = b.last
    b.then("Conv2d", f"{prefix}_conv1", out_channels=channels, kernel_size=3, padding=1)
    b.then("ReLU", f"{prefix}_relu1")
    b.then("Conv2d", f"{prefix}_conv2", out_channels=channels, kernel_size=3, padding=1)
    add = b.add("Add", f"{prefix}_add")
    b.wire(b.last, add, "in1")
    b.wire(entry, add, "in2")
    b.last = add
    return b.then("ReLU", f"{prefix}_relu2")


def residual_cnn() -> NetworkDocument:
    """The lecture's MNIST residual net: two residual blocks of 16 and 32 channels."""
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Conv2d", "conv1", out_channels=16, kernel_size=5)
    b.then("ReLU", "relu1")
    b.then("MaxPool2d", "pool1", kernel_size=2)
    residual_block(b, "block1", 16)
    b.then("Conv2d", "conv2", out_channels=32, kernel_size=5)
    b.then("ReLU", "relu2")
    b.then("MaxPool2d", "pool2", kernel_size=2)
    residual_block(b, "block2", 32)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=10)
    b.then("Output", "logits")
    return b.doc


def inception_a(b: Builder, prefix: str) -> str:
    """The lecture's InceptionA: 1x1 (16), 5x5 (24), double 3x3 (24) and pooled 1x1 (24)
    branches, concatenated to 88 channels."""
    return b.branches([
        [_layer("Conv2d", f"{prefix}_branch1x1", out_channels=16, kernel_size=1)],
        [_layer("Conv2d", f"{prefix}_branch5x5_1", out_channels=16, kernel_size=1),
         _layer("Conv2d", f"{prefix}_branch5x5_2", out_channels=24, kernel_size=5, padding=2)],
        [_layer("Conv2d", f"{prefix}_branch3x3_1", out_channels=16, kernel_size=1),
         _layer("Conv2d", f"{prefix}_branch3x3_2", out_channels=24, kernel_size=3, padding=1),
         _layer("Conv2d", f"{prefix}_branch3x3_3", out_channels=24, kernel_size=3, padding=1)],
        [_layer("AvgPool2d", f"{prefix}_branch_pool_avg", kernel_size=3, stride=1, padding=1),
         _layer("Conv2d", f"{prefix}_branch_pool", out_channels=24, kernel_size=1)],
    ], "Concat", f"{prefix}_cat", dim=1)


def inception_mnist(num_classes: int = 10) -> NetworkDocument:
    """The lecture's GoogLeNet-style MNIST net: conv-pool-relu, InceptionA, conv-pool-relu,
    InceptionA, Linear(1408 -> 10)."""
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Conv2d", "conv1", out_channels=10, kernel_size=5)
    b.then("MaxPool2d", "pool1", kernel_size=2)
    b.then("ReLU", "relu1")
    inception_a(b, "incep1")
    b.then("Conv2d", "conv2", out_channels=20, kernel_size=5)
    b.then("MaxPool2d", "pool2", kernel_size=2)
    b.then("ReLU", "relu2")
    inception_a(b, "incep2")
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


# -- ImageNet classics, layer for layer as in torchvision ------------------------------------

def alexnet(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3,
            hidden: int = 4096, pool_size: int = 6) -> NetworkDocument:
    """torchvision.models.alexnet: five convolutions, an adaptive pool to 6×6 and three
    fully connected layers with dropout. `input_size` must be at least 63."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    convs = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
    pool_after = {1: "pool1", 2: "pool2", 5: "pool3"}
    with b.numbered("features"):
        for i, (channels, kernel, stride, padding) in enumerate(convs, start=1):
            b.then("Conv2d", f"conv{i}", out_channels=channels, kernel_size=kernel,
                   stride=stride, padding=padding)
            b.then("ReLU", f"relu{i}")
            if i in pool_after:
                b.then("MaxPool2d", pool_after[i], kernel_size=3, stride=2)
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=pool_size)
    b.then("Flatten", "flatten")
    with b.numbered("classifier"):
        b.then("Dropout", "dropout1", p=0.5)
        b.then("Linear", "fc1", out_features=hidden)
        b.then("ReLU", "relu6")
        b.then("Dropout", "dropout2", p=0.5)
        b.then("Linear", "fc2", out_features=hidden)
        b.then("ReLU", "relu7")
        b.then("Linear", "fc3", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


VGG_STAGES = {  # convolutions per stage (each stage ends in a 2×2 max pool)
    "vgg11": ((64, 1), (128, 1), (256, 2), (512, 2), (512, 2)),
    "vgg16": ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)),
}


def _vgg(stages: tuple[tuple[int, int], ...], num_classes: int, input_size: int,
         in_channels: int, hidden: int, pool_size: int) -> NetworkDocument:
    """torchvision's VGG: 3×3 convolutions with padding 1, max pools, adaptive pool to 7×7
    and a classifier Linear-ReLU-Dropout ×2 + Linear."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    with b.numbered("features"):
        for stage, (channels, repeats) in enumerate(stages, start=1):
            for j in range(1, repeats + 1):
                b.then("Conv2d", f"conv{stage}_{j}", out_channels=channels, kernel_size=3,
                       padding=1)
                b.then("ReLU", f"relu{stage}_{j}")
            b.then("MaxPool2d", f"pool{stage}", kernel_size=2, stride=2)
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=pool_size)
    b.then("Flatten", "flatten")
    with b.numbered("classifier"):
        for i in (1, 2):
            b.then("Linear", f"fc{i}", out_features=hidden)
            b.then("ReLU", f"relu_fc{i}")
            b.then("Dropout", f"dropout{i}", p=0.5)
        b.then("Linear", "fc3", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


def vgg11(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3,
          hidden: int = 4096, pool_size: int = 7) -> NetworkDocument:
    return _vgg(VGG_STAGES["vgg11"], num_classes, input_size, in_channels, hidden, pool_size)


def vgg16(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3,
          hidden: int = 4096, pool_size: int = 7) -> NetworkDocument:
    return _vgg(VGG_STAGES["vgg16"], num_classes, input_size, in_channels, hidden, pool_size)


def basic_block(b: Builder, block: str, channels: int, stride: int, downsample: bool) -> str:
    """torchvision's BasicBlock: conv-bn-relu-conv-bn, plus the input (through a 1×1
    conv-bn `downsample` when the shape changes), then relu. Module paths are
    torchvision's (`layer1.0.conv1`), so its state_dict loads as it is; node names are the
    paths with underscores (`layer1_0_conv1`)."""
    entry = b.last

    def here(part: str) -> dict[str, str]:
        return {"name": f"{block}.{part}".replace(".", "_"), "path": f"{block}.{part}"}

    b.then("Conv2d", **here("conv1"), out_channels=channels, kernel_size=3, stride=stride,
           padding=1, bias=False)
    b.then("BatchNorm2d", **here("bn1"))
    b.then("ReLU", **here("relu1"))
    b.then("Conv2d", **here("conv2"), out_channels=channels, kernel_size=3, padding=1,
           bias=False)
    main = b.then("BatchNorm2d", **here("bn2"))
    shortcut = entry
    if downsample:
        conv, bn = here("downsample.0"), here("downsample.1")
        shortcut = b.side(entry, [
            _layer("Conv2d", conv["name"], path=conv["path"], out_channels=channels,
                   kernel_size=1, stride=stride, bias=False),
            _layer("BatchNorm2d", bn["name"], path=bn["path"])], column=1, row=b.row - 5)
    add = b.add("Add", **here("add"))  # no weights: adds no state_dict keys
    b.wire(main, add, "in1")
    b.wire(shortcut, add, "in2")
    b.last = add
    return b.then("ReLU", **here("relu2"))


def resnet18(num_classes: int = 1000, input_size: int = 224,
             in_channels: int = 3) -> NetworkDocument:
    """torchvision.models.resnet18: a 7×7 stem, four stages of two BasicBlocks
    (64, 128, 256, 512 channels), global average pooling and one Linear layer."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    b.then("Conv2d", "conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    b.then("BatchNorm2d", "bn1")
    b.then("ReLU", "relu")
    b.then("MaxPool2d", "maxpool", kernel_size=3, stride=2, padding=1)
    in_planes = 64
    for stage, channels in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            basic_block(b, f"layer{stage}.{block}", channels, stride,
                        downsample=stride != 1 or in_planes != channels)
            in_planes = channels
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


# -- ideas from the 2013-2017 papers, sized for small images ---------------------------------

def _nin_block(b: Builder, prefix: str, channels: int, kernel: int, stride: int,
               padding: int) -> None:
    """One k×k convolution followed by two 1×1 convolutions: a tiny per-pixel MLP."""
    b.then("Conv2d", f"{prefix}_conv", out_channels=channels, kernel_size=kernel,
           stride=stride, padding=padding)
    b.then("ReLU", f"{prefix}_relu1")
    b.then("Conv2d", f"{prefix}_mlp1", out_channels=channels, kernel_size=1)
    b.then("ReLU", f"{prefix}_relu2")
    b.then("Conv2d", f"{prefix}_mlp2", out_channels=channels, kernel_size=1)
    b.then("ReLU", f"{prefix}_relu3")


def nin(num_classes: int = 10, input_size: int = 28, in_channels: int = 1) -> NetworkDocument:
    """d2l's NiN. At 224×224 the first block uses the paper's 11×11 stride-4 kernel; small
    inputs (below 160) use a 5×5 stride-1 kernel so three 3×3 stride-2 pools still fit."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    first = (11, 4, 0) if input_size >= 160 else (5, 1, 2)
    _nin_block(b, "nin1", 96, *first)
    b.then("MaxPool2d", "pool1", kernel_size=3, stride=2)
    _nin_block(b, "nin2", 256, 5, 1, 2)
    b.then("MaxPool2d", "pool2", kernel_size=3, stride=2)
    _nin_block(b, "nin3", 384, 3, 1, 1)
    b.then("MaxPool2d", "pool3", kernel_size=3, stride=2)
    b.then("Dropout", "dropout", p=0.5)
    _nin_block(b, "nin4", num_classes, 3, 1, 1)  # one channel per class ...
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)  # ... averaged: no Linear layer
    b.then("Flatten", "flatten")
    b.then("Output", "logits")
    return b.doc


def _dense_block(b: Builder, prefix: str, layers: int, growth_rate: int) -> None:
    """Each layer (BN-ReLU-3×3 conv, in the side column) adds growth_rate channels that are
    concatenated onto everything before it (main column)."""
    for j in range(1, layers + 1):
        entry = b.last
        conv = b.side(entry, [
            _layer("BatchNorm2d", f"{prefix}_layer{j}_bn"),
            _layer("ReLU", f"{prefix}_layer{j}_relu"),
            _layer("Conv2d", f"{prefix}_layer{j}_conv", out_channels=growth_rate,
                   kernel_size=3, padding=1, bias=False)], column=1, row=b.row)
        b.row += 3
        cat = b.add("Concat", f"{prefix}_cat{j}", dim=1)
        b.wire(entry, cat, "in1")
        b.wire(conv, cat, "in2")
        b.last = cat


def _transition(b: Builder, prefix: str, channels: int) -> None:
    """BN-ReLU-1×1 conv halves the channels, a 2×2 average pool halves the image."""
    b.then("BatchNorm2d", f"{prefix}_bn")
    b.then("ReLU", f"{prefix}_relu")
    b.then("Conv2d", f"{prefix}_conv", out_channels=channels, kernel_size=1, bias=False)
    b.then("AvgPool2d", f"{prefix}_pool", kernel_size=2, stride=2)


def densenet_small(num_classes: int = 10, input_size: int = 28, in_channels: int = 1,
                   growth_rate: int = 12, layers_per_block: int = 4) -> NetworkDocument:
    """Two dense blocks joined by a transition layer, DenseNet-BC style."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    stem = 2 * growth_rate
    b.then("Conv2d", "conv0", out_channels=stem, kernel_size=3, padding=1, bias=False)
    _dense_block(b, "block1", layers_per_block, growth_rate)
    _transition(b, "trans1", (stem + layers_per_block * growth_rate) // 2)
    _dense_block(b, "block2", layers_per_block, growth_rate)
    b.then("BatchNorm2d", "bn_final")
    b.then("ReLU", "relu_final")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


def _conv_relu(prefix: str, channels: int, kernel: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [_layer("Conv2d", f"{prefix}_conv", out_channels=channels, kernel_size=kernel,
                   padding=kernel // 2),
            _layer("ReLU", f"{prefix}_relu")]


def inception_block(b: Builder, prefix: str, c1: int, c2: tuple[int, int],
                    c3: tuple[int, int], c4: int) -> str:
    """GoogLeNet's Inception block (d2l): 1×1; 1×1 then 3×3; 1×1 then 5×5; 3×3 max pool then
    1×1; every convolution followed by ReLU; outputs concatenated along channels."""
    return b.branches([
        _conv_relu(f"{prefix}_b1", c1, 1),
        _conv_relu(f"{prefix}_b2_1", c2[0], 1) + _conv_relu(f"{prefix}_b2_2", c2[1], 3),
        _conv_relu(f"{prefix}_b3_1", c3[0], 1) + _conv_relu(f"{prefix}_b3_2", c3[1], 5),
        [_layer("MaxPool2d", f"{prefix}_b4_pool", kernel_size=3, stride=1, padding=1),
         *_conv_relu(f"{prefix}_b4", c4, 1)],
    ], "Concat", f"{prefix}_cat", dim=1)


def googlenet_small(num_classes: int = 10, input_size: int = 28,
                    in_channels: int = 1) -> NetworkDocument:
    """A stem, three Inception blocks (GoogLeNet's 3a, 3b, 4a widths), global average
    pooling and one Linear layer."""
    b = Builder()
    b.then("Input", "image", shape=_square(input_size, in_channels))
    b.then("Conv2d", "conv1", out_channels=64, kernel_size=3, padding=1)
    b.then("ReLU", "relu1")
    b.then("MaxPool2d", "pool1", kernel_size=3, stride=2, padding=1)
    inception_block(b, "inc3a", 64, (96, 128), (16, 32), 32)
    inception_block(b, "inc3b", 128, (128, 192), (32, 96), 64)
    b.then("MaxPool2d", "pool2", kernel_size=3, stride=2, padding=1)
    inception_block(b, "inc4a", 192, (96, 208), (16, 48), 64)
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


# -- sequences ------------------------------------------------------------------------------

def _sequence_classifier(cell: str, vocab_size: int, seq_len: int, embed_dim: int,
                         hidden: int, num_classes: int) -> NetworkDocument:
    """Token ids -> Embedding -> recurrent layer (last time step) -> Linear."""
    b = Builder()
    b.then("Input", "tokens", shape=[seq_len], dtype="int64")
    b.then("Embedding", "embedding", num_embeddings=vocab_size, embedding_dim=embed_dim)
    b.then(cell, cell.lower(), hidden_size=hidden, output="last")
    b.then("Linear", "fc", out_features=num_classes)
    b.then("Output", "logits")
    return b.doc


def rnn_classifier(vocab_size: int = 10, seq_len: int = 12, embed_dim: int = 16,
                   hidden: int = 32, num_classes: int = 2) -> NetworkDocument:
    return _sequence_classifier("RNN", vocab_size, seq_len, embed_dim, hidden, num_classes)


def lstm_classifier(vocab_size: int = 10, seq_len: int = 12, embed_dim: int = 16,
                    hidden: int = 32, num_classes: int = 2) -> NetworkDocument:
    return _sequence_classifier("LSTM", vocab_size, seq_len, embed_dim, hidden, num_classes)


def gru_classifier(vocab_size: int = 10, seq_len: int = 12, embed_dim: int = 16,
                   hidden: int = 32, num_classes: int = 2) -> NetworkDocument:
    return _sequence_classifier("GRU", vocab_size, seq_len, embed_dim, hidden, num_classes)


# The ImageNet classics open on the generated colour shapes at a size 2 CPU cores train in
# about a minute; their adaptive average pool keeps every weight's shape at any input size,
# so torchvision's state_dict still loads strictly.
_CLASSIC_SIZE = ("Opens at 3×{size}×{size} with 10 classes on the generated Colour shapes so "
                 "it trains offline at once. CIFAR-10: choose it as the data source (tick "
                 "'download'). ImageNet size: set the Input to 3×224×224 and add a Resize "
                 "step to the data; num_classes=1000 gives torchvision's exact model.")
CLASSIC_32 = {"num_classes": 10, "input_size": 32}
# Without batch norm AlexNet and VGG need centred inputs and He init to move at all in
# a few epochs; they get fewer images so an epoch stays under a minute on 2 cores.
_NORMALIZED = {"train_transforms": [{"type": "Normalize", "preset": "dataset"}],
               "eval_transforms": [{"type": "Normalize", "preset": "dataset"}]}
CLASSIC_DATA: dict[str, dict[str, Any]] = {
    "alexnet": {"params": {"image_size": 64, "n_samples": 1500}, **_NORMALIZED},
    "vgg11": {"params": {"n_samples": 1000}, **_NORMALIZED},
    "vgg16": {"params": {"n_samples": 1000}, **_NORMALIZED},
    "resnet18": {},
}
# Convolutions only: He init on the 4096-wide classifier starts the loss near 11, not ln 10.
_HE_INIT = [{"layer_types": ["Conv2d"], "scheme": "kaiming_normal",
             "params": {"nonlinearity": "relu"}}]
# Without batch norm these sit at chance until Adam has taken ~80 small steps (measured:
# SGD with momentum 0.01 and Adam 3e-4 stay at chance). What costs is the step, not the
# batch: AlexNet's 57M and VGG's 130M weights, so batch 32 and torch's fused Adam (7x
# faster per step on the CPU) buy the steps. VGG-16's 13 convolutions collapse to a
# constant output at 1e-4 (with or without warm-up) and need 3e-5. Measured on 2 cores
# with `python -m app train` (benchmarks/classic_templates.py repeats it): AlexNet 43%
# after 5 epochs in 66 s, VGG-11 27% after 5 in 104 s, VGG-16 20% after 5 in 131 s
# (chance: 10%).
_PLAIN_CLASSIC = {"batch_size": 32, "init": _HE_INIT,
                  "optimizer": {"name": "Adam", "lr": 1e-4, "params": {"fused": True}}}
_COSINE = {"name": "CosineAnnealingLR", "step_per": "batch"}
CLASSIC_TRAINING: dict[str, dict[str, Any]] = {
    "alexnet": {"epochs": 5, **_PLAIN_CLASSIC},
    "vgg11": {"epochs": 5, **_PLAIN_CLASSIC},
    "vgg16": {"epochs": 5, **_PLAIN_CLASSIC,
              "optimizer": {"name": "Adam", "lr": 3e-5, "params": {"fused": True}}},
    "resnet18": {"epochs": 5, "optimizer": {"name": "Adam", "lr": 1e-3}, "scheduler": _COSINE},
}

_SEQ_TEXT = ("Token ids (int64) pass through an Embedding, a single-layer {cell} whose last "
             "time step feeds a Linear classifier.")

TEMPLATES: dict[str, Template] = {t.id: t for t in (
    Template("linear_regression", "Linear regression",
             "One Linear layer fitting y = Xw + b on two features.",
             "Linear models, MSE loss and gradient descent.", linear_regression,
             dataset="linear", task="regression", year=1805,
             training={"batch_size": 10, "loss": {"name": "MSE"},
                       "optimizer": {"name": "SGD", "lr": 0.03}},
             paper="Legendre, least squares (1805)"),
    Template("logistic_regression", "Logistic regression",
             "One Linear unit and a sigmoid giving the probability of a malignant tumour "
             "(30 features).",
             "Binary classification, the sigmoid and binary cross-entropy.",
             logistic_regression, dataset="breast_cancer", task="binary", year=1958,
             training={"epochs": 20, "loss": {"name": "BCE"},
                       "optimizer": {"name": "SGD", "lr": 0.1}},
             paper="Cox, The regression analysis of binary sequences (1958)"),
    Template("softmax_regression", "Softmax regression",
             "One Linear layer giving a score per iris species (4 features, 3 classes).",
             "Multi-class logits, softmax and cross-entropy.", softmax_regression,
             dataset="iris", training={"epochs": 60, "batch_size": 16,
                                       "optimizer": {"name": "SGD", "lr": 0.1}}),
    Template("house_price_mlp", "Tabular MLP for house prices",
             "Two hidden ReLU layers with a little dropout predicting one price from "
             "standardised table columns (8 by default, as in California housing).",
             "Regression on tabular data: feature scaling, MSE loss, overfitting.",
             house_price_mlp, dataset="csv", task="regression",
             training={"loss": {"name": "MSE"}}),
    Template("mlp", "MNIST MLP 784-512-256-128-64-10",
             "A fully connected network on flattened 28×28 digits.",
             "Flatten, Linear layers, ReLU and cross-entropy.", mlp, dataset="digits",
             training={"epochs": 30, "batch_size": 32, "scheduler": _COSINE}),
    Template("mnist_cnn", "Simple MNIST CNN",
             "Conv 1→10 (5×5), pool, ReLU, conv 10→20 (5×5), pool, ReLU, Linear 320→10.",
             "Convolution and pooling: how 28×28 shrinks to 20×4×4 = 320 features.",
             mnist_cnn, dataset="digits",
             training={"epochs": 30, "batch_size": 32, "optimizer": {"name": "Adam", "lr": 3e-3},
                       "scheduler": _COSINE}),
    Template("lenet5", "LeNet-5 (LeCun et al., 1998)",
             "Two convolution + average-pooling stages and three fully connected layers "
             "with sigmoid activations, as in d2l.",
             "Convolution, pooling and how shapes shrink through a CNN.", lenet5,
             dataset="digits", year=1998,
             # Sigmoid LeNet sits on a plateau for a few epochs (a lesson in itself); with
             # Adam at 3e-3 it leaves it within the run on the small digits set.
             training={"epochs": 20, "batch_size": 32,
                       "optimizer": {"name": "Adam", "lr": 0.003}},
             paper="LeCun et al., Gradient-based learning applied to document recognition"),
    Template("inception_mnist", "MNIST Inception net",
             "Two InceptionA blocks (1×1, 5×5, double 3×3 and pooled branches concatenated "
             "to 88 channels) between conv-pool-ReLU stages.",
             "Parallel branches and channel concatenation (Concat).", inception_mnist,
             dataset="digits", year=2014, paper="Szegedy et al., Going deeper with "
             "convolutions"),
    Template("residual_cnn", "Small residual CNN (He et al., 2015)",
             "Two convolutions with pooling, each followed by a residual block whose input "
             "is added back to its output.",
             "Skip connections (Add) and why they help deep networks train.", residual_cnn,
             dataset="digits", year=2015,
             paper="He et al., Deep residual learning for image recognition"),
    Template("alexnet", "AlexNet (Krizhevsky et al., 2012)",
             "torchvision's AlexNet: five convolutions, three max pools and three fully "
             "connected layers with dropout; 61.1 M parameters at 224×224, 1000 classes.",
             "ReLU, dropout and large convolution kernels: the network that started the "
             "deep learning boom. " + _CLASSIC_SIZE.format(size=64), alexnet,
             dataset="shapes", data=CLASSIC_DATA["alexnet"],
             project_options={"num_classes": 10, "input_size": 64},
             training=CLASSIC_TRAINING["alexnet"], year=2012,
             paper="Krizhevsky, Sutskever, Hinton, ImageNet classification with deep "
                   "convolutional neural networks"),
    Template("vgg11", "VGG-11 (Simonyan & Zisserman, 2014)",
             "torchvision's VGG-11 (configuration A): eight 3×3 convolutions in five stages "
             "and three fully connected layers; 132.9 M parameters.",
             "Depth from repeated 3×3 convolution blocks. " + _CLASSIC_SIZE.format(size=32),
             vgg11, dataset="shapes", project_options=CLASSIC_32,
             data=CLASSIC_DATA["vgg11"], training=CLASSIC_TRAINING["vgg11"],
             year=2014, paper="Simonyan & Zisserman, Very deep convolutional networks for "
                              "large-scale image recognition"),
    Template("vgg16", "VGG-16 (Simonyan & Zisserman, 2014)",
             "torchvision's VGG-16 (configuration D): thirteen 3×3 convolutions in five "
             "stages and three fully connected layers; 138.4 M parameters.",
             "Depth from repeated 3×3 convolution blocks; where the parameters of a CNN "
             "live (mostly in the first Linear layer). " + _CLASSIC_SIZE.format(size=32),
             vgg16, dataset="shapes", project_options=CLASSIC_32,
             data=CLASSIC_DATA["vgg16"], training=CLASSIC_TRAINING["vgg16"], year=2014,
             paper="Simonyan & Zisserman, Very deep convolutional networks for large-scale "
                   "image recognition"),
    Template("resnet18", "ResNet-18 (He et al., 2015)",
             "torchvision's ResNet-18: a 7×7 stem and eight BasicBlocks with batch norm and "
             "1×1 downsampling shortcuts; 11.7 M parameters.",
             "Residual learning, batch normalisation and global average pooling. "
             + _CLASSIC_SIZE.format(size=32), resnet18, dataset="shapes",
             project_options=CLASSIC_32, training=CLASSIC_TRAINING["resnet18"], year=2015,
             paper="He et al., Deep residual learning for image recognition",
             canvas={"collapsed": ["layer1", "layer2", "layer3", "layer4"]}),
    Template("nin", "Network in Network (Lin et al., 2013)",
             "Blocks of one k×k and two 1×1 convolutions; the last block outputs one channel "
             "per class and global average pooling replaces the fully connected layers.",
             "1×1 convolutions as per-pixel MLPs; global average pooling.", nin,
             dataset="digits", year=2013, paper="Lin, Chen, Yan, Network in network"),
    Template("densenet_small", "Small DenseNet (Huang et al., 2017)",
             "Two dense blocks of four BN-ReLU-conv layers, each concatenating 12 new "
             "channels onto all earlier ones, joined by a transition layer.",
             "Dense connectivity (Concat) and transition layers.", densenet_small,
             dataset="digits", year=2017,
             paper="Huang et al., Densely connected convolutional networks"),
    Template("googlenet_small", "GoogLeNet-style Inception network (Szegedy et al., 2014)",
             "A convolution stem and three Inception blocks with GoogLeNet's 3a, 3b and 4a "
             "widths, then global average pooling.",
             "Multi-branch blocks, 1×1 bottlenecks and channel concatenation.",
             googlenet_small, dataset="digits", year=2014,
             paper="Szegedy et al., Going deeper with convolutions"),
    Template("rnn_classifier", "RNN sequence classifier", _SEQ_TEXT.format(cell="RNN"),
             "Embeddings, recurrent hidden state and picking the last time step.",
             rnn_classifier, dataset="seq_tokens", year=1990, paper="Elman, Finding structure "
             "in time"),
    Template("lstm_classifier", "LSTM sequence classifier", _SEQ_TEXT.format(cell="LSTM"),
             "Gated memory cells that keep gradients alive over long sequences.",
             lstm_classifier, dataset="seq_tokens", year=1997,
             paper="Hochreiter & Schmidhuber, Long short-term memory"),
    Template("gru_classifier", "GRU sequence classifier", _SEQ_TEXT.format(cell="GRU"),
             "Update and reset gates: a lighter LSTM.", gru_classifier, dataset="seq_tokens",
             year=2014, paper="Cho et al., Learning phrase representations using RNN "
                              "encoder-decoder for statistical machine translation"),
)}


DEFAULT_SOURCE = "digits"  # what a blank network trains on until the student picks data


def blank_project() -> Project:
    """File > New Blank Network: an Input sized for the default data, an Output, and the
    default data source stored, so F5 trains as soon as layers join the two."""
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [1, 28, 28]}, "image", (0.0, 0.0))
    doc.add_node("Output", {}, "output", (0.0, 3 * ROW))
    return Project(doc, name="Untitled", data={"source": DEFAULT_SOURCE})


def get_template(template_id: str) -> Template:
    try:
        return TEMPLATES[template_id]
    except KeyError:
        known = ", ".join(TEMPLATES)
        raise KeyError(f"unknown template {template_id!r}; known templates: {known}") from None


def build_template(template_id: str, **options: Any) -> NetworkDocument:
    """The template's document; `options` override its builder's keyword defaults."""
    template = get_template(template_id)
    unknown = sorted(set(options) - set(template.options))
    if unknown:
        allowed = ", ".join(template.options) or "none"
        raise KeyError(f"template {template_id!r} has no option {unknown[0]!r} "
                       f"(options: {allowed})")
    return template.build(**options)
