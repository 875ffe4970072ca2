"""Built-in architectures as documents, for the gallery and `python -m app new`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.graph import NetworkDocument

ROW = 110.0  # vertical distance between consecutive layers on the canvas
COLUMN = 240.0


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    teaches: str
    build: Callable[[], NetworkDocument]
    dataset: str = ""  # id of the offline data source it trains on by default
    task: str = "classification"

    def input_shape(self) -> list[int]:
        doc = self.build()
        return next(n.params["shape"] for n in doc.nodes if n.type == "Input")


class Builder:
    """Appends layers top to bottom; `then` wires each new layer to the previous one."""

    def __init__(self) -> None:
        self.doc = NetworkDocument()
        self.row = 0
        self.last: str | None = None

    def add(self, layer_type: str, name: str | None = None, column: float = 0.0,
            **params: Any) -> str:
        node = self.doc.add_node(layer_type, params, name=name, pos=(column * COLUMN,
                                                                    self.row * ROW))
        self.row += 1
        return node.name

    def then(self, layer_type: str, name: str | None = None, **params: Any) -> str:
        new = self.add(layer_type, name, **params)
        if self.last is not None:
            self.doc.connect(self.last, "out", new, "in")
        self.last = new
        return new

    def wire(self, src: str, dst: str, port: str = "in", src_port: str = "out") -> None:
        self.doc.connect(src, src_port, dst, port)


def linear_regression() -> NetworkDocument:
    b = Builder()
    b.then("Input", "features", shape=[2])
    b.then("Linear", "linear", out_features=1)
    b.then("Output", "prediction")
    return b.doc


def mlp() -> NetworkDocument:
    b = Builder()
    b.then("Input", "image", shape=[1, 28, 28])
    b.then("Flatten", "flatten")
    for i, width in enumerate((512, 256, 128, 64), start=1):
        b.then("Linear", f"fc{i}", out_features=width)
        b.then("ReLU", f"relu{i}")
    b.then("Linear", "fc5", out_features=10)
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


TEMPLATES: dict[str, Template] = {t.id: t for t in (
    Template("linear_regression", "Linear regression",
             "One Linear layer fitting y = Xw + b on two features.",
             "Linear models, MSE loss and gradient descent.", linear_regression,
             dataset="synthetic_linear", task="regression"),
    Template("mlp", "MNIST MLP 784-512-256-128-64-10",
             "A fully connected network on flattened 28×28 digits.",
             "Flatten, Linear layers, ReLU and cross-entropy.", mlp, dataset="digits28"),
    Template("lenet5", "LeNet-5 (LeCun et al., 1998)",
             "Two convolution + average-pooling stages and three fully connected layers "
             "with sigmoid activations, as in d2l.",
             "Convolution, pooling and how shapes shrink through a CNN.", lenet5,
             dataset="digits28"),
    Template("residual_cnn", "Small residual CNN (He et al., 2015)",
             "Two convolutions with pooling, each followed by a residual block whose input "
             "is added back to its output.",
             "Skip connections (Add) and why they help deep networks train.", residual_cnn,
             dataset="digits28"),
)}


def build_template(template_id: str) -> NetworkDocument:
    try:
        return TEMPLATES[template_id].build()
    except KeyError:
        known = ", ".join(TEMPLATES)
        raise KeyError(f"unknown template {template_id!r}; known templates: {known}") from None
