"""Incremental shape inference with early stop: after any sequence of edits its results
equal a fresh inference exactly, and it recomputes no further than results change."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from app.core.graph import Change, DocumentError, NetworkDocument
from app.core.params import BOOL, INT, TUPLE
from app.core.shapes import ShapeInference, infer_shapes
from app.core.templates import build_template

LAYERS = ["ReLU", "Conv2d", "BatchNorm2d", "MaxPool2d", "Linear", "Flatten", "Dropout",
          "Add", "AdaptiveAvgPool2d", "Embedding", "LSTM"]
NAMES = ["renamed", "stem", "conv1", "x1", "pool", "unpool"]


def unpool_network() -> NetworkDocument:
    """A MaxUnpool2d reads the shape its MaxPool2d pooled, two nodes upstream of it."""
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [1, 8, 8]}, name="image")
    doc.add_node("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, name="conv")
    doc.add_node("MaxPool2d", {"kernel_size": 2, "return_indices": True}, name="pool")
    doc.add_node("MaxUnpool2d", {"kernel_size": 2}, name="unpool")
    doc.add_node("Output", name="restored")
    doc.chain("image", "conv", "pool")
    doc.connect("pool", "out", "unpool", "in")
    doc.connect("pool", "indices", "unpool", "indices")
    doc.chain("unpool", "restored")
    return doc


def two_sources_network() -> NetworkDocument:
    """Two same-shape values, feature maps (conv) and not (a reshaped vector), either of
    which a ReLU before a Linear may read: rewiring it changes no shape, only whether the
    Linear should advise a Flatten."""
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [1, 8, 8]}, name="image")
    doc.add_node("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, name="conv")
    doc.add_node("Input", {"shape": [256]}, name="vector")
    doc.add_node("Reshape", {"shape": [4, 8, 8]}, name="grid")
    doc.add_node("ReLU", name="relu")
    doc.add_node("Linear", {"out_features": 3}, name="fc")
    doc.add_node("Output", name="scores")
    doc.chain("image", "conv")
    doc.chain("vector", "grid", "relu", "fc", "scores")
    return doc


NETWORKS = {"unpool": unpool_network, "two_sources": two_sources_network}


def network(template: str) -> NetworkDocument:
    return NETWORKS[template]() if template in NETWORKS else build_template(template)


def assert_matches_fresh(engine: ShapeInference, previous: dict, replaced: set[str]) -> None:
    """engine.infer() equals a fresh inference; `changed` lists exactly the names whose
    result differs from `previous` (or whose node was removed or renamed away since, and
    so lost its result); each node was recomputed once, in topological order."""
    results = engine.infer()
    fresh = infer_shapes(engine.doc)
    assert results.keys() == fresh.keys()
    for name, result in fresh.items():
        assert results[name] == result, name
    assert engine.changed == {n for n in fresh if previous.get(n) != fresh[n] or n in replaced}
    assert engine.changed <= set(engine.recomputed)
    rank = engine.doc.topological_rank()
    ranks = [rank[n] for n in engine.recomputed]
    assert ranks == sorted(set(ranks))


class IncrementalMachine(RuleBasedStateMachine):
    """Random edits, with inference run after some of them (edits pile up in between)."""

    @initialize(template=st.sampled_from(["resnet18", "lenet5", "residual_cnn", "unpool",
                                          "inception_mnist", "lstm_classifier",
                                          "two_sources"]))
    def open(self, template: str) -> None:
        self.doc = network(template)
        self.engine = ShapeInference(self.doc)
        self.previous = dict(self.engine.infer())
        self.replaced: set[str] = set()
        self.doc.subscribe(self._note_replaced)

    def _note_replaced(self, change: Change) -> None:
        if change.kind == "node_removed":
            self.replaced.update(change.nodes)
        elif change.kind == "node_renamed":
            self.replaced.add(change.detail["old"])

    def has_nodes(self) -> bool:
        return bool(self.doc.graph)

    def pick(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.doc.graph)))

    def attempt(self, edit, *args) -> None:
        try:
            edit(*args)
        except DocumentError:
            pass  # a refused edit changes nothing; the next check still holds

    @precondition(has_nodes)
    @rule(data=st.data())
    def set_param(self, data: st.DataObject) -> None:
        name = self.pick(data)
        params = [p for p in self.doc.node(name).spec.params if p.kind in (INT, TUPLE, BOOL)]
        if params:
            p = data.draw(st.sampled_from(params))
            value = data.draw(st.booleans() if p.kind == BOOL else st.integers(0, 6))
            self.attempt(self.doc.set_params, name, {p.name: value})

    @rule(data=st.data())
    def set_input(self, data: st.DataObject) -> None:
        inputs = sorted(n.name for n in self.doc.nodes if n.type == "Input")
        if inputs:
            name = data.draw(st.sampled_from(inputs))
            shape = [max(1, d + data.draw(st.integers(-2, 2)))
                     for d in self.doc.node(name).params["shape"]]
            dtype = data.draw(st.sampled_from(["float32", "int64"]))
            self.attempt(self.doc.set_params, name, {"shape": shape, "dtype": dtype})

    @rule(data=st.data(), layer=st.sampled_from(LAYERS))
    def insert(self, data: st.DataObject, layer: str) -> None:
        """A layer dropped on a wire: the wire now runs through it."""
        edges = sorted(self.doc.edges, key=repr)
        if edges:
            edge = data.draw(st.sampled_from(edges))
            new = self.doc.add_node(layer).name
            self.doc.disconnect(edge)
            self.attempt(self.doc.connect, edge.src, edge.src_port, new,
                         self.doc.node(new).input_ports()[0])
            self.attempt(self.doc.connect, new, "out", edge.dst, edge.dst_port)

    @rule(data=st.data())
    def rewire(self, data: st.DataObject) -> None:
        """A node's first input moved to another value of the same shape: no shape changes
        downstream, but what kind of value it is (feature maps or not) may."""
        results = infer_shapes(self.doc)
        wired = sorted((e for e in self.doc.edges if e.src in results), key=repr)
        if not wired:
            return
        edge = data.draw(st.sampled_from(wired))
        shape = results[edge.src].outputs.get(edge.src_port)
        kind = edge.src_port in results[edge.src].feature_maps
        others = sorted((n, p) for n, r in results.items() for p, s in r.outputs.items()
                        if s == shape and (n, p) != (edge.src, edge.src_port)
                        and p in self.doc.node(n).output_ports())
        # the other kind first: that is the change only the feature-map flag carries
        others = [o for o in others if (o[1] in results[o[0]].feature_maps) != kind] or others
        if shape is not None and others:
            src, port = data.draw(st.sampled_from(others))
            self.doc.disconnect(edge)
            self.attempt(self.doc.connect, src, port, edge.dst, edge.dst_port)

    @rule(layer=st.sampled_from(LAYERS))
    def add(self, layer: str) -> None:
        self.doc.add_node(layer)

    @precondition(has_nodes)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        self.doc.remove_node(self.pick(data))

    @precondition(has_nodes)
    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        src, dst = self.pick(data), self.pick(data)
        outs, ins = self.doc.node(src).output_ports(), self.doc.node(dst).input_ports()
        if outs and ins:
            self.attempt(self.doc.connect, src, data.draw(st.sampled_from(outs)), dst,
                         data.draw(st.sampled_from(ins)))

    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        edges = sorted(self.doc.edges, key=repr)
        if edges:
            self.doc.disconnect(data.draw(st.sampled_from(edges)))

    @precondition(has_nodes)
    @rule(data=st.data(), new=st.sampled_from(NAMES))
    def rename(self, data: st.DataObject, new: str) -> None:
        self.attempt(self.doc.rename_node, self.pick(data), new)

    @precondition(has_nodes)
    @rule(data=st.data(), block=st.sampled_from(["block", "layer1.0", None]))
    def set_path(self, data: st.DataObject, block: str | None) -> None:
        name = self.pick(data)
        self.attempt(self.doc.set_path, name, f"{block}.{name}" if block else None)

    @precondition(has_nodes)
    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        self.doc.move_node(self.pick(data), (1.0, 2.0))

    @rule()
    def check(self) -> None:
        assert_matches_fresh(self.engine, self.previous, self.replaced)
        self.previous, self.replaced = dict(self.engine.results), set()

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.check()


class FeatureMapMachine(IncrementalMachine):
    """The same edits from a network where a rewire can change only the feature-map flag,
    so a result that does not carry it down to the Linear's advice is caught every run."""

    @initialize(template=st.just("two_sources"))
    def open(self, template: str) -> None:
        super().open(template)

    @rule(data=st.data())
    def rewire(self, data: st.DataObject) -> None:
        """Checked at once, before another edit recomputes the Linear for its own reason."""
        super().rewire(data)
        self.check()


