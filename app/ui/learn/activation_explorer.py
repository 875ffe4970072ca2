"""The activation explorer window: activations of the catalogue and their derivatives
(autograd), several overlaid, the current one's parameters editable live."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.catalogue import CATALOGUE
from app.core.params import CHOICE, Param
from app.learn.activations import Curve, activation_types, curve, curve_params
from app.ui.training.plots.base import add_legend, colour, plot_widget

SHOWN_FIRST = ("Sigmoid", "Tanh", "ReLU")
SPAN = 5.0


class ActivationExplorer(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Activation explorer")
        self.types = activation_types()
        self.values: dict[str, dict[str, Any]] = {t: {} for t in self.types}
        self.curves: dict[str, Curve] = {}
        self._build()
        self.list.setCurrentRow(self.types.index(SHOWN_FIRST[0]))
        self.redraw()
        self.resize(1200, 700)

    def _build(self) -> None:
        self.list = QListWidget()
        for t in self.types:
            item = QListWidgetItem(t)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if t in SHOWN_FIRST
                               else Qt.CheckState.Unchecked)
            item.setToolTip(CATALOGUE[t].help)
            self.list.addItem(item)
        self.list.itemChanged.connect(lambda _item: self.redraw())
        self.list.currentRowChanged.connect(self._current_changed)
        self.span = QDoubleSpinBox()
        self.span.setRange(0.5, 50.0)
        self.span.setValue(SPAN)
        self.span.setPrefix("± ")
        self.span.setToolTip("The x range plotted")
        self.span.valueChanged.connect(self.redraw)
        self.params_box = QWidget()
        self.params_form = QFormLayout(self.params_box)
        self.help = QLabel()
        self.help.setWordWrap(True)
        range_form = QFormLayout()
        range_form.addRow("x range", self.span)
        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(QLabel("Tick to overlay; select to edit:"))
        column.addWidget(self.list, 1)
        column.addLayout(range_form)
        column.addWidget(self.params_box)
        column.addWidget(self.help)
        left.setMaximumWidth(340)

        self.values_plot = plot_widget("f(x)", "f(x)", "x")
        self.slopes_plot = plot_widget("f′(x) by autograd", "f′(x)", "x")
        for plot in (self.values_plot, self.slopes_plot):
            add_legend(plot)
        self.slopes_plot.setXLink(self.values_plot)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("font-size: 11pt;")
        right = QWidget()
        plots = QVBoxLayout(right)
        plots.addWidget(self.values_plot, 1)
        plots.addWidget(self.slopes_plot, 1)
        plots.addWidget(self.note)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        QVBoxLayout(self).addWidget(split)

    @property
    def current(self) -> str:
        return self.types[max(0, self.list.currentRow())]

    def shown(self) -> list[str]:
        return [t for i, t in enumerate(self.types)
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def _current_changed(self) -> None:
        t = self.current
        item = self.list.item(self.types.index(t))
        if item.checkState() != Qt.CheckState.Checked:
            item.setCheckState(Qt.CheckState.Checked)  # redraws
        self.help.setText(CATALOGUE[t].help)
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        for p in curve_params(t):
            self.params_form.addRow(p.name, self._editor(t, p))
        if not curve_params(t):
            self.params_form.addRow(QLabel("No parameters to adjust."))
        self.redraw()

    def _editor(self, layer_type: str, p: Param) -> QWidget:
        value = self.values[layer_type].get(p.name, p.default)
        if p.kind == CHOICE:
            box = QComboBox()
            box.addItems([str(c) for c in p.choices])
            box.setCurrentText(str(value))
            box.currentTextChanged.connect(lambda text: self.set_value(layer_type, p.name, text))
            box.setToolTip(p.help)
            return box
        spin = QDoubleSpinBox()
        spin.setDecimals(3)
        spin.setRange(p.minimum if p.minimum is not None else -10.0,
                      p.maximum if p.maximum is not None else 10.0)
        spin.setSingleStep(0.05)
        spin.setValue(float(value))
        spin.setToolTip(p.help)
        spin.valueChanged.connect(lambda v: self.set_value(layer_type, p.name, v))
        return spin

    def set_value(self, layer_type: str, name: str, value: Any) -> None:
        self.values[layer_type][name] = value
        self.redraw()

    def redraw(self) -> None:
        import numpy as np

        xs = np.linspace(-self.span.value(), self.span.value(), 401)
        for plot in (self.values_plot, self.slopes_plot):
            plot.clear()
        self.curves = {}
        for t in self.shown():
            c = curve(t, self.values[t], xs)
            self.curves[t] = c
            i = self.types.index(t)
            width = 3.5 if t == self.current else 2.0
            pen = pg.mkPen(colour(i), width=width)
            self.values_plot.plot(xs, c.ys, pen=pen, name=t)
            self.slopes_plot.plot(xs, c.slopes, pen=pen, name=f"{t}′")
        current = self.curves.get(self.current)
        self.note.setText(f"<b>{self.current}:</b> {current.note()}" if current else
                          "Tick an activation to plot it.")
