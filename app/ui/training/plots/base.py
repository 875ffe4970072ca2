"""PlotPanel: a plot with its own controls, redrawn from a RunHistory, exportable.

Panels never redraw on events: the docks' timer calls `refresh(run)` at most ~10 times a
second, and only when the run's `version` moved since the last drawing. A panel with
nothing to draw yet (no run, or no epoch so far) shows a message page saying what will
appear and when, instead of empty axes.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.analysis.run_history import RunHistory
from app.ui import theme

pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")

# Class colours (decision boundary, data scatter): the same in both themes, like categories.
COLOURS = theme.LIGHT.series
TITLE_SIZE = "10pt"
LEGEND_SIZE = "9pt"


def colour(i: int) -> str:
    """The i-th series colour of the current theme."""
    return theme.series_colour(i)


def apply_plot_theme(t: theme.Theme) -> None:
    """pyqtgraph's defaults for plots made from now on (existing ones: style_plot)."""
    pg.setConfigOptions(background=t.base, foreground=t.text)


apply_plot_theme(theme.current())
theme.notifier.changed.connect(apply_plot_theme)


def style_plot(w: pg.PlotWidget) -> None:
    """Background, title, axes, grid and legend in the current theme's colours."""
    t = theme.current()
    item = w.getPlotItem()
    w.setBackground(t.base)
    item.titleLabel.setText(item.titleLabel.text, color=t.text, size=TITLE_SIZE)
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setTextPen(t.text)
        axis.setPen(t.muted)
    w.showGrid(x=True, y=True, alpha=t.plot_grid_alpha)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(t.text)
        if legend.parentItem() is item.vb:  # over the data: a solid box keeps it readable
            legend.setBrush(QColor(t.base).lighter(100) if t.name == "light" else t.alt_base)
            legend.setPen(t.grid)


class _FollowTheme(QObject):
    """Restyles its plot (its parent) on a theme switch; deleted with the plot."""

    def restyle(self, _theme: theme.Theme) -> None:
        style_plot(self.parent())


def plot_widget(title: str = "", left: str = "", bottom: str = "") -> pg.PlotWidget:
    """A plot in the current theme that follows later theme switches by itself."""
    w = pg.PlotWidget()
    w.setTitle(title, size=TITLE_SIZE)
    w.setLabel("left", left)
    w.setLabel("bottom", bottom)
    for axis in ("left", "bottom"):
        # The grid is drawn by the axes: uncached it costs ~25 ms per repaint (measured),
        # cached it is redrawn only when the axis range or size changes.
        w.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    # The title is Python-painted text that never changes during a run: paint it once.
    w.getPlotItem().titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    style_plot(w)
    w.theme_follower = _FollowTheme(w)  # a Python reference keeps its method alive
    theme.notifier.changed.connect(w.theme_follower.restyle)
    return w


def add_legend(w: pg.PlotWidget) -> pg.LegendItem:
    """A legend in the top-right corner, in the theme's colours, on a solid background so
    the curves under it do not garble its text."""
    legend = w.addLegend(offset=(-6, 6), labelTextSize=LEGEND_SIZE, verSpacing=-6)
    # Painted in Python (box, samples, labels) at every repaint of the plot otherwise.
    legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    style_plot(w)
    return legend


AXIS_ROOM = 72  # px of a plot's width its left axis and margins take, at most


class _LegendRow(QObject):
    """Keeps a row legend (add_legend_row) within its plot's width: as many columns as
    fit, so a narrow plot gets two short rows rather than a legend wider than the plot."""

    def __init__(self, w: pg.PlotWidget, legend: pg.LegendItem) -> None:
        super().__init__(w)
        self.legend = legend
        w.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit(watched.width())
        return False

    def fit(self, width: float) -> None:
        room = width - AXIS_ROOM
        for columns in range(max(1, len(self.legend.items)), 0, -1):
            self.legend.setColumnCount(columns)
            if self.legend.layout.preferredWidth() <= room:
                break
        self.legend.updateGeometry()


