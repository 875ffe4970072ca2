"""Autosave and crash recovery.

While the document has unsaved edits, a snapshot is written (atomically) every few
seconds to `<dir>/autosave-<pid>.json`, with the path of the file it belongs to. A clean
exit deletes it; a snapshot whose process is gone on the next start is a crash leftover
and is offered for recovery.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from app.core.fileio import write_atomic
from app.core.project import Project, ProjectError, project_from_dict, to_json

INTERVAL_MS = 15_000


def default_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".torchcanvas") / "autosave"


@dataclass
class Recovery:
    file: Path
    project: Project
    original_path: str | None
    saved_at: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        where = self.original_path or "an unsaved network"
        return f"{self.project.name} ({where}), autosaved {when}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def find_recoveries(folder: Path) -> list[Recovery]:
    """Snapshots left by sessions that did not exit cleanly; unreadable ones are skipped."""
    found = []
    for file in sorted(folder.glob("autosave-*.json")):
        try:
            pid = int(file.stem.split("-", 1)[1])
        except ValueError:
            continue
        if _alive(pid):
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            project = project_from_dict(data["project"])
        except (OSError, ValueError, KeyError, TypeError, ProjectError):
            continue
        found.append(Recovery(file, project, data.get("path"), float(data.get("saved_at", 0))))
    return found


class Autosaver(QObject):
    """Writes the snapshot when `is_dirty()`; `snapshot()` gives (project, original path)."""

    def __init__(self, folder: Path, snapshot: Callable[[], tuple[Project, str | None]],
                 is_dirty: Callable[[], bool], parent: QObject | None = None,
                 interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.file = self.folder / f"autosave-{os.getpid()}.json"
        self._snapshot = snapshot
        self._is_dirty = is_dirty
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()
        self.last_error = ""

    def save_now(self) -> bool:
        if not self._is_dirty():
            self.discard()  # saved or undone back to clean: nothing to recover
            return False
        project, path = self._snapshot()
        envelope = {"path": path, "saved_at": time.time(),
                    "project": json.loads(to_json(project))}
        try:
            write_atomic(self.file, json.dumps(envelope).encode("utf-8"))
        except OSError as exc:
            self.last_error = f"autosave failed: {exc}"  # never interrupt editing for this
            return False
        return True

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)

    def stop(self) -> None:
        self.timer.stop()
        self.discard()
