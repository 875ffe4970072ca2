"""Training health: one line per problem found, naming the layer and what to try."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QWidget

from app.analysis.health import HealthFlag, check_health
from app.analysis.run_history import RunHistory
from app.ui.training.plots.base import PlotPanel

ICONS = {"exploding": "⚠", "vanishing": "⚠", "dead_relu": "●", "saturated": "●",
         "overfitting": "↗"}


class HealthView(PlotPanel):
    title = "Training health"
    empty = ("Train the network (F5): its health is checked at every snapshot for "
             "vanishing or exploding gradients, dead ReLUs, saturated Sigmoid/Tanh units "
             "and overfitting, each with what to try.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.body.addWidget(self.list)
        note = QLabel("Checked at every snapshot: vanishing or exploding gradients, dead "
                      "ReLUs, saturated Sigmoid/Tanh units, and validation loss rising while "
                      "training loss falls.")
        note.setWordWrap(True)  # unwrapped, this line would set the window's minimum width
        self.body.addWidget(note)
        self.node_types: dict[str, str] = {}
        self.outputs: list[str] = []
        self.flags: list[HealthFlag] = []

    def set_network(self, node_types: dict[str, str], outputs: list[str]) -> None:
        self.node_types, self.outputs = dict(node_types), list(outputs)

    def key(self, run: RunHistory) -> object:
        return (len(run.snapshots), len(run.epochs))

    def draw(self, run: RunHistory) -> None:
        self.show_content()
        self.flags = check_health(run, self.node_types, self.outputs)
        self.list.clear()
        for flag in self.flags:
            item = QListWidgetItem(f"{ICONS.get(flag.kind, '•')}  {flag.message}.\n"
                                   f"    Try: {flag.remedy}.")
            item.setToolTip(flag.text())
            self.list.addItem(item)
        if not self.flags:
            self.list.addItem("No problem found so far." if run.snapshots else
                              "Waiting for the first snapshot…")
        self.note.setText(f"{len(self.flags)} problem(s)" if self.flags else "healthy")

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return ["kind", "layer", "message", "remedy"], [
            [f.kind, f.node or "", f.message, f.remedy] for f in self.flags]
