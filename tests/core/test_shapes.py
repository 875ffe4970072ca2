"""Shape inference: per-node errors in plain words, fixes, and incremental updates."""

from __future__ import annotations

from app.core.graph import NetworkDocument
from app.core.shapes import ShapeInference, infer_shapes, network_problems
from app.core.templates import build_template


def chain(*layers: tuple[str, dict], shape: list[int] | None = None) -> NetworkDocument:
    doc = NetworkDocument()
    names = [doc.add_node("Input", {"shape": shape or [1, 28, 28]}).name]
    for layer_type, params in layers:
        names.append(doc.add_node(layer_type, params).name)
    names.append(doc.add_node("Output").name)
    doc.chain(*names)
    return doc


def test_lenet_shapes_and_formula_with_numbers() -> None:
    results = infer_shapes(build_template("lenet5"))
    assert results["conv1"].shape == (6, 28, 28)
    assert results["pool1"].shape == (6, 14, 14)
    assert results["conv2"].shape == (16, 10, 10)
    assert results["flatten"].shape == (400,)
    assert results["fc1"].resolved["in_features"] == 400
    assert results["logits"].shape == (10,)
    height_and_width = ["H_out = ⌊(14 − 5 + 2·0)/1⌋ + 1 = 10", "W_out = ⌊(14 − 5 + 2·0)/1⌋ + 1 = 10"]
    assert results["conv2"].explanation.splitlines() == height_and_width


def test_kernel_larger_than_input() -> None:
    doc = chain(("Conv2d", {"kernel_size": 7}), shape=[3, 5, 5])
    error = infer_shapes(doc)["conv1"].error
    assert error == ("conv1: the 7×7 kernel is larger than its 5×5 input from input1 (with "
                     "padding 0): reduce kernel_size, add padding, or remove a pooling layer "
                     "upstream")


def test_explicit_in_features_mismatch_names_the_fix() -> None:
    doc = chain(("Flatten", {}), ("Linear", {"in_features": 320, "out_features": 10}),
                shape=[20, 5, 5])
    result = infer_shapes(doc)["fc1"]
    assert result.error == ("fc1 expects 320 input features but gets 500 from flatten1: set "
                            "in_features=500 or leave it on auto")
    assert [(f.kind, f.param, f.value) for f in result.fixes] == [
        ("set_param", "in_features", 500), ("set_param", "in_features", None)]


def test_conv_fed_a_flat_vector_suggests_a_reshape() -> None:
    doc = chain(("Conv2d", {}), shape=[784])
    result = infer_shapes(doc)["conv1"]
    assert result.error == ("conv1 expects 3-D (channels × height × width) input but gets 784 "
                            "from input1: insert a Reshape to 1×28×28")
    fix = result.fixes[0]
    assert (fix.kind, fix.layer_type, fix.layer_params) == ("insert", "Reshape",
                                                             {"shape": [1, 28, 28]})


def test_linear_on_feature_maps_warns_and_offers_flatten() -> None:
    doc = chain(("Conv2d", {"out_channels": 64, "kernel_size": 1}), ("Linear", {}),
                shape=[1, 7, 7])
    result = infer_shapes(doc)["fc1"]
    assert result.ok and result.shape == (64, 7, 10)
    assert "insert a Flatten to use all 3136 features" in result.warnings[0]
    assert result.fixes[0].layer_type == "Flatten"


def concat_doc(pad_b: int) -> NetworkDocument:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [3, 16, 16]}, name="image")
    doc.add_node("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, name="a")
    doc.add_node("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": pad_b}, name="b")
    doc.add_node("Concat", name="cat")
    doc.add_node("Output", name="out1")
    doc.chain("image", "a")
    doc.chain("image", "b")
    doc.connect("a", "out", "cat", "in1")
    doc.connect("b", "out", "cat", "in2")
    doc.chain("cat", "out1")
    return doc


