"""kill -9 during saves and checkpoints: never a torn file, and the leftovers are cleaned.

A child process saves in a loop (two versions in turn, large enough that most kills land
mid-write); it is killed at a random moment. The file must then load whole as one of the
two versions, and the next save must remove the killed writer's temp file. TC_KILLS=N
sets the number of kills per kind (quick run: 12 project saves, 2 checkpoint loops).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.fileio import temp_pattern
from app.core.project import Project, load_project, save_project
from app.core.templates import build_template

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("TC_KILLS", "0"))

PROJECT_LOOP = """
import sys
from app.core.project import Project, save_project
from app.core.templates import build_template
target = sys.argv[1]
projects = [Project(build_template("mlp"), name=name, canvas={"pad": [0.5] * 400_000})
            for name in ("first", "second")]
save_project(projects[0], target)
print("ready", flush=True)
i = 0
while True:
    i += 1
    save_project(projects[i % 2], target)
"""

CHECKPOINT_LOOP = """
import sys, torch
from app.training.checkpoints import save_checkpoint
target = sys.argv[1]
states = [{"model": {"w": torch.full((2_000_000,), float(v))}, "epoch": v} for v in (1, 2)]
save_checkpoint(states[0], target)
print("ready", flush=True)
i = 0
while True:
    i += 1
    save_checkpoint(states[i % 2], target)
"""


def _kill_during_writes(loop: str, target: Path, kills: int, seed: int) -> list[str]:
    """Start the loop, kill -9 it at a random moment, `kills` times; after each kill the
    target must be whole. Returns the temp files found after the kills (the leftovers)."""
    rng = random.Random(seed)
    leftovers = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", loop, str(target)], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
        leftovers += [p.name for p in target.parent.iterdir()
                      if temp_pattern(target).match(p.name)]
        check_whole(target)
    print(f"\n{target.name}: {kills} kills, 0 torn, {len(leftovers)} temp files left by "
          f"killed writers (removed by the next save)")
    return leftovers


def check_whole(target: Path) -> None:
    if target.suffix == ".json":
        assert load_project(target).name in ("first", "second")
    else:
        import torch

        from app.training.checkpoints import load_checkpoint

        state = torch.load(target, weights_only=True)  # whole: it unpickles
        assert state["epoch"] in (1, 2)
        assert torch.equal(state["model"]["w"], torch.full((2_000_000,), float(state["epoch"])))
        with pytest.raises(Exception, match="field"):  # no optimizer etc.: named, not torn
            load_checkpoint(target)


def test_kill_9_during_project_saves(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    leftovers = _kill_during_writes(PROJECT_LOOP, target, KILLS or 12, seed=1)
    save_project(Project(build_template("mlp"), name="after"), target)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"], leftovers
    assert load_project(target).name == "after"


def test_kill_9_during_checkpoint_saves(tmp_path: Path) -> None:
    import torch

    from app.training.checkpoints import save_checkpoint

    target = tmp_path / "last.pt"
    leftovers = _kill_during_writes(CHECKPOINT_LOOP, target, KILLS or 2, seed=2)
    save_checkpoint({"model": {}, "epoch": 3}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"], leftovers
    assert torch.load(target, weights_only=True)["epoch"] == 3
