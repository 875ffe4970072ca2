"""The GUI findings of issue 14 (G2-G5): each failed before the fix."""

from __future__ import annotations

import argparse
import json
import os
import time
import types
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QSettings
from torch.utils.data import Dataset

from app.core.project import Project, load_project, save_project
from app.core.templates import get_template
from tests.reliability.hostile import project_dict

DEAD_PID = 999_999_999


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    from app.ui.main_window import DISCARD, MainWindow

    made = []

    def make(training: bool = False, folder: Path | None = None) -> MainWindow:
        settings = QSettings(str(tmp_path / f"s{len(made)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=folder or tmp_path / "autosave",
                            training=training)
        window.ask_unsaved = lambda: DISCARD
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if window.training_docks is not None:
            window.training_docks.shutdown()
        window.session.stack.setClean()
        window.autosaver.stop()


def _leftover(folder: Path, project: dict, path: str | None, saved_at: float,
              pid: int = DEAD_PID) -> Path:
    folder.mkdir(exist_ok=True)
    file = folder / f"autosave-{pid}.json"
    file.write_text(json.dumps({"path": path, "saved_at": saved_at, "project": project}))
    return file


# -- G5: a hostile autosave never stops the start ---------------------------------------------

def test_g5_hostile_autosaves_are_skipped(make_window, tmp_path: Path) -> None:
    folder = tmp_path / "autosave"
    huge = project_dict()
    huge["network"]["nodes"][0]["pos"] = [10**400, 0]
    _leftover(folder, huge, None, time.time())
    (folder / f"autosave-{DEAD_PID - 1}.json").write_text("[" * 100_000)
    (folder / f"autosave-{DEAD_PID - 2}.json").write_text('{"project": 1, "path": [1]}')
    window = make_window(folder=folder)
    assert not window.offer_recovery(ask=False)
    assert window.project.network.nodes == []


# -- G4: recovery with and without a file argument; stale snapshots --------------------------

def _crashed_session(make_window, path: Path, name: str) -> None:
    """A window that edited `path` (renamed the project) and then 'crashed'."""
    window = make_window()
    assert window.open_project(str(path), confirm=False)
    window.project.name = name
    window.session.stack.resetClean()
    assert window.autosaver.save_now()
    os.replace(window.autosaver.file, window.autosaver.file.with_name(
        f"autosave-{DEAD_PID}.json"))
    window.session.stack.setClean()


def test_g4_start_with_the_file_offers_its_autosave(make_window, tmp_path: Path) -> None:
    path = tmp_path / "p.torchcanvas"
    save_project(get_template("mlp").project(), path)
    os.utime(path, (time.time() - 60, time.time() - 60))
    _crashed_session(make_window, path, "edited before the crash")
    fresh = make_window()
    assert fresh.open_project(str(path), confirm=False)
    assert fresh.offer_recovery(ask=False, for_path=fresh.path)
    assert fresh.project.name == "edited before the crash" and fresh.isWindowModified()
    assert fresh.path == str(path.resolve())
    assert not list((tmp_path / "autosave").glob(f"autosave-{DEAD_PID}.json"))


def test_g4_other_files_autosave_waits_for_a_start_without_file(make_window,
                                                                tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.torchcanvas", tmp_path / "other.torchcanvas"
    for path in (mine, other):
        save_project(get_template("mlp").project(), path)
        os.utime(path, (time.time() - 60, time.time() - 60))
    _crashed_session(make_window, other, "other, edited")
    window = make_window()
    assert window.open_project(str(mine), confirm=False)
    assert not window.offer_recovery(ask=False, for_path=window.path)
    later = make_window()
    assert later.offer_recovery(ask=False)
    assert later.project.name == "other, edited"


def test_g4_autosave_older_than_its_saved_file_is_never_offered(make_window,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "p.torchcanvas"
    project = get_template("mlp").project()
    project.name = "saved after the crash"
    save_project(project, path)
    stale = project_dict()
    stale["name"] = "older snapshot"
    leftover = _leftover(tmp_path / "autosave", stale, str(path), path.stat().st_mtime - 30)
    window = make_window()
    assert not window.offer_recovery(ask=False)
    assert not leftover.exists()
    assert load_project(path).name == "saved after the crash"


def test_g4_launch_offers_recovery_with_and_without_a_file(monkeypatch) -> None:
    from app.ui import launch, main_window

    calls = []

    class FakeWindow:
        path = "/projects/p.torchcanvas"
        settings = types.SimpleNamespace(value=lambda *a, **k: True)  # not a first run
        trainingReady = types.SimpleNamespace(connect=lambda slot: None)

        def __init__(self, **kwargs: object) -> None:
            pass

        def show(self) -> None:
            pass

        def open_project(self, path: str, confirm: bool) -> bool:
            return True

        def open_template(self, template_id: str) -> bool:
            return True

        def offer_recovery(self, **kwargs: object) -> bool:
            calls.append(kwargs)
            return False

        def statusBar(self) -> object:
            return types.SimpleNamespace(showMessage=lambda *a: None)

    app = types.SimpleNamespace(processEvents=lambda: None, exec=lambda: 0)
    monkeypatch.setattr(launch, "make_app", lambda: app)
    monkeypatch.setattr(main_window, "MainWindow", FakeWindow)
    for file in ("p.torchcanvas", None):
        launch.launch(argparse.Namespace(file=file, template=None, screenshot=None))
    assert calls == [{"for_path": "/projects/p.torchcanvas"}, {"for_path": None}]


# -- G3: a malformed data section, at start-up and on open ----------------------------------

def test_g3_malformed_sections_leave_the_training_docks_working(make_window, qtbot,
                                                               tmp_path: Path) -> None:
    bad = project_dict(data={"source": "iris", "split": "x"},
                       training={"epochs": "many"})
    path = tmp_path / "bad.torchcanvas"
    path.write_text(json.dumps(bad))
    window = make_window(training=True)
    assert window.open_project(str(path), confirm=False)  # before the docks exist
    with qtbot.waitSignal(window.trainingReady, timeout=90_000):
        window.show()
    docks = window.training_docks
    assert docks is not None
    assert "data.split: must be an object" in docks.data_panel.status.text()
    assert "training.epochs" in docks.training_panel.error.text()
    assert window.project.data == bad["data"]  # nothing is rewritten until an edit
    steps = [{"type": "RandomCrop", "size": "x"}]
    window.load(window.project.network, Project(window.project.network, data={
        "source": "digits", "train_transforms": steps}), None)
    assert "data.train_transforms" in docks.data_panel.status.text()
    docks.data_panel.augment.steps.setCurrentRow(0)  # _select_step on the shown pipeline
    assert docks.training_panel.config() is not None


# -- G2: closing while one batch runs long ------------------------------------------------

class SlowSamples(Dataset):
    def __len__(self) -> int:
        return 48

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        time.sleep(0.03)  # a batch of 16 takes about half a second
        return torch.full((4,), float(i % 3)), torch.tensor(i % 3)


def test_g2_shutdown_waits_for_a_long_batch(make_window, qtbot,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ui.training.docks as docks_module
    from app.data.sources import DatasetBundle
    from app.training.config import TrainConfig
    from app.ui.worker import TrainingWorker

    window = make_window(training=True)
    with qtbot.waitSignal(window.trainingReady, timeout=90_000):
        window.show()
    docks = window.training_docks
    data = DatasetBundle(SlowSamples(), None, None, "classification", (4,), 3,
                         ["a", "b", "c"])
    config = TrainConfig.from_dict({"epochs": 50, "batch_size": 16, "device": "cpu",
                                    "log_every": 1, "probes": {"enabled": False}})
    worker = TrainingWorker(torch.nn.Linear(4, 3), data, config, extras=False)
    messages = []
    monkeypatch.setattr(window.statusBar(), "showMessage", lambda m, *a: messages.append(m))
    # Before the fix the window waited this long and then let Qt abort the process.
    monkeypatch.setattr(docks_module, "STOP_WAIT_MS", 20, raising=False)
    docks.worker = worker
    try:
        with qtbot.waitSignal(worker.batchEnded, timeout=60_000):
            worker.start()
        started = time.perf_counter()
        docks.shutdown()
        assert not worker.isRunning()
        assert time.perf_counter() - started > 0.05  # it did wait for the batch
        assert messages and "waiting for the current batch" in messages[0]
        assert worker.result.reason == "stopped"
    finally:
        worker.stop()
        worker.wait()
