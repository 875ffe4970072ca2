"""Compiler: chains become nn.Sequential, DAGs a GraphModule equal to hand-written torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.core.compiler import (
    CompileError,
    GraphModule,
    compile_document,
    example_inputs,
    node_module,
)
from app.core.graph import NetworkDocument
from app.core.shapes import infer_shapes
from app.core.templates import TEMPLATES, build_template


def test_chain_compiles_to_named_sequential() -> None:
    model = compile_document(build_template("lenet5"))
    assert isinstance(model, nn.Sequential)
    assert list(dict(model.named_children()))[:3] == ["conv1", "sigmoid1", "pool1"]
    assert "fc3.weight" in model.state_dict()


class HandResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


def residual_doc() -> NetworkDocument:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [8, 12, 12]}, name="x_in")
    doc.add_node("Conv2d", {"out_channels": 8, "padding": 1}, name="conv1")
    doc.add_node("BatchNorm2d", name="bn1")
    doc.add_node("ReLU", name="relu1")
    doc.add_node("Conv2d", {"out_channels": 8, "padding": 1}, name="conv2")
    doc.add_node("BatchNorm2d", name="bn2")
    doc.add_node("Add", name="add")
    doc.add_node("ReLU", name="relu2")
    doc.add_node("Output", name="result")
    doc.chain("x_in", "conv1", "bn1", "relu1", "conv2", "bn2")
    doc.connect("bn2", "out", "add", "in1")
    doc.connect("x_in", "out", "add", "in2")
    doc.chain("add", "relu2", "result")
    return doc


def _assert_same_forward_and_backward(ours: nn.Module, reference: nn.Module,
                                      x: torch.Tensor) -> None:
    ours.load_state_dict(reference.state_dict(), strict=True)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(reference, mode)()
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        a, b = ours(xa), reference(xb)
        assert torch.allclose(a, b, atol=1e-6)
        a.square().sum().backward()
        b.square().sum().backward()
        assert torch.allclose(xa.grad, xb.grad, atol=1e-5)
        theirs = dict(reference.named_parameters())
        for name, param in ours.named_parameters():
            assert torch.allclose(param.grad, theirs[name].grad, atol=1e-4), name
        ours.zero_grad()
        reference.zero_grad()


def test_residual_block_matches_hand_written_module() -> None:
    torch.manual_seed(0)
    model = compile_document(residual_doc())
    assert isinstance(model, GraphModule)
    reference = HandResidual()
    assert set(model.state_dict()) == set(reference.state_dict())
    _assert_same_forward_and_backward(model, reference, torch.randn(4, 8, 12, 12))


class HandInception(nn.Module):
    """The lecture's InceptionA: 1×1, 5×5, double 3×3 and pooled branches -> 88 channels."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.b1x1 = nn.Conv2d(c, 16, 1)
        self.b5x5_1 = nn.Conv2d(c, 16, 1)
        self.b5x5_2 = nn.Conv2d(16, 24, 5, padding=2)
        self.b3x3_1 = nn.Conv2d(c, 16, 1)
        self.b3x3_2 = nn.Conv2d(16, 24, 3, padding=1)
        self.b3x3_3 = nn.Conv2d(24, 24, 3, padding=1)
        self.bpool = nn.Conv2d(c, 24, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.b1x1(x), self.b5x5_2(self.b5x5_1(x)),
                          self.b3x3_3(self.b3x3_2(self.b3x3_1(x))), self.bpool(pooled)], dim=1)


def inception_doc(c: int) -> NetworkDocument:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [c, 14, 14]}, name="image")
    doc.add_node("Conv2d", {"out_channels": 16, "kernel_size": 1}, name="b1x1")
    doc.add_node("Conv2d", {"out_channels": 16, "kernel_size": 1}, name="b5x5_1")
    doc.add_node("Conv2d", {"out_channels": 24, "kernel_size": 5, "padding": 2}, name="b5x5_2")
    doc.add_node("Conv2d", {"out_channels": 16, "kernel_size": 1}, name="b3x3_1")
    doc.add_node("Conv2d", {"out_channels": 24, "kernel_size": 3, "padding": 1}, name="b3x3_2")
    doc.add_node("Conv2d", {"out_channels": 24, "kernel_size": 3, "padding": 1}, name="b3x3_3")
    doc.add_node("AvgPool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, name="pool")
    doc.add_node("Conv2d", {"out_channels": 24, "kernel_size": 1}, name="bpool")
    doc.add_node("Concat", {"num_inputs": 4}, name="cat")
    doc.add_node("Output", name="result")
    doc.chain("image", "b1x1")
    doc.chain("image", "b5x5_1", "b5x5_2")
    doc.chain("image", "b3x3_1", "b3x3_2", "b3x3_3")
    doc.chain("image", "pool", "bpool")
    for port, src in zip(("in1", "in2", "in3", "in4"), ("b1x1", "b5x5_2", "b3x3_3", "bpool")):
        doc.connect(src, "out", "cat", port)
    doc.chain("cat", "result")
    return doc


def test_inception_block_matches_hand_written_module() -> None:
    torch.manual_seed(0)
    doc = inception_doc(10)
    assert infer_shapes(doc)["cat"].shape == (88, 14, 14)
    _assert_same_forward_and_backward(compile_document(doc), HandInception(10),
                                      torch.randn(3, 10, 14, 14))


def test_concat_port_order_is_the_channel_order() -> None:
    doc = inception_doc(3)
    model = compile_document(doc).eval()
    x = torch.randn(1, 3, 14, 14)
    first = model(x)
    doc.disconnect(doc.incoming("cat")["in1"])
    doc.disconnect(doc.incoming("cat")["in4"])
    doc.connect("bpool", "out", "cat", "in1")
    doc.connect("b1x1", "out", "cat", "in4")
    swapped = compile_document(doc).eval()
    swapped.load_state_dict(model.state_dict())
    second = swapped(x)
    assert torch.equal(first[:, :16], second[:, -16:])
    assert torch.equal(first[:, -24:], second[:, :24])


def test_maxpool_indices_feed_maxunpool() -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [2, 8, 8]}, name="image")
    doc.add_node("MaxPool2d", {"return_indices": True}, name="pool")
    doc.add_node("MaxUnpool2d", name="unpool")
    doc.add_node("Output", name="result")
    doc.chain("image", "pool")
    doc.connect("pool", "out", "unpool", "in")
    doc.connect("pool", "indices", "unpool", "indices")
    doc.chain("unpool", "result")
    x = torch.randn(3, 2, 8, 8)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert torch.equal(compile_document(doc)(x), F.max_unpool2d(out, idx, 2))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("output", ["sequence", "last"])