def test_concat_shapes() -> None:
    assert infer_shapes(concat_doc(1))["cat"].shape == (12, 16, 16)
    result = infer_shapes(concat_doc(0))["cat"]
    assert result.error == ("cat joins along dim 1, so all other dimensions must match: in1 "
                            "(from a, 8×16×16) vs in2 (from b, 4×14×14); change the layers "
                            "feeding it so they agree")
    fix = result.fixes[0]
    assert (fix.layer_type, fix.layer_params, fix.port) == (
        "AdaptiveAvgPool2d", {"output_size": [16, 16]}, "in2")


def test_add_with_different_channels_offers_a_1x1_convolution() -> None:
    doc = concat_doc(1)
    doc.remove_node("cat")
    doc.add_node("Add", name="sum")
    doc.connect("a", "out", "sum", "in1")
    doc.connect("b", "out", "sum", "in2")
    doc.chain("sum", "out1")
    result = infer_shapes(doc)["sum"]
    assert result.error.startswith("sum cannot add in1 (from a, 8×16×16) and in2 (from b, "
                                   "4×16×16): shapes must match (or broadcast); set b's "
                                   "out_channels=8 or insert a 1×1 convolution on in2")
    assert result.fixes[0].layer_params == {"out_channels": 8, "kernel_size": 1}


def test_dangling_input_and_blocked_downstream() -> None:
    doc = chain(("Conv2d", {}), ("ReLU", {}))
    doc.disconnect(doc.incoming("conv1")["in"])
    results = infer_shapes(doc)
    assert results["conv1"].error == ("conv1 has no input: connect a layer's output to it")
    assert results["relu1"].blocked and results["relu1"].error is None
    messages = [p.message for p in network_problems(doc, results) if p.severity == "error"]
    assert messages == ["conv1 has no input: connect a layer's output to it"]


def test_whole_network_problems() -> None:
    doc = NetworkDocument()
    doc.add_node("ReLU")
    problems = network_problems(doc, infer_shapes(doc))
    messages = [p.message for p in problems if p.severity == "error"]
    assert "the network has no Input node: add one and set its shape" in messages
    assert any("no Output node" in m for m in messages)


def test_impossible_settings_give_messages_not_exceptions() -> None:
    cases = [
        (("GroupNorm", {"num_groups": 3}), "gn1: 16 channels cannot be split into 3 groups"),
        (("Reshape", {"shape": [5, 5]}),
         "reshape1 cannot reshape 16×8×8 (1024 values) into 5×5"),
        (("Softmax", {"dim": 0}), "softmax1: dim=0 is the batch dimension"),
        (("Conv2d", {"groups": 3}), "conv2: in_channels=16 is not divisible by groups=3"),
        (("MaxPool2d", {"kernel_size": 2, "padding": 2}), "pool1: padding 2 is more than half"),
        (("LSTM", {}),
         "lstm1 expects a 2-D input (sequence × features) input but gets 16×8×8"),
        (("Embedding", {}), "embed1 needs int64 token ids but gets float32"),
        (("BatchNorm2d", {"num_features": 3}), "bn1 expects 3 input channels but gets 16"),
    ]
    for (layer_type, params), message in cases:
        doc = chain(("Conv2d", {"out_channels": 16, "kernel_size": 1}), (layer_type, params),
                    shape=[1, 8, 8])
        results = infer_shapes(doc)
        name = [n for n in doc.topological_order() if doc.node(n).type == layer_type][-1]
        assert results[name].error and results[name].error.startswith(message), (
            layer_type, results[name].error)


def test_transposed_convolution_output_padding() -> None:
    doc = chain(("ConvTranspose2d", {"stride": 1, "output_padding": 2}), shape=[1, 8, 8])
    assert infer_shapes(doc)["deconv1"].error == (
        "deconv1: output padding 2 must be smaller than stride (1) or dilation (1); lower "
        "output_padding or raise stride")
    doc.set_params("deconv1", {"stride": 3})
    assert infer_shapes(doc)["deconv1"].shape == (16, 26, 26)


