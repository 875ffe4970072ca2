"""File > Fine-tune Pretrained…: the dialog, its one undo step and the frozen marks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from PySide6.QtCore import Qt

from app.ui.finetune_dialog import FineTuneDialog, apply_finetune

R18 = "ResNet18_Weights.IMAGENET1K_V1"


@pytest.fixture
def r18_file(tmp_path: Path) -> Path:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    return path


def test_dialog_sets_up_fine_tuning_as_one_undo_step(make_window, settle, r18_file: Path,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # empty cache
    window = make_window("resnet18")
    s, doc = window.session, window.session.doc
    dialog = FineTuneDialog(window)
    assert [dialog.names.itemText(i) for i in range(dialog.names.count())] == [R18]
    assert dialog.published.isChecked() and dialog.download_button.isEnabled()
    assert "Not downloaded yet" in dialog.status.text()
    assert "normalize (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)" in \
        dialog.preprocess.text()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # published but not downloaded
    dialog.path.setText(str(r18_file))
    dialog.local.setChecked(True)
    assert ok.isEnabled() and not dialog.download_button.isEnabled()
    checked = [dialog.blocks.item(i).text() for i in range(dialog.blocks.count())
               if dialog.blocks.item(i).checkState() == Qt.CheckState.Checked]
    assert checked == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"]
    dialog.classes.setValue(5)
    dialog.own_lr.setChecked(True)
    dialog.head_lr.setValue(0.01)
    choice = dialog.choice()
    assert (choice.file, choice.num_classes, choice.head_lr, choice.preprocess) == (
        str(r18_file), 5, 0.01, R18)
    depth = s.stack.count()
    assert apply_finetune(window, choice)
    settle(window)
    assert s.stack.count() == depth + 1
    assert doc.node("fc").params["out_features"] == 5
    assert doc.node("image").params["shape"] == [3, 224, 224]
    assert s.project.training["pretrained"] == {"file": str(r18_file), "keep": ["fc"]}
    assert s.project.training["layer_lr"] == {"fc": 0.01}
    assert s.project.data["eval_transforms"][1] == {"type": "CenterCrop", "size": 224}
    scene = window.scene
    assert scene.groups["layer1"].frozen and not scene.nodes["fc"].frozen
    assert scene.nodes["conv1"].frozen and "Frozen for fine-tuning" in \
        scene.nodes["conv1"].toolTip()
    window.summary.refresh()
    head = 512 * 5 + 5
    assert window.summary.totals["trainable"] == head
    assert window.summary.totals["params"] == 11_176_512 + head
    s.stack.undo()
    settle(window)
    assert doc.node("fc").params["out_features"] == 10
    assert "pretrained" not in s.project.training
    assert not scene.groups["layer1"].frozen and not scene.nodes["conv1"].frozen


def test_weights_that_do_not_fit_change_nothing(make_window, tmp_path: Path) -> None:
    window = make_window("resnet18")
    messages: list[tuple[str, str, bool]] = []
    window.inform = lambda title, text, error=False: messages.append((title, text, error))
    state = torchvision.models.resnet18(weights=None).state_dict()
    del state["layer2.0.downsample.0.weight"]
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    dialog = FineTuneDialog(window)
    dialog.path.setText(str(path))
    dialog.local.setChecked(True)
    depth = window.session.stack.count()
    assert not apply_finetune(window, dialog.choice())
    assert messages[-1][2] and messages[-1][1] == (
        f"{path} does not fit this network: missing key 'layer2.0.downsample.0.weight' "
        "(node layer2_0_downsample_0)")
    assert window.session.stack.count() == depth
    assert "pretrained" not in window.session.project.training


def test_node_menu_freezes_a_layer_inside_a_frozen_block(make_window, settle) -> None:
    """A layer frozen through its block unfreezes alone: the block gives way to the rest."""
    window = make_window("resnet18")
    s, menus = window.session, window.context_menus
    window.scene.set_collapsed("layer1", False)
    training = s.section("training")
    training["freeze"] = ["layer1"]
    s.set_section("training", training)
    assert menus.is_frozen("layer1_0_conv1")
    menus.toggle_freeze("layer1_0_conv1")
    assert not menus.is_frozen("layer1_0_conv1") and menus.is_frozen("layer1_0_bn1")
    assert "layer1" not in s.project.training["freeze"]
    assert not window.scene.nodes["layer1_0_conv1"].frozen
    assert window.scene.nodes["layer1_1_conv2"].frozen
    menus.toggle_freeze("layer1_0_conv1")
    assert menus.is_frozen("layer1_0_conv1")


def test_download_button_fills_the_cache_and_enables_set_up(make_window, qtbot, tmp_path: Path,
                                                            r18_file: Path, monkeypatch) -> None:
    """A file:// URL stands in for download.pytorch.org: nothing leaves the machine."""
    import hashlib

    from app.training import pretrained as pt

    source = tmp_path / f"resnet18-{hashlib.sha256(r18_file.read_bytes()).hexdigest()[:8]}.pth"
    source.write_bytes(r18_file.read_bytes())
    entry = pt.weights_entry(R18)
    monkeypatch.setattr(type(entry), "url", property(lambda self: source.as_uri()))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    dialog = FineTuneDialog(make_window("resnet18"))
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.download()
    qtbot.waitUntil(lambda: ok.isEnabled(), timeout=20_000)
    assert (tmp_path / "hub" / "checkpoints" / source.name).read_bytes() == source.read_bytes()
    assert dialog.status.text().startswith("Downloaded: ")
    assert not dialog.download_button.isEnabled()
    assert dialog.choice().published == R18