def add_legend_row(w: pg.PlotWidget) -> pg.LegendItem:
    """A legend between the title and the data, so it never covers a curve however the
    curves run (a loss that barely falls stays under a corner legend all run long). It
    takes the row of the top axis, which these plots never show."""
    item = w.getPlotItem()
    legend = pg.LegendItem(labelTextSize=LEGEND_SIZE, colCount=4, horSpacing=14,
                           verSpacing=-6)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    legend.layout.setContentsMargins(2, 0, 2, 0)
    item.legend = legend  # curves plotted with a name join it, as with addLegend
    item.layout.removeItem(item.getAxis("top"))
    item.layout.addItem(legend, 1, 1)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignRight)
    w.legend_row = _LegendRow(w, legend)
    style_plot(w)
    return legend


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (x 10^k) that is >= x (x > 0)."""
    scale = 10 ** math.floor(math.log10(x))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= x * (1 - 1e-9))


def steady_range(low: float, high: float, current: tuple[float, float] | None,
                 from_zero: bool) -> tuple[float, float] | None:
    """A y range that holds the data [low, high] with round limits, or None to keep
    `current`. It changes only when the data leave it or use under a third of it, so a
    plot updated four times a second does not lay out its axis (and grid) each time."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if current is not None:
        lo, hi = current
        if lo <= low and high <= hi and (high - low) >= (hi - lo) / 3:
            return None
    span = max(high - low, abs(high) * 1e-3, 1e-12)
    top = nice_ceil(high + 0.05 * span) if high + 0.05 * span > 0 \
        else -_nice_floor_abs(-(high + 0.05 * span))
    if from_zero and low >= 0:
        bottom = 0.0
    else:
        bottom = -nice_ceil(-(low - 0.05 * span)) if low - 0.05 * span < 0 \
            else _nice_floor_abs(low - 0.05 * span)
    return (bottom, top) if top > bottom else (bottom, bottom + 1.0)


class SteadyView:
    """Sets a plot's ranges itself, and only when the data leave them (steady_range).

    pyqtgraph's auto-range runs while painting: a refresh with new data repaints, the
    range moves, the axes are laid out and the plot repaints again, several times a
    second while a run trains. `log_y`: the y axis is logarithmic (whole decades)."""

    def __init__(self, w: pg.PlotWidget, zero_y: bool = False, log_y: bool = False) -> None:
        self.box = w.getViewBox()
        self.box.disableAutoRange()
        self.zero_y, self.log_y = zero_y, log_y
        self.x: tuple[float, float] | None = None
        self.y: tuple[float, float] | None = None

    def reset(self) -> None:
        self.x = self.y = None

    def show(self, x: tuple[float, float] | None = None,
             y: tuple[float, float] | None = None) -> None:
        """Make sure the data's extent x = (min, max), y = (min, max) is in view."""
        nx = steady_range(*x, self.x, from_zero=False) if x is not None else None
        if y is None:
            ny = None
        elif self.log_y:
            ny = _decades(*y, self.y)
        else:
            ny = steady_range(*y, self.y, self.zero_y)
        if nx is None and ny is None:
            return
        self.x, self.y = nx or self.x, ny or self.y
        self.box.setRange(xRange=nx, yRange=ny, padding=0)

    def fit_x(self, low: float, high: float) -> None:
        """Show exactly [low, high] plus a 2 % sliver for the end points' symbols: for an
        axis whose end is known from the start (a run's planned steps), where rounding
        up to 1-2-5 limits would leave a third of the plot empty (135 steps: 0…200)."""
        margin = 0.02 * (high - low)
        x = (low - margin, high + margin)
        if x != self.x:
            self.x = x
            self.box.setRange(xRange=x, padding=0)


def _decades(low: float, high: float, current: tuple[float, float] | None
             ) -> tuple[float, float] | None:
    """log10 view limits on whole decades holding [low, high] (positive values)."""
    if not (low > 0 and math.isfinite(high)):
        return None
    # a tenth of a decade of margin: a point never sits on the edge, half its symbol cut
    lo, hi = math.floor(math.log10(low) - 0.1), math.ceil(math.log10(high) + 0.1)
    if current is not None and current[0] <= lo and hi <= current[1] \
            and hi - lo >= (current[1] - current[0]) / 3:
        return None
    return float(lo), float(max(hi, lo + 1))


def _nice_floor_abs(x: float) -> float:
    """The largest of 1, 2, 2.5, 5 (x 10^k) that is <= x (x > 0)."""
    scale = 10 ** math.floor(math.log10(x))
    return max(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale <= x * (1 + 1e-9))


