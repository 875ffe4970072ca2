"""Light and dark themes: the Qt palette for widgets, the colours the canvas and the plots
paint with, and standard icons recoloured to stay visible on either background.

Category colours stay the same in both themes so a student learns "orange = convolution"
once; they are dark enough for the white layer name on a node's header to read at WCAG AA
(>= 4.5:1). Only backgrounds and text change between themes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

CATEGORY_COLOURS = {
    "Input/Output": "#475569",
    "Linear": "#1d4ed8",
    "Convolution": "#c2410c",
    "Pooling": "#0f766e",
    "Normalisation": "#7c3aed",
    "Recurrent": "#a16207",
    "Attention": "#b91c1c",
    "Activation": "#15803d",
    "Dropout": "#86198f",  # regularisation: a hue of its own, not Input/Output's slate
    "Merge": "#be185d",
    "Reshape": "#0e7490",
}
FALLBACK_CATEGORY = "#475569"
NODE_TITLE = "#ffffff"  # layer type and name on the category-coloured header


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    accent: str  # links, the selected node's border, focus
    highlight: str  # selected rows; carries `highlighted_text`
    highlighted_text: str
    canvas: str
    grid: str
    node: str
    node_border: str
    edge: str
    error: str
    warning: str
    ok: str
    plot_grid_alpha: float
    series: tuple[str, ...]  # plot lines, one per run or per curve, in order

    def colour(self, field: str) -> QColor:
        return QColor(getattr(self, field))


LIGHT = Theme("light", window="#f3f4f6", base="#ffffff", alt_base="#f1f5f9", text="#111827",
              muted="#4b5563", accent="#2563eb", highlight="#2563eb",
              highlighted_text="#ffffff", canvas="#fafafa", grid="#d9dde3", node="#ffffff",
              node_border="#9ca3af", edge="#6b7280", error="#b91c1c", warning="#b45309",
              ok="#15803d", plot_grid_alpha=0.25,
              series=("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"))
DARK = Theme("dark", window="#1f2329", base="#16191d", alt_base="#1d2127", text="#e5e7eb",
             muted="#a3aab5", accent="#60a5fa", highlight="#1d4ed8",
             highlighted_text="#ffffff", canvas="#14171b", grid="#2a2f36", node="#262b32",
             node_border="#4b5563", edge="#9ca3af", error="#f87171", warning="#fbbf24",
             ok="#4ade80", plot_grid_alpha=0.3,
             series=("#4ea8ff", "#ffa24c", "#4fd16b", "#ff6b6b", "#c19bff", "#d8a07a",
                     "#ff8fd0", "#c0c4cc", "#e0e055", "#35d4e8"))
THEMES = {t.name: t for t in (LIGHT, DARK)}

_current = LIGHT


class _Notifier(QObject):
    changed = Signal(object)  # the new Theme, after the palette is set


notifier = _Notifier()  # connect bound methods of QObjects: they disconnect when deleted
_style: QProxyStyle | None = None  # Python must keep the style alive for its overrides


def current() -> Theme:
    return _current


def category_colour(category: str) -> QColor:
    return QColor(CATEGORY_COLOURS.get(category, FALLBACK_CATEGORY))


def series_colour(i: int) -> str:
    """The i-th plot colour of the current theme (cycles)."""
    series = _current.series
    return series[i % len(series)]


# -- contrast (WCAG 2.x) -------------------------------------------------------------------
def relative_luminance(colour: QColor | str) -> float:
    c = QColor(colour)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
            + 0.0722 * channel(c.blueF()))


def contrast_ratio(a: QColor | str, b: QColor | str) -> float:
    """WCAG contrast ratio, 1 (same) to 21 (black on white); text wants >= 4.5."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text(background: QColor | str) -> str:
    """Near-black or white, whichever reads better on `background`."""
    dark, light = "#111827", "#ffffff"
    return dark if contrast_ratio(dark, background) >= contrast_ratio(light, background) \
        else light


# -- applying ------------------------------------------------------------------------------
def apply_theme(name: str, app: QApplication | None = None) -> Theme:
    """Switch the whole application (Fusion style with recoloured icons + palette); unknown
    names fall back to light. Widgets that paint with fixed theme colours (plots) follow
    through `notifier.changed`."""
    global _current
    _current = THEMES.get(name, LIGHT)
    app = app or QApplication.instance()
    if app is not None:
        install_style(app)
        app.setPalette(palette(_current))
    notifier.changed.emit(_current)
    return _current