def test_torch_errors_fall_back_to_a_one_line_message() -> None:
    doc = chain(("Conv2d", {"out_channels": 16}), ("PReLU", {"num_parameters": 5}),
                shape=[1, 8, 8])
    error = infer_shapes(doc)["prelu1"].error
    assert error == ("prelu1: Mismatch of parameter numbers and input channel size. Found "
                     "parameter numbers = 5 and channel size = 16.")


def test_incremental_inference_stops_where_results_stop_changing() -> None:
    doc = build_template("lenet5")
    engine = ShapeInference(doc)
    engine.infer()
    assert len(engine.recomputed) == len(doc.nodes)
    doc.set_params("conv2", {"out_channels": 32})
    results = engine.infer()
    # fc1's in_features follows (its result changes) but it still gives 120 features, so
    # nothing below it is recomputed
    assert engine.recomputed == ["conv2", "sigmoid2", "pool2", "flatten", "fc1"]
    assert engine.changed == {"conv2", "sigmoid2", "pool2", "flatten", "fc1"}
    assert results["fc1"].resolved["in_features"] == 32 * 5 * 5
    doc.move_node("conv1", (5, 5))
    engine.infer()
    assert engine.recomputed == []
    assert engine.changed == set()


def test_incremental_matches_full_inference_after_edits() -> None:
    doc = build_template("residual_cnn")
    engine = ShapeInference(doc)
    engine.infer()
    doc.set_params("conv2", {"out_channels": 24})
    doc.rename_node("fc", "classifier")
    doc.remove_node("block1_relu2")
    doc.connect("block1_add", "out", "conv2", "in")
    incremental = engine.infer()
    full = infer_shapes(doc)
    assert set(incremental) == set(full)
    for name in full:
        assert (incremental[name].outputs, incremental[name].error) == (
            full[name].outputs, full[name].error), name
    assert full["block2_add"].error.startswith("block2_add cannot add")


def test_common_layers_are_inferred_without_importing_torch() -> None:
    """The editor shows shapes before torch has loaded (it takes seconds to import)."""
    import subprocess
    import sys

    code = ("import sys\nfrom app.core.templates import build_template\n"
            "from app.core.shapes import infer_shapes\n"
            "r = infer_shapes(build_template('residual_cnn'))\n"
            "print(r['fc'].shape, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["(10,)", "False"]


def test_lenet_without_flatten_warns_through_pooling_and_relu() -> None:
    doc = chain(("Conv2d", {"out_channels": 6, "kernel_size": 5}), ("ReLU", {}),
                ("MaxPool2d", {"kernel_size": 2}), ("BatchNorm2d", {}), ("Linear", {}),
                shape=[1, 28, 28])
    result = infer_shapes(doc)["fc1"]
    assert result.warnings == [("fc1 acts on the last dimension only of 6×12×12; insert a "
                                "Flatten to use all 864 features")]


def test_linear_on_channels_last_tokens_is_silent() -> None:
    doc = chain(("Conv2d", {"out_channels": 8, "kernel_size": 4, "stride": 4}),
                ("Permute", {"dims": [2, 3, 1]}), ("LayerNorm", {}), ("Linear", {}),
                shape=[3, 16, 16])
    result = infer_shapes(doc)["fc1"]
    assert result.ok and result.shape == (4, 4, 10) and result.warnings == []


def test_rank_message_names_a_layout_only_for_channels_first_layers() -> None:
    tokens = infer_shapes(chain(("ShiftedWindowAttention", {}), shape=[49, 96]))["attn1"]
    assert tokens.error == "attn1 expects 3-D input but gets 49×96 from input1"
    conv = infer_shapes(chain(("Conv2d", {}), shape=[49, 96]))["conv1"]
    assert conv.error == ("conv1 expects 3-D (channels × height × width) input but gets "
                          "49×96 from input1")