def test_recurrent_output_selection(kind: str, output: str) -> None:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [7], "dtype": "int64"}, name="tokens")
    doc.add_node("Embedding", {"num_embeddings": 30, "embedding_dim": 6}, name="embed")
    doc.add_node(kind, {"hidden_size": 5, "num_layers": 2, "bidirectional": True,
                        "output": output}, name="rnn")
    doc.add_node("Output", name="result")
    doc.chain("tokens", "embed", "rnn", "result")
    torch.manual_seed(0)
    model = compile_document(doc).eval()
    tokens = torch.randint(0, 30, (4, 7))
    reference = getattr(nn, kind)(6, 5, num_layers=2, bidirectional=True, batch_first=True)
    reference.load_state_dict({k.removeprefix("rnn."): v for k, v in model.state_dict().items()
                               if k.startswith("rnn.")})
    expected = reference(model.embed(tokens))[0]
    if output == "last":
        expected = expected[:, -1]
    got = model(tokens)
    assert torch.equal(got, expected)
    assert tuple(got.shape[1:]) == infer_shapes(doc)["rnn"].shape


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_compiled_output_shapes_equal_inferred_shapes(template_id: str) -> None:
    doc = build_template(template_id)
    results = infer_shapes(doc)
    model = compile_document(doc).eval()
    seen: dict[str, tuple[int, ...]] = {}
    hooks = [node_module(model, doc, node.name).register_forward_hook(
        lambda m, i, o, name=node.name: seen.__setitem__(name, tuple(
            (o[0] if isinstance(o, tuple) else o).shape[1:])))
        for node in doc.nodes if node.type not in ("Input", "Output")
        and node.spec.category != "Recurrent"]
    with torch.no_grad():
        out = model(*example_inputs(doc, batch=1 if template_id.startswith(
            ("alexnet", "vgg", "resnet18")) else 2))
    for hook in hooks:
        hook.remove()
    assert seen and all(results[name].shape == shape for name, shape in seen.items())
    assert len(seen) == len([n for n in doc.nodes if n.type not in ("Input", "Output")
                             and n.spec.category != "Recurrent"])
    output = next(n.name for n in doc.nodes if n.type == "Output")
    assert tuple(out.shape[1:]) == results[output].shape


def test_compile_refuses_a_broken_network_with_every_problem() -> None:
    doc = build_template("lenet5")
    doc.set_params("fc1", {"in_features": 300})
    doc.remove_node("logits")
    with pytest.raises(CompileError) as info:
        compile_document(doc)
    messages = [p.message for p in info.value.problems]
    assert messages[0].startswith("fc1 expects 300 input features but gets 400")
    assert any("no Output node" in m for m in messages)


def test_module_paths_nest_layers_in_containers() -> None:
    doc = residual_doc()
    for name in ("conv1", "bn1", "relu1", "conv2", "bn2", "add", "relu2"):
        doc.set_path(name, f"block.0.{name}")
    model = compile_document(doc)
    assert isinstance(model, GraphModule)
    assert isinstance(model.block, nn.Sequential)
    assert type(model.block[0]).__name__ == "Block"
    assert "block.0.conv1.weight" in model.state_dict()
    assert node_module(model, doc, "bn2") is model.block[0].bn2
    torch.manual_seed(0)
    reference = HandResidual()
    flat = compile_document(residual_doc())
    flat.load_state_dict(reference.state_dict())
    model.load_state_dict({f"block.0.{k}": v for k, v in reference.state_dict().items()})
    x = torch.randn(2, 8, 12, 12)
    assert torch.equal(model(x), flat(x))


def test_chain_nests_only_when_each_container_is_contiguous() -> None:
    doc = build_template("lenet5")
    for i, name in enumerate(("conv1", "sigmoid1", "pool1")):
        doc.set_path(name, f"stem.{i}")
    model = compile_document(doc)
    assert isinstance(model, nn.Sequential) and isinstance(model.stem, nn.Sequential)
    assert list(dict(model.named_children()))[:2] == ["stem", "conv2"]
    doc.set_path("fc3", "stem.3")  # the stem no longer runs in one piece
    split = compile_document(doc)
    assert isinstance(split, GraphModule)
    split.load_state_dict({k.replace("fc3.", "stem.3."): v for k, v in
                           model.state_dict().items()}, strict=True)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(split(x), model(x))
