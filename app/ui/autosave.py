"""Autosave and crash recovery.

While the document has unsaved edits, a snapshot is written (atomically) every few
seconds to `<dir>/autosave-<pid>.json`, with the path of the file it belongs to. A clean
exit deletes it; a snapshot whose process is gone on the next start is a crash leftover
and is offered for recovery: with a file argument, the snapshot of that file; without one,
the newest. A snapshot older than the file it belongs to is stale (the file was saved
after it) and is never offered, so it cannot overwrite newer work. A snapshot that does
not load (damaged, hostile) is skipped; it never stops the app from starting.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from app.core.fileio import process_alive, write_atomic
from app.core.project import Project, ProjectError, parse_json, project_from_dict, to_json

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

    def stale(self) -> bool:
        """The file it belongs to was saved after the snapshot was taken."""
        if not self.original_path:
            return False
        try:
            return os.stat(self.original_path).st_mtime > self.saved_at
        except OSError:
            return False  # the file is gone: the snapshot is all there is

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        where = self.original_path or "an unsaved network"
        return f"{self.project.name} ({where}), autosaved {when}"


def find_recoveries(folder: Path) -> list[Recovery]:
    """Snapshots left by sessions that did not exit cleanly; unreadable ones are skipped
    and stale ones (older than their saved file) deleted."""
    found = []
    for file in sorted(folder.glob("autosave-*.json")):
        try:
            pid = int(file.stem.split("-", 1)[1])
        except ValueError:
            continue
        if process_alive(pid):
            continue
        recovery = _read(file)
        if recovery is None:
            continue
        if recovery.stale():
            file.unlink(missing_ok=True)
            continue
        found.append(recovery)
    return found


def _read(file: Path) -> Recovery | None:
    try:
        data = parse_json(file.read_text(encoding="utf-8"), str(file))
        project = project_from_dict(data["project"])
        path, saved_at = data.get("path"), float(data.get("saved_at", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError,
            ProjectError):
        return None
    if path is not None and not isinstance(path, str):
        return None
    return Recovery(file, project, path, saved_at)


def recovery_for(found: list[Recovery], path: str | None) -> Recovery | None:
    """The snapshot to offer: of `path` when the app opened a file, else the newest."""
    if path is not None:
        wanted = os.path.realpath(path)
        found = [r for r in found if r.original_path
                 and os.path.realpath(r.original_path) == wanted]
    return max(found, key=lambda r: r.saved_at, default=None)


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
