"""The runs of a project: kept in memory, their summaries saved next to the project file
(`<project>.runs.json`) so Compare still has them after a restart. Qt-free.

The summaries live beside the project rather than inside it: the project's "training"
section is a TrainConfig and refuses unknown fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.analysis.run_history import RunHistory
from app.core.fileio import write_atomic

MAX_RUNS = 20


def summaries_path(project_path: str | None) -> Path | None:
    return Path(project_path + ".runs.json") if project_path else None


class RunStore:
    def __init__(self) -> None:
        self.runs: list[RunHistory] = []
        self.path: Path | None = None
        self.error = ""  # the last load/save problem, in words

    def open(self, project_path: str | None) -> None:
        """Forget the runs of the previous project; read this one's saved summaries."""
        self.runs, self.error = [], ""
        self.path = summaries_path(project_path)
        if self.path is None or not self.path.exists():
            return
        try:
            items = json.loads(self.path.read_text(encoding="utf-8"))
            self.runs = [RunHistory.from_summary(d) for d in items if isinstance(d, dict)]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.error = f"could not read the saved runs in {self.path.name}: {exc}"

    def next_name(self) -> str:
        return f"run {len(self.runs) + 1}"

    def add(self, run: RunHistory) -> None:
        self.runs.append(run)
        del self.runs[:-MAX_RUNS]

    def save(self, project_path: str | None = None) -> None:
        """Write the finished runs' summaries atomically (a crash keeps the previous file)."""
        if project_path is not None:
            self.path = summaries_path(project_path)
        if self.path is None:
            return
        data = [r.summary() for r in self.runs if not r.running]
        try:
            write_atomic(self.path, json.dumps(data, allow_nan=False).encode("utf-8"))
        except (OSError, ValueError) as exc:
            self.error = f"could not save the run summaries: {exc}"