TestIncrementalInference = IncrementalMachine.TestCase
TestFeatureMapFlag = FeatureMapMachine.TestCase
TestIncrementalInference.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestFeatureMapFlag.settings = settings(
    max_examples=300, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])


def test_same_shape_param_edit_recomputes_that_node_only() -> None:
    doc = build_template("resnet18")
    engine = ShapeInference(doc)
    engine.infer()
    doc.set_params("layer2_0_conv1", {"bias": True})  # new resolved params, same output
    engine.infer()
    assert engine.recomputed == ["layer2_0_conv1"]
    assert engine.changed == {"layer2_0_conv1"}
    assert engine.results["layer2_0_conv1"].resolved["bias"] is True
    doc.set_params("layer2_0_conv1", {"bias": True})  # the same value again: nothing differs
    engine.infer()
    assert engine.recomputed == ["layer2_0_conv1"]
    assert engine.changed == set()


def test_output_change_recomputes_direct_successors_only_while_they_change() -> None:
    """VGG's last pooling gives 6x6 instead of 7x7; the adaptive pooling after it still
    gives 7x7, so the classifier is not recomputed."""
    doc = build_template("vgg11")
    engine = ShapeInference(doc)
    engine.infer()
    doc.set_params("pool5", {"kernel_size": 3})
    engine.infer()
    assert engine.recomputed == ["pool5", "avgpool"]
    assert engine.changed == {"pool5"}
    assert engine.results["pool5"].shape == (512, 6, 6)
    assert engine.results == infer_shapes(doc)


