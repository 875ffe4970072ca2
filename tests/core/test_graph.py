"""NetworkDocument: names, wiring rules, notifications, serialisation."""

from __future__ import annotations

import pytest
import torch

from app.core.graph import RESERVED_NAMES, Change, DocumentError, NetworkDocument, module_path


def small_doc() -> NetworkDocument:
    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [1, 28, 28]})
    doc.add_node("Conv2d", {"out_channels": 8, "kernel_size": 5})
    doc.add_node("ReLU")
    doc.add_node("Output")
    doc.chain("input1", "conv1", "relu1", "output1")
    return doc


def test_names_are_readable_and_unique() -> None:
    doc = NetworkDocument()
    names = [doc.add_node(t).name for t in ("Conv2d", "Conv2d", "Linear", "ReLU", "Linear")]
    assert names == ["conv1", "conv2", "fc1", "relu1", "fc2"]
    with pytest.raises(DocumentError, match="already exists"):
        doc.add_node("Linear", name="fc1")


@pytest.mark.parametrize("bad", ["1conv", "conv-1", "class", "forward", "x y", "", "_hidden",
                                 "state_dict", "a" * 65])
def test_unsafe_names_are_refused(bad: str) -> None:
    with pytest.raises(DocumentError):
        NetworkDocument().add_node("ReLU", name=bad)


def test_reserved_names_cover_every_nn_module_attribute() -> None:
    public = {n for n in dir(torch.nn.Module) if not n.startswith("_")}
    assert public <= RESERVED_NAMES


def test_cycles_are_refused_with_the_reason() -> None:
    doc = NetworkDocument()
    doc.add_node("ReLU", name="a")
    doc.add_node("ReLU", name="b")
    doc.add_node("Add", name="c")
    doc.connect("a", "out", "b", "in")
    doc.connect("b", "out", "c", "in1")
    with pytest.raises(DocumentError, match="cycle"):
        doc.connect("c", "out", "a", "in")
    assert doc.can_connect("b", "out", "b", "in") == "b cannot feed itself"


def test_port_rules() -> None:
    doc = small_doc()
    doc.add_node("ReLU", name="extra")
    assert "already fed by conv1" in doc.can_connect("extra", "out", "relu1", "in")
    assert "no input port" in doc.can_connect("extra", "out", "relu1", "in2")
    assert "no output port" in doc.can_connect("output1", "out", "extra", "in")
    doc.add_node("MaxPool2d", {"return_indices": True}, name="pool")
    doc.add_node("MaxUnpool2d", name="unpool")
    assert "indices" in doc.can_connect("pool", "indices", "extra", "in")
    assert "indices" in doc.can_connect("pool", "out", "unpool", "indices")
    assert doc.can_connect("pool", "indices", "unpool", "indices") is None


def test_param_validation_names_the_field() -> None:
    doc = small_doc()
    with pytest.raises(DocumentError, match="conv1: kernel_size must be >= 1"):
        doc.set_params("conv1", {"kernel_size": 0})
    with pytest.raises(DocumentError, match="padding_mode must be one of"):
        doc.set_params("conv1", {"padding_mode": "mirror"})
    with pytest.raises(DocumentError, match="kernel_size takes one number or 2 numbers"):
        doc.set_params("conv1", {"kernel_size": [3, 3, 3]})
    with pytest.raises(DocumentError,
                       match=r"conv1: kernel is not a parameter \(known: in_channels"):
        doc.set_params("conv1", {"kernel": 3})
    assert doc.node("conv1").params["kernel_size"] == 5


def test_removing_a_connected_merge_port_is_refused() -> None:
    doc = NetworkDocument()
    doc.add_node("ReLU", name="a")
    doc.add_node("Concat", {"num_inputs": 3}, name="cat")
    doc.connect("a", "out", "cat", "in3")
    with pytest.raises(DocumentError, match="'in3' is still connected"):
        doc.set_params("cat", {"num_inputs": 2})