def message_label(text: str = "") -> QLabel:
    """The centred, wrapped text of an empty panel's message page."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMargin(24)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label


class PlotPanel(QWidget):
    title = "Plot"
    # Shown before any run; None: the panel's own (empty) view is telling enough.
    empty: str | None = "Train the network (F5) to see this plot."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: RunHistory | None = None
        self.drawn_version = -1
        self.steady_views: list[SteadyView] = []
        self.theme_name = theme.current().name
        theme.notifier.changed.connect(self._theme_switched)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, both themes
        # a changing text must not change the size hint: that would re-lay out and
        # repaint the whole dock on every refresh
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.content = QWidget()
        self.body = QVBoxLayout(self.content)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.message = message_label(self.empty or "")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.pages.addWidget(self.content)
        png = QPushButton("Save PNG…")
        png.setToolTip("Save this plot as a picture")
        png.clicked.connect(self._save_png_dialog)
        data = QPushButton("Save CSV…")
        data.setToolTip("Save the numbers behind this plot")
        data.clicked.connect(self._save_csv_dialog)
        self.save_buttons = (png, data)
        top = QHBoxLayout()
        top.addLayout(self.controls)
        top.addWidget(self.note, 1)
        top.addWidget(png)
        top.addWidget(data)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(top)
        outer.addWidget(self.pages, 1)
        if self.empty:
            self.show_message(self.empty)
        else:
            self.show_content()

    # -- pages --------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Nothing to draw: say what will appear here, and when."""
        self.message.setText(text)
        self.pages.setCurrentWidget(self.message)
        self.note.setText("")
        for button in self.save_buttons:
            button.setEnabled(False)

    def show_content(self) -> None:
        self.pages.setCurrentWidget(self.content)
        for button in self.save_buttons:
            button.setEnabled(True)

    @property
    def showing_message(self) -> bool:
        return self.pages.currentWidget() is self.message

    def clear_view(self) -> None:
        """No run (none yet, or another network was opened)."""
        if self.empty:
            self.show_message(self.empty)

    def _theme_switched(self, t: theme.Theme) -> None:
        if t.name != self.theme_name:
            self.theme_name = t.name
            self.theme_changed()

    def theme_changed(self) -> None:
        """The plots restyle themselves (plot_widget); data colours are redrawn here."""
        self.redraw()

    # -- drawing ------------------------------------------------------------------------
    def refresh(self, run: RunHistory | None, force: bool = False) -> None:
        """Redraw when the run changed since the last call (or when forced)."""
        if run is not self.run:
            self.run, force = run, True
            for view in self.steady_views:  # another run: its own ranges
                view.reset()
        if run is None:
            self.drawn_version = -1
            self.clear_view()
            return
        key = self.key(run)
        if not force and key == self.drawn_version:
            return
        self.drawn_version = key
        self.draw(run)

    def steady_view(self, w: pg.PlotWidget, **kwargs: bool) -> SteadyView:
        """A SteadyView of one of this panel's plots, reset for each new run."""
        view = SteadyView(w, **kwargs)
        self.steady_views.append(view)
        return view

    def key(self, run: RunHistory) -> object:
        """What this plot depends on; it redraws only when this changes. Most plots
        follow snapshots or epochs, not every batch report."""
        return run.version

    def redraw(self) -> None:
        """A control changed: draw the same run again."""
        if self.run is not None:
            self.draw(self.run)

    def draw(self, run: RunHistory) -> None:
        raise NotImplementedError

    # -- export -------------------------------------------------------------------------
    def table(self) -> tuple[list[str], list[list[Any]]]:
        """(header, rows) of the data on screen."""
        raise NotImplementedError

    def export_target(self) -> QWidget:
        return self

    def save_png(self, path: str | Path) -> bool:
        return self.export_target().grab().save(str(path), "PNG")

    def save_csv(self, path: str | Path) -> int:
        header, rows = self.table()
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return len(rows)

    def _file_name(self) -> str:
        return self.title.lower().replace(" ", "_").replace("/", "_")

    def _save_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", f"{self._file_name()}.png",
                                              "PNG images (*.png)")
        if path:
            self.save_png(path)

    def _save_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot data",
                                              f"{self._file_name()}.csv", "CSV (*.csv)")
        if path:
            self.save_csv(path)
