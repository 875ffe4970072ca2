"""Qt-free pieces: health checks, run diffs, run summaries."""

from __future__ import annotations

import json

import numpy as np

from app.analysis.health import check_health, flags_by_node
from app.analysis.run_diff import graph_diff, settings_diff
from app.analysis.run_history import RunHistory
from app.analysis.run_store import RunStore
from app.training.events import BatchEnd, EpochEnd, RunFinished, RunStarted, Snapshot


def snapshot(norms=None, activations=None, step=1) -> Snapshot:
    return Snapshot(1, step, {}, {}, norms or {}, activations or {})


TYPES = {"fc1": "Linear", "sig": "Sigmoid", "relu": "ReLU", "fc2": "Linear"}


def test_vanishing_and_exploding_gradients_name_the_layer():
    run = RunHistory("r")
    run.add(snapshot({"fc1.weight": 1e-9, "fc1.bias": 1e-10, "fc2.weight": 0.5}))
    flags = check_health(run, TYPES)
    assert [(f.kind, f.node) for f in flags] == [("vanishing", "fc1")]
    assert "ReLU" in flags[0].remedy
    run.add(snapshot({"fc1.weight": 5e4, "fc2.weight": float("nan")}))
    kinds = {(f.kind, f.node) for f in check_health(run, TYPES)}
    assert kinds == {("exploding", "fc1"), ("exploding", "fc2")}


def test_dead_relu_and_saturated_sigmoid():
    dead = np.zeros(100)
    dead[:5] = 1.0
    run = RunHistory("r")
    for step in (1, 2):
        run.add(snapshot(activations={"relu": dead, "sig": np.full(50, 0.999)}, step=step))
    flags = {f.kind: f for f in check_health(run, TYPES)}
    assert flags["dead_relu"].node == "relu" and "95%" in flags["dead_relu"].message
    assert flags["saturated"].node == "sig" and "Xavier" in flags["saturated"].remedy
    assert set(flags_by_node(list(flags.values()))) == {"relu", "sig"}


def test_overfitting_suggests_regularisation():
    run = RunHistory("r")
    for epoch, (train, val) in enumerate([(1.0, 0.9), (0.8, 0.7), (0.6, 0.8), (0.4, 0.9)], 1):
        run.add(EpochEnd(epoch, train, val, 0.01, 1.0))
    flags = check_health(run, TYPES, ["logits"])
    assert [(f.kind, f.node) for f in flags] == [("overfitting", "logits")]
    for word in ("Dropout", "weight decay", "augmentation", "early stopping"):
        assert word in flags[0].remedy
    assert flags_by_node(flags)["logits"].startswith("overfitting")


def test_settings_and_graph_diffs():
    a = {"optimizer": {"name": "Adam", "lr": 0.001}, "epochs": 5}
    b = {"optimizer": {"name": "Adam", "lr": 0.01}, "epochs": 5}
    assert [(d.what, d.left, d.right) for d in settings_diff(a, b)] == [
        ("optimizer.lr", "0.001", "0.01")]
    ga = {"nodes": [{"name": "x", "type": "Input", "params": {}},
                    {"name": "fc", "type": "Linear", "params": {"out_features": 2}}],
          "edges": [{"src": "x", "dst": "fc"}]}
    gb = {"nodes": [{"name": "x", "type": "Input", "params": {}},
                    {"name": "fc", "type": "Linear", "params": {"out_features": 4}},
                    {"name": "act", "type": "ReLU", "params": {}}],
          "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "act"}]}
    diff = {(d.what, d.change) for d in graph_diff(ga, gb)}
    assert diff == {("fc", "changed"), ("act", "added"), ("fc → act", "added")}


def test_summary_round_trip_through_the_store(tmp_path):
    run = RunHistory("run 1", {"epochs": 1}, {"source": "moons"}, {"nodes": [], "edges": []})
    run.add(RunStarted(1, 2, "cpu", 0, 10, 10, "classification"))
    run.add(BatchEnd(1, 2, 2, 0.5, 0.6, 0.01, 100.0))
    run.add(EpochEnd(1, 0.6, None, 0.01, 1.0))
    run.add(RunFinished(1, "completed", {"train_loss": 0.6}))
    store = RunStore()
    store.open(str(tmp_path / "p.torchcanvas"))
    store.add(run)
    store.save()
    saved = json.loads((tmp_path / "p.torchcanvas.runs.json").read_text())
    assert saved[0]["val_loss"] == [None]  # NaN is not JSON
    again = RunStore()
    again.open(str(tmp_path / "p.torchcanvas"))
    back = again.runs[0]
    assert back.name == "run 1" and back.batch_epochs() == [1.0]
    assert back.train_loss == [0.6] and np.isnan(back.val_loss[0])


def test_histograms_resample_onto_common_bins_without_gaps() -> None:
    import numpy as np

    from app.ui.training.plots.histograms import resample

    fine = (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    wide = (np.array([4.0]), np.array([-1.0, 5.0]))
    rows, lo, hi = resample([fine, wide], columns=6)
    assert (lo, hi) == (-1.0, 5.0)
    assert rows[0].tolist() == [0.0, 1.0, 2.0, 3.0, 0.0, 0.0]
    assert np.allclose(rows[1], 4 / 6)  # one wide bin spreads evenly, no empty columns
    assert rows.sum(axis=1).tolist() == [6.0, 4.0]


def test_gui_and_cli_probe_the_same_layers_and_name_keys_by_node() -> None:
    """One probe policy: a run config without activation_layers (GUI or CLI) probes the
    convolutions, linear layers and activations, keyed by node name whatever the path."""
    from torch import nn

    from app.core.compiler import compile_document
    from app.core.templates import build_template
    from app.training.events import layer_of, node_key
    from app.training.probes import auto_layers
    from app.training.setup import layer_paths

    doc = build_template("lenet5")
    model = compile_document(doc)
    layers = layer_paths(doc, model)
    chosen = auto_layers(model, layers)
    assert chosen == [n for n in doc.topological_order()
                      if doc.node(n).type in ("Conv2d", "Linear", "ReLU", "Tanh", "Sigmoid")]
    assert node_key("layer1.0.conv1.weight", {"layer1.0.conv1": "layer1_0_conv1"}) == \
        "layer1_0_conv1.weight"
    assert node_key("enc.attn.in_proj_weight", {"enc": "encoder"}) == "encoder.attn.in_proj_weight"
    assert layer_of("layer1_0_conv1.weight") == "layer1_0_conv1"
    assert auto_layers(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Dropout()),
                       {"0": "0", "1": "1", "2": "2"}) == ["0", "1"]