def test_changes_are_notified() -> None:
    doc = NetworkDocument()
    seen: list[Change] = []
    doc.subscribe(seen.append)
    doc.add_node("ReLU", name="a")
    doc.add_node("ReLU", name="b")
    edge = doc.connect("a", "out", "b", "in")
    doc.set_params("a", {})
    doc.move_node("b", (10, 20))
    doc.rename_node("b", "c")
    doc.remove_node("a")
    assert [c.kind for c in seen] == ["node_added", "node_added", "edge_added", "params_changed",
                                      "node_moved", "node_renamed", "edge_removed",
                                      "node_removed"]
    assert seen[2].edge == edge
    assert doc.edges == [] and [n.name for n in doc.nodes] == ["c"]
    assert doc.node("c").pos == (10.0, 20.0)


def test_rename_keeps_wires() -> None:
    doc = small_doc()
    doc.rename_node("conv1", "features")
    assert doc.incoming("relu1")["in"].src == "features"
    assert doc.incoming("features")["in"].src == "input1"


def test_dict_round_trip_is_stable() -> None:
    doc = small_doc()
    data = doc.to_dict()
    again = NetworkDocument.from_dict(data).to_dict()
    assert again == data
    assert [n["name"] for n in data["nodes"]] == ["input1", "conv1", "relu1", "output1"]


@pytest.mark.parametrize("data, message", [
    ({"nodes": "x"}, "'nodes' must be a list"),
    ({"nodes": [{"name": "a"}]}, "nodes\\[0\\] needs a 'name' and a 'type'"),
    ({"nodes": [{"name": "a", "type": "Conv9d"}]}, "unknown layer type 'Conv9d'"),
    ({"nodes": [{"name": "a", "type": ["Conv2d"]}]}, "layer type must be text"),
    ({"nodes": [{"name": "os.system('x')", "type": "ReLU"}]}, "not a valid node name"),
    ({"nodes": [{"name": "a", "type": "ReLU", "pos": [1]}]}, "pos must be two numbers"),
    ({"nodes": [{"name": "a", "type": "ReLU"}], "edges": [{"src": "a"}]}, "edges\\[0\\]"),
    ({"nodes": [{"name": "a", "type": "ReLU"}],
      "edges": [{"src": "a", "src_port": "out", "dst": "a", "dst_port": "in"}]},
     "a cannot feed itself"),
])
def test_malformed_documents_are_refused(data: dict, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        NetworkDocument.from_dict(data)


def test_module_paths_are_checked_kept_and_saved() -> None:
    doc = small_doc()
    seen: list[Change] = []
    doc.subscribe(seen.append)
    assert doc.set_path("conv1", "features.0") is None
    assert seen[-1].kind == "path_changed" and seen[-1].detail == {"old": None,
                                                                     "new": "features.0"}
    doc.set_path("relu1", "features.1")
    assert module_path(doc.node("conv1")) == "features.0"
    assert doc.node_for_key("features.1.weight") == "relu1"
    doc.rename_node("conv1", "stem")  # the path stays
    assert doc.node("stem").path == "features.0" and doc.node_at("features.0") == "stem"
    refused = {"features.1": "already relu1's", "features": "cannot be both a layer and a "
               "container", "features.0.x1": "inside stem's layer", "0.conv": "start with a "
               "name", "features.01": "not a valid path segment", "a.training": "reserved",
               "a..b": "not a valid"}
    for path, reason in refused.items():
        with pytest.raises(DocumentError, match=reason):
            doc.set_path("output1", path)
    with pytest.raises(DocumentError, match="features: module path 'features' holds"):
        doc.rename_node("output1", "features")  # its default path would clash
    copy = NetworkDocument.from_dict(doc.to_dict())
    assert copy.to_dict() == doc.to_dict()
    assert [n.get("path") for n in doc.to_dict()["nodes"]] == [
        None, "features.0", "features.1", None]
    doc.set_path("stem", None)
    assert doc.node_at("stem") == "stem" and doc.node_at("features.0") is None
    doc.remove_node("relu1")
    doc.add_node("Linear", name="features")  # the container is gone
