"""Background jobs (code generation, data loading) never deadlock the GUI thread and never
outlive their window."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool

from app.ui.background import join_background_jobs, run_in_background, running_jobs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_codegen(monkeypatch):
    """generate_code that takes 0.6 s of the GIL-free kind and says when it started."""
    from app.core import codegen

    started = threading.Event()
    real = codegen.generate_code

    def slow(doc, title):
        started.set()
        time.sleep(0.6)
        return real(doc, title)

    monkeypatch.setattr(codegen, "generate_code", slow)
    return started


def test_closing_the_window_joins_the_code_generation(make_window, slow_codegen) -> None:
    window = make_window("lenet5")
    window.code_view.wait_idle()
    window.session.doc.set_params("conv1", {"out_channels": 8})
    window.code_view.regenerate()
    assert slow_codegen.wait(10)
    assert running_jobs() == 1 and window.code_view.busy
    window.close()
    assert running_jobs() == 0
    assert QThreadPool.globalInstance().activeThreadCount() == 0


def test_a_result_for_a_deleted_owner_is_dropped(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    owner = QWidget()
    got = []
    gate = threading.Event()
    job = run_in_background(lambda: gate.wait(10) and 42, got.append, got.append, owner=owner)
    owner.deleteLater()
    qtbot.wait(10)
    gate.set()
    assert join_background_jobs(10) and not job.running
    qtbot.wait(10)  # deliver the queued result
    assert got == []
    other = run_in_background(lambda: 1 / 0, got.append, got.append)
    assert other.wait(10)
    qtbot.waitUntil(lambda: got == ["division by zero"], timeout=5000)


# The hang of issue 18: pytest-qt closes a test's window with deleteLater; the next test's
# QTest.qWait (which keeps the GIL) processed that deferred delete, ~QThreadPool of the
# Code panel then waited for its generation job while holding the GIL the job needed.
DEADLOCK = textwrap.dedent("""
    import sys, threading, time
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    import app.core.codegen as codegen
    from app.ui.main_window import DISCARD, MainWindow

    app = QApplication([])
    started = threading.Event()

    def slow(doc, title):  # pure Python: it needs the GIL all along
        started.set()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            sum(range(1000))
        return "# code"

    codegen.generate_code = slow
    settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, autosave_dir=sys.argv[2], training=False)
    window.ask_unsaved = lambda: DISCARD
    window.show()
    window.open_template("lenet5")
    window.code_view.regenerate()
    assert started.wait(20)
    window.deleteLater()
    QTest.qWait(50)  # processes the deferred delete with the GIL held
    from app.ui.background import join_background_jobs
    assert join_background_jobs(20)
    print("alive")
""")


def test_deleting_a_window_while_its_code_job_runs_does_not_deadlock(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", DEADLOCK, str(tmp_path / "s.ini"),
                               str(tmp_path / "autosave")], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: the window's deletion waited for its code job with the GIL")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("alive")
