"""Save, reopen, recent files, unsaved-changes prompt, autosave recovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui.commands import SetParamsCommand
from app.ui.main_window import CANCEL, DISCARD


def test_save_and_reopen(make_window, tmp_path: Path, settle) -> None:
    window = make_window("lenet5")
    window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 100}))
    assert window.isWindowModified()
    path = tmp_path / "lenet.torchcanvas"
    assert window.save_to(str(path))
    assert not window.isWindowModified() and "lenet.torchcanvas" in window.windowTitle()
    other = make_window(None)
    assert other.open_project(str(path))
    assert other.session.doc.to_dict() == window.session.doc.to_dict()
    settle(other)
    assert other.scene.nodes["fc1"].shape_text == "→ 100"
    assert other.recent_files()[0] == str(path.resolve())
    assert other.recent_menu.actions()[0].toolTip() == str(path.resolve())


def test_bad_file_gives_a_message_not_a_crash(make_window, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: shown.append(a[2]))
    window = make_window("lenet5")
    before = window.session.doc.to_dict()
    bad = tmp_path / "bad.torchcanvas"
    bad.write_text('{"format": "torchcanvas", "version": 1, "network": {"nodes": '
                   '[{"name": "layer", "type": "Conv9d"}]}}')
    assert not window.open_project(str(bad))
    assert "Conv9d" in shown[0] and "bad.torchcanvas" in shown[0]
    assert window.session.doc.to_dict() == before


def test_unsaved_changes_prompt(window) -> None:
    window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 100}))
    window.ask_unsaved = lambda: CANCEL
    assert not window.close()
    window.ask_unsaved = lambda: DISCARD
    assert window.close()


def test_autosave_and_recovery_after_a_crash(make_window, tmp_path: Path) -> None:
    window = make_window("lenet5")
    assert not window.autosaver.save_now()  # nothing unsaved yet
    window.session.push(SetParamsCommand(window.session, "fc1", {"out_features": 99}))
    assert window.autosaver.save_now()
    # Pretend the process died: a leftover file whose pid is not running.
    dead = window.autosaver.file.with_name("autosave-999999999.json")
    os.replace(window.autosaver.file, dead)
    fresh = make_window(None)
    assert fresh.offer_recovery(ask=False)
    assert fresh.session.doc.node("fc1").params["out_features"] == 99
    assert fresh.isWindowModified()
    assert not dead.exists()


def test_theme_switch_and_window_state_are_remembered(make_window) -> None:
    window = make_window("lenet5")
    window.set_theme("dark")
    window.summary_dock.raise_()
    window.save_settings()
    assert window.settings.value("theme") == "dark"
    assert QApplication.palette().window().color().name() == "#1f2329"
    window.set_theme("light")
