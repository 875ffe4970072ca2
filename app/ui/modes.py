"""The workspace's four modes -- Design, Data, Train, Evaluate -- each a whole-window page.

Each page is a QMainWindow used as a plain widget inside a QStackedWidget: it has its own
central widget and docks, and Qt's own saveState()/restoreState() (plus the states of
its named splitters) remembers its layout, stored per mode in QSettings. One window
juggling every mode's docks with show/hide would lose hidden docks' sizes and fight over
one saved state; separate pages cannot. Pages filled after start-up (Data, Train,
Evaluate) use splitters rather than docks: a splitter restores exact sizes whenever it
is filled, where a dock state restored into an already laid-out page is re-fitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QWidget,
)


@dataclass(frozen=True)
class Mode:
    id: str
    title: str
    shortcut: str
    tip: str


MODES: dict[str, Mode] = {m.id: m for m in (
    Mode("design", "Design", "Alt+1", "Build the network: layers, wiring, shapes, code"),
    Mode("data", "Data", "Alt+2", "Choose the data set, the split and the augmentation"),
    Mode("train", "Train", "Alt+3", "Training settings and live loss / accuracy plots"),
    Mode("evaluate", "Evaluate", "Alt+4",
         "Confusion matrix, misclassified samples, try the model, compare runs"),
)}
LAYOUT_KEY = "layout/{}"
LAYOUT_VERSION = 1  # bump when a page's docks change so old layouts are not misapplied


class ModePage(QMainWindow):
    """One mode: a central widget plus docks, laid out and remembered independently."""

    def __init__(self, mode: Mode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setObjectName(f"{mode.id}_page")
        self._pending: tuple[QSettings, Callable[[], None]] | None = None
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

    def restore_on_show(self, settings: QSettings, fallback: Callable[[], None]) -> None:
        """Restore the saved layout (else call `fallback`) once the page is on screen: a
        dock state applied to a hidden page is re-fitted when it appears."""
        self._pending = (settings, fallback)
        if self.isVisible():
            self._apply_pending()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_pending()

    def _apply_pending(self) -> None:
        if self._pending is None:
            return
        settings, fallback = self._pending
        self._pending = None
        if not self.restore_layout(settings):
            fallback()

    def add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_") + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _splitters(self) -> list[QSplitter]:
        return [s for s in self.findChildren(QSplitter) if s.objectName()]

    def save_layout(self, settings: QSettings) -> None:
        key = LAYOUT_KEY.format(self.mode.id)
        settings.setValue(key, self.saveState(LAYOUT_VERSION))
        for splitter in self._splitters():
            settings.setValue(f"{key}/{splitter.objectName()}", splitter.saveState())

    def restore_layout(self, settings: QSettings) -> bool:
        """The docks' and named splitters' places as last saved; False if none were."""
        key = LAYOUT_KEY.format(self.mode.id)
        restored = False
        for splitter in self._splitters():
            state = settings.value(f"{key}/{splitter.objectName()}")
            if isinstance(state, QByteArray) and not state.isEmpty():
                restored = splitter.restoreState(state) or restored
        state = settings.value(key)
        if self._docks() and isinstance(state, QByteArray) and not state.isEmpty():
            restored = self.restoreState(state, LAYOUT_VERSION) or restored
        return restored

    def _docks(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)


def placeholder(text: str) -> QLabel:
    """What a page shows until its panels exist (the training tools load after launch)."""
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setObjectName("placeholder")
    return label


class Workspace(QStackedWidget):
    """The pages, one per mode; `mode` is the page on screen."""

    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pages: dict[str, ModePage] = {}
        for mode in MODES.values():
            page = ModePage(mode)
            self.pages[mode.id] = page
            self.addWidget(page)
        self.currentChanged.connect(lambda i: self.modeChanged.emit(self.mode))

    @property
    def mode(self) -> str:
        page = self.currentWidget()
        return page.mode.id if isinstance(page, ModePage) else "design"

    def set_mode(self, mode: str) -> None:
        if mode not in self.pages:
            raise KeyError(f"unknown mode '{mode}'; choose one of {', '.join(MODES)}")
        self.setCurrentWidget(self.pages[mode])

    def page(self, mode: str) -> ModePage:
        return self.pages[mode]

    def save_layouts(self, settings: QSettings) -> None:
        for page in self.pages.values():
            page.save_layout(settings)
        settings.setValue("mode", self.mode)


class _WholeWidth(QObject):
    """Keeps a vertical-only scroll area at least as wide as its form needs."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self.scroll = scroll
        scroll.widget().installEventFilter(self)
        self.update()

    def update(self) -> None:
        content = self.scroll.widget()
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setMinimumWidth(content.minimumSizeHint().width() + bar
                                    + 2 * self.scroll.frameWidth())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.update()
        return False


def keep_form_whole(scroll: QScrollArea) -> QScrollArea:
    """Without a horizontal scroll bar, a form wider than its scroll area loses its right
    edge (clipped fields); the area's minimum width follows the form's instead, so the
    splitter or window around it gives way rather than the form."""
    _WholeWidth(scroll)
    return scroll