def test_shape_change_stops_where_shapes_agree_again() -> None:
    """A stem with stride 1 changes every feature map down to the adaptive pooling, which
    still gives 512x1x1: nothing after it is recomputed."""
    doc = build_template("resnet18")
    engine = ShapeInference(doc)
    engine.infer()
    doc.set_params("conv1", {"stride": 1})
    engine.infer()
    order = doc.topological_order()
    assert engine.recomputed == order[order.index("conv1"):order.index("avgpool") + 1]
    assert engine.changed == set(engine.recomputed) - {"avgpool"}
    assert engine.results["layer4_1_relu2"].shape == (512, 14, 14)
    assert engine.results == infer_shapes(doc)


def test_unpool_sees_a_change_its_pool_hides() -> None:
    """9x9 and 8x8 both pool to 4x4, so what the unpool reads of the pool stays the same,
    but it restores 8x8 and must now report that the indices do not fit."""
    doc = unpool_network()
    engine = ShapeInference(doc)
    assert engine.infer()["unpool"].shape == (4, 8, 8)
    doc.set_params("conv", {"kernel_size": 2})
    engine.infer()
    assert engine.results["conv"].shape == (4, 9, 9)
    assert engine.results["pool"].outputs == {"out": (4, 4, 4), "indices": (4, 4, 4)}
    assert engine.results["unpool"].error.startswith("unpool restores 8×8 but pool pooled a 9×9")
    assert engine.results == infer_shapes(doc)


def test_rewiring_a_pool_input_reaches_its_unpool() -> None:
    doc = unpool_network()
    doc.add_node("Input", {"shape": [4, 9, 9]}, name="wide")
    engine = ShapeInference(doc)
    engine.infer()
    doc.disconnect(doc.incoming("pool")["in"])
    doc.connect("wide", "out", "pool", "in")
    engine.infer()
    # 4x9x9 pools to 4x4x4, as 4x8x8 did
    assert engine.results["pool"].outputs == {"out": (4, 4, 4), "indices": (4, 4, 4)}
    assert engine.results["unpool"].error
    assert engine.results == infer_shapes(doc)


def test_rewiring_to_feature_maps_of_the_same_shape_refreshes_the_flatten_advice() -> None:
    doc = two_sources_network()
    engine = ShapeInference(doc)
    assert engine.infer()["fc"].warnings == []
    assert engine.results["grid"].feature_maps == frozenset()
    doc.disconnect(doc.incoming("relu")["in"])
    doc.connect("conv", "out", "relu", "in")
    engine.infer()
    assert engine.results["relu"].shape == (4, 8, 8)
    assert engine.results["relu"].feature_maps == {"out"}
    assert "Flatten" in " ".join(engine.results["fc"].warnings)
    assert engine.recomputed == ["relu", "fc"]
    assert engine.results == infer_shapes(doc)
    doc.set_params("conv", {"bias": False})  # same flag, same shape: conv alone
    engine.infer()
    assert engine.recomputed == ["conv"]


def test_rename_refreshes_the_messages_that_name_it() -> None:
    doc = build_template("lenet5")
    doc.set_params("fc1", {"in_features": 7})
    engine = ShapeInference(doc)
    assert "from flatten" in engine.infer()["fc1"].error
    doc.rename_node("flatten", "to_vector")
    engine.infer()
    assert engine.recomputed == ["to_vector", "fc1"]
    assert "from to_vector" in engine.results["fc1"].error
    assert engine.results == infer_shapes(doc)


def test_dtype_change_of_the_same_shape_reaches_the_next_layer() -> None:
    doc = build_template("lstm_classifier")
    engine = ShapeInference(doc)
    engine.infer()
    doc.set_params("tokens", {"dtype": "float32"})  # still 12 values per sample
    engine.infer()
    assert engine.results["embedding"].error == (
        "embedding needs int64 token ids but gets float32 from tokens: set the Input's dtype "
        "to int64")
    assert engine.recomputed == ["tokens", "embedding", "lstm", "fc", "logits"]