def install_style(app: QApplication) -> None:
    """Fusion with theme-following icons; call before building windows so the standard
    icons they take from the style are the recoloured ones."""
    global _style
    if _style is None or app.style() is not _style:
        _style = ThemedStyle()
        app.setStyle(_style)


def palette(t: Theme) -> QPalette:
    # Built from the button and window colours so Fusion's derived shades (Light, Dark,
    # Shadow: frame edges, splitters, tab outlines) match the theme, then set role by role.
    p = QPalette(QColor(t.window), QColor(t.window))
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.base, QPalette.ColorRole.AlternateBase: t.alt_base,
        QPalette.ColorRole.Text: t.text, QPalette.ColorRole.Button: t.window,
        QPalette.ColorRole.ButtonText: t.text, QPalette.ColorRole.ToolTipBase: t.base,
        QPalette.ColorRole.ToolTipText: t.text, QPalette.ColorRole.Highlight: t.highlight,
        QPalette.ColorRole.HighlightedText: t.highlighted_text,
        QPalette.ColorRole.Link: t.accent, QPalette.ColorRole.LinkVisited: t.accent,
        QPalette.ColorRole.PlaceholderText: t.muted, QPalette.ColorRole.Mid: t.node_border,
        QPalette.ColorRole.BrightText: t.error,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    disabled = QColor(t.muted)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def mute(widget: QWidget) -> None:
    """Secondary text (help lines, notes): the palette's muted colour, so it follows the
    theme, unlike a colour fixed in a style sheet."""
    widget.setForegroundRole(QPalette.ColorRole.PlaceholderText)


# -- icons ---------------------------------------------------------------------------------
class _TintedIconEngine(QIconEngine):
    """A monochrome icon painted in the current palette's text colour at paint time, so it
    stays visible after a theme switch without anyone setting it again."""

    def __init__(self, source: QIcon) -> None:
        super().__init__()
        self.source = source

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        base = self.source.pixmap(size, QIcon.Mode.Normal, state)
        out = QPixmap(base.size())
        out.setDevicePixelRatio(base.devicePixelRatio())
        out.fill(Qt.GlobalColor.transparent)
        painter = QPainter(out)
        painter.drawPixmap(QPoint(0, 0), base)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        t = _current
        painter.fillRect(out.rect(), QColor(t.muted if mode == QIcon.Mode.Disabled else t.text))
        painter.end()
        return out

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))

    def clone(self) -> QIconEngine:
        return _TintedIconEngine(self.source)


# Fusion draws these as dark grey shapes that vanish on a dark background.
_MONOCHROME = {
    QStyle.StandardPixmap.SP_ArrowBack, QStyle.StandardPixmap.SP_ArrowForward,
    QStyle.StandardPixmap.SP_ArrowLeft, QStyle.StandardPixmap.SP_ArrowRight,
    QStyle.StandardPixmap.SP_ArrowUp, QStyle.StandardPixmap.SP_ArrowDown,
    QStyle.StandardPixmap.SP_FileDialogDetailedView, QStyle.StandardPixmap.SP_FileDialogListView,
    QStyle.StandardPixmap.SP_TitleBarMaxButton, QStyle.StandardPixmap.SP_TitleBarNormalButton,
    QStyle.StandardPixmap.SP_TitleBarCloseButton, QStyle.StandardPixmap.SP_MediaPlay,
    QStyle.StandardPixmap.SP_MediaPause, QStyle.StandardPixmap.SP_MediaStop,
    QStyle.StandardPixmap.SP_MediaSkipForward, QStyle.StandardPixmap.SP_MediaSkipBackward,
    QStyle.StandardPixmap.SP_BrowserReload, QStyle.StandardPixmap.SP_BrowserStop,
    QStyle.StandardPixmap.SP_DockWidgetCloseButton,
}


def tinted(icon: QIcon) -> QIcon:
    """`icon` redrawn in the theme's text colour (its shape is kept, its colours are not)."""
    return QIcon(_TintedIconEngine(icon))


class ThemedStyle(QProxyStyle):
    """Fusion whose monochrome standard icons follow the theme's text colour."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def standardIcon(self, standard_icon: QStyle.StandardPixmap,
                     option: QStyleOption | None = None,
                     widget: QWidget | None = None) -> QIcon:
        icon = super().standardIcon(standard_icon, option, widget)
        return tinted(icon) if standard_icon in _MONOCHROME else icon
