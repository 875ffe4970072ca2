"""The gradient check window: autograd against finite differences for the whole network
or one layer, per parameter tensor, on a tiny float64 input."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.learn.gradient_check import GradCheckError, GradCheckReport, check_network
from app.ui.background import run_in_background

WHOLE = "the whole network"
COLUMNS = ("tensor", "shape", "checked", "max abs error", "max rel error", "")
EXPLAIN = ("For each checked weight θᵢ the numeric gradient is (L(θᵢ+ε) − L(θᵢ−ε)) / 2ε "
           "with ε = 10⁻⁶, computed in float64 on a random batch of 2, and compared with "
           "autograd's. They agree when |autograd − numeric| ≤ 10⁻⁵ + 10⁻³·|numeric| "
           "(torch.autograd.gradcheck's rule). Big tensors are checked on 64 sampled "
           "elements.")


class GradientCheckDialog(QDialog):
    def __init__(self, network: Any, selected: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Gradient check")
        self.network = network
        self.report: GradCheckReport | None = None
        self.scope = QComboBox()
        self.scope.addItem(WHOLE, None)
        for name in network.topological_order():
            if network.node(name).spec.has_module:
                self.scope.addItem(f"{name} ({network.node(name).type})", name)
        if selected is not None:
            self.scope.setCurrentIndex(max(0, self.scope.findData(selected)))
        self.run_button = QPushButton("Check gradients")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        top = QHBoxLayout()
        top.addWidget(QLabel("Check"))
        top.addWidget(self.scope, 1)
        top.addWidget(self.run_button)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-size: 12pt; font-weight: bold;")
        about = QLabel(EXPLAIN)
        about.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(about)
        self.resize(820, 520)

    def run(self, background: bool = True) -> None:
        node = self.scope.currentData()
        self.run_button.setEnabled(False)
        self.verdict.setText("Checking…")
        if background:
            run_in_background(lambda: self._check(node), self.show_report, self._failed,
                              owner=self)
        else:
            self.show_report(self._check(node))

    def _check(self, node: str | None) -> GradCheckReport | str:
        try:
            return check_network(self.network, node)
        except GradCheckError as exc:
            return str(exc)

    def _failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.table.setRowCount(0)
        self.verdict.setText(message)

    def show_report(self, report: GradCheckReport | str) -> None:
        if isinstance(report, str):
            self._failed(report)
            return
        self.report = report
        self.run_button.setEnabled(True)
        self.table.setRowCount(len(report.rows))
        for i, row in enumerate(report.rows):
            cells = (row.name, "×".join(map(str, row.shape)) or "scalar",
                     f"{row.checked} of {row.numel}", f"{row.max_abs:.2e}",
                     f"{row.max_rel:.2e}", "agrees" if row.passed else "DIFFERS")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if j == len(cells) - 1:
                    item.setForeground(QColor("#2ca02c" if row.passed else "#d62728"))
                self.table.setItem(i, j, item)
        self.verdict.setText(
            f"Autograd agrees with finite differences: largest absolute error "
            f"{report.max_abs:.1e}, relative {report.max_rel:.1e}." if report.passed else
            "Autograd and finite differences DISAGREE for the rows marked DIFFERS: a "
            "backward is wrong, or the function has a kink at the checked point.")
