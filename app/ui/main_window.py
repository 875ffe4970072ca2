"""Main window (interim): shows the network's layers and inferred shapes as a table."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMessageBox, QTableWidget, QTableWidgetItem

from app.core.graph import NetworkDocument
from app.core.project import ProjectError, load_project
from app.core.shapes import format_shape, infer_shapes
from app.core.templates import build_template


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("TorchCanvas")
        self.resize(1200, 800)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Layer", "Type", "Output shape"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.setCentralWidget(self.table)

    def show_document(self, doc: NetworkDocument) -> None:
        results = infer_shapes(doc)
        names = doc.topological_order()
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            r = results[name]
            shape = format_shape(r.shape) if r.ok and r.shape is not None else (r.error or "")
            for col, text in enumerate((name, doc.node(name).type, shape)):
                self.table.setItem(row, col, QTableWidgetItem(text))

    def open_template(self, template_id: str) -> None:
        self.show_document(build_template(template_id))

    def open_project(self, path: str) -> None:
        try:
            self.show_document(load_project(path).network)
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot open project", str(exc))
