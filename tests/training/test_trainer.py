"""Run control, reproducibility, checkpoints and failures of the Trainer."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from app.training.checkpoints import load_checkpoint
from app.training.events import BatchEnd, EpochEnd, RunFailed, RunFinished, RunStarted, Snapshot
from app.training.trainer import Trainer
from tests.training.conftest import blobs, config, regression, small_net


def run(cfg=None, net=None, data=None, **kwargs) -> tuple[list, object, nn.Module]:
    events: list = []
    torch.manual_seed(0)
    net = net if net is not None else small_net(dropout=0.3)
    trainer = Trainer(net, data or blobs(), cfg or config(epochs=3), callback=events.append,
                      **kwargs)
    return events, trainer.run(), net


def losses(events: list) -> list[float]:
    return [e.loss for e in events if isinstance(e, BatchEnd)]


def test_events_arrive_in_order_with_metrics() -> None:
    events, result, _ = run()
    assert isinstance(events[0], RunStarted) and events[-1] is result
    assert isinstance(result, RunFinished) and result.reason == "completed"
    epoch = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert 0 <= epoch.val_accuracy <= 1 and epoch.confusion.sum() == 24
    assert epoch.confusion.shape == (3, 3) and len(epoch.per_class_accuracy) == 3
    assert epoch.val_accuracy == pytest.approx(epoch.confusion.trace() / 24)
    assert [b.step for b in events if isinstance(b, BatchEnd)] == list(range(1, 16))


def test_same_seed_same_loss_curve() -> None:
    first, _, net1 = run()
    second, _, net2 = run()
    assert losses(first) == losses(second) and len(losses(first)) == 15
    assert all(torch.equal(a, b) for a, b in zip(net1.state_dict().values(),
                                                 net2.state_dict().values()))


def test_a_different_seed_gives_a_different_curve() -> None:
    assert losses(run()[0]) != losses(run(config(epochs=3, seed=1))[0])


def test_pause_and_resume_from_another_thread_change_nothing() -> None:
    _, _, plain = run()
    trainer: Trainer
    paused_at: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, BatchEnd) and event.step == 4:
            trainer.pause()
            paused_at.append(event.step)
            threading.Timer(0.2, trainer.resume).start()  # the "GUI thread"

    torch.manual_seed(0)
    net = small_net(dropout=0.3)
    trainer = Trainer(net, blobs(), config(epochs=3), callback=on_event)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    worker.join(timeout=20)
    assert paused_at == [4] and not worker.is_alive()
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 plain.state_dict().values()))


@pytest.mark.parametrize("stop_step", [5, 10])  # mid-epoch, and at an epoch's end
def test_stop_then_resume_from_checkpoint_equals_an_uninterrupted_run(
        tmp_path, stop_step: int) -> None:
    cfg = config(epochs=3, scheduler={"name": "OneCycleLR"},
                 optimizer={"name": "SGD", "lr": 0.05, "params": {"momentum": 0.9}})
    _, _, plain = run(cfg)
    trainer: Trainer

    def stop_at(event: object) -> None:
        if isinstance(event, BatchEnd) and event.step == stop_step:
            trainer.stop()

    torch.manual_seed(0)
    trainer = Trainer(small_net(dropout=0.3), blobs(), cfg, callback=stop_at,
                      checkpoint_dir=tmp_path)
    stopped = trainer.run()
    assert stopped.reason == "stopped" and trainer.progress.step == stop_step
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == stop_step
    events, result, resumed = run(cfg, net=small_net(dropout=0.3),
                                  resume_from=tmp_path / "last.pt")
    assert result.reason == "completed" and events[0].start_epoch == stop_step // 5
    assert next(b.step for b in events if isinstance(b, BatchEnd)) == stop_step + 1
    for key, value in plain.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_checkpoints_load_with_weights_only(tmp_path) -> None:
    _, result, net = run(config(epochs=2, scheduler={"name": "LinearLR"}),
                         checkpoint_dir=tmp_path)
    assert result.checkpoint == str(tmp_path / "last.pt")
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and state["config"]["epochs"] == 2
    assert state["scheduler"]["total_iters"] == 5 and state["scheduler"]["last_epoch"] == 2
    assert set(state["metrics"]) >= {"train_loss", "val_loss", "val_accuracy"}
    assert torch.equal(state["model"]["0.weight"], net[0].weight)
    assert (tmp_path / "best.pt").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_nan_loss_stops_naming_epoch_and_batch(tmp_path) -> None:
    cfg = config(epochs=3, optimizer={"name": "SGD", "lr": 1e10}, log_every=4,
                 loss={"name": "MSE"})
    _events, result, _ = run(cfg, data=regression(), net=nn.Linear(2, 1),
                            checkpoint_dir=tmp_path)
    assert isinstance(result, RunFailed)
    assert result.epoch is not None and result.batch is not None
    assert f"at epoch {result.epoch}, batch {result.batch}" in result.reason
    assert "learning rate" in result.reason


def test_nan_in_a_later_epoch_keeps_the_last_good_checkpoint(tmp_path) -> None:
    class Explode(nn.Module):  # finite for two epochs, then NaN
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 3)
            self.calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += self.training  # 5 training batches per epoch
            out = self.linear(x)
            return out * float("nan") if self.calls > 11 else out

    _, result, _ = run(config(epochs=3), net=Explode(), checkpoint_dir=tmp_path)
    assert "epoch 3, batch 2" in result.reason
    assert result.checkpoint == str(tmp_path / "last.pt")
    assert load_checkpoint(result.checkpoint)["epoch"] == 2


def test_wrong_targets_for_the_loss_fail_before_training() -> None:
    _, result, _ = run(config(loss={"name": "MSE"}))
    assert isinstance(result, RunFailed)
    assert "class indices" in result.reason and "CrossEntropy" in result.reason


def test_shape_mismatch_is_one_readable_line() -> None:
    _, result, _ = run(net=nn.Sequential(nn.Linear(7, 3)))
    assert isinstance(result, RunFailed) and result.reason.startswith("shape mismatch")
    assert "\n" not in result.reason


def test_document_input_shape_against_the_dataset() -> None:
    from app.core.templates import build_template

    _, result, _ = run(net=build_template("mlp"))
    assert "Input expects samples of shape (1, 28, 28)" in result.reason


def test_unavailable_device_is_refused() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _, result, _ = run(config(device="cuda:0"))
    assert "not available" in result.reason and "cpu" in result.reason


def test_mixed_precision_on_cpu_is_ignored_with_a_note() -> None:
    events, result, _ = run(config(mixed_precision=True))
    assert isinstance(result, RunFinished)
    assert "ignored on cpu" in events[0].notes[0]


def test_early_stopping_restores_the_best_weights() -> None:
    cfg = config(epochs=30, optimizer={"name": "SGD", "lr": 0.5},
                 early_stopping={"enabled": True, "patience": 2, "monitor": "val_loss"})
    events, result, net = run(cfg)
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert result.reason == "early_stopping" and len(epochs) < 30
    best = min(epochs, key=lambda e: e.val_loss)
    assert result.best_epoch == best.epoch and len(epochs) == best.epoch + 2
    trainer = Trainer(net, blobs(), cfg)
    trainer._prepare()
    assert trainer.evaluate(trainer.val_loader)["loss"] == pytest.approx(best.val_loss)


def test_frozen_layers_stay_and_layer_lr_groups() -> None:
    torch.manual_seed(0)
    net = small_net()
    before = net[0].weight.detach().clone()
    trainer = Trainer(net, blobs(), config(freeze=["0"], layer_lr={"3": 0.5}))
    assert isinstance(trainer.run(), RunFinished)
    assert torch.equal(net[0].weight, before)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.5]
    _, result, _ = run(config(freeze=["9"]))
    assert "no layer named '9'" in result.reason


def test_l1_and_clipping_change_the_result() -> None:
    plain = losses(run()[0])
    assert losses(run(config(epochs=3, regularisation={"l1": 0.01}))[0]) != plain
    clipped = run(config(epochs=3, regularisation={"clip": "value", "clip_value": 1e-3}))
    assert losses(clipped[0]) != plain and isinstance(clipped[1], RunFinished)


def test_probes_capture_histograms_norms_and_activations() -> None:
    cfg = config(epochs=1, probes={"enabled": True, "every_n_batches": 2, "bins": 8,
                                   "activation_layers": ["1"]})
    events, _, net = run(cfg)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert [s.step for s in snaps] == [2, 4]
    counts, edges = snaps[0].weight_hist["0.weight"]
    assert counts.sum() == net[0].weight.numel() and edges.shape == (9,)
    assert set(snaps[0].grad_norms) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert snaps[0].activations["1"].shape == (16,) and (snaps[0].activations["1"] >= 0).all()


def test_a_document_names_layers_by_node_wherever_their_modules_sit() -> None:
    """Freeze, per-layer lr and probes take node names, also for nodes with module paths."""
    from app.core.graph import NetworkDocument

    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4]}, name="features")
    doc.add_node("Linear", {"out_features": 16}, name="fc1", path="body.0")
    doc.add_node("ReLU", name="act", path="body.1")
    doc.add_node("Linear", {"out_features": 3}, name="head")
    doc.add_node("Output", name="logits")
    doc.chain("features", "fc1", "act", "head", "logits")
    cfg = config(epochs=1, freeze=["fc1"], layer_lr={"head": 0.5},
                 probes={"enabled": True, "activation_layers": ["act"]})
    events: list = []
    trainer = Trainer(doc, blobs(), cfg, callback=events.append)
    assert isinstance(trainer.run(), RunFinished)
    assert not trainer.model.body[0].weight.requires_grad
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.5]
    snap = next(e for e in events if isinstance(e, Snapshot))
    assert set(snap.weight_hist) == {"fc1.weight", "fc1.bias", "head.weight", "head.bias"}
    assert set(snap.activations) == {"act"}
    block = Trainer(doc, blobs(), config(epochs=1, freeze=["body"]))  # a block's module path
    assert isinstance(block.run(), RunFinished) and not block.model.body[0].bias.requires_grad
    failed = Trainer(doc, blobs(), config(freeze=["body.7"])).run()
    assert "no layer named 'body.7' (layers with weights: fc1, head)" in failed.reason


def test_a_document_run_counts_parameters_by_formula_frozen_layers_excluded() -> None:
    from app.core.graph import NetworkDocument

    doc = NetworkDocument()
    doc.add_node("Input", {"shape": [4]}, name="features")
    doc.add_node("Linear", {"out_features": 16}, name="fc1")
    doc.add_node("ReLU", name="act")
    doc.add_node("Linear", {"out_features": 3}, name="head")
    doc.add_node("Output", name="logits")
    doc.chain("features", "fc1", "act", "head", "logits")
    events, result, _ = run(config(epochs=1, freeze=["fc1"]), net=doc)
    started = events[0]
    assert isinstance(result, RunFinished)
    assert (started.parameters, started.trainable_parameters) == (4 * 16 + 16 + 16 * 3 + 3,
                                                                   16 * 3 + 3)
