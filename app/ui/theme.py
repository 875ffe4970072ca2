"""Light and dark themes: the Qt palette for widgets and the colours the canvas paints with.

Category colours stay the same in both themes so a student learns "orange = convolution"
once; only backgrounds and text change.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

CATEGORY_COLOURS = {
    "Input/Output": "#64748b",
    "Linear": "#3b82f6",
    "Convolution": "#ea7a1f",
    "Pooling": "#0d9488",
    "Normalisation": "#8b5cf6",
    "Recurrent": "#b7791f",
    "Activation": "#16a34a",
    "Dropout": "#6b7280",
    "Merge": "#db2777",
    "Reshape": "#0891b2",
}


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    accent: str
    canvas: str
    grid: str
    node: str
    node_border: str
    edge: str
    error: str
    warning: str
    ok: str

    def colour(self, field: str) -> QColor:
        return QColor(getattr(self, field))


LIGHT = Theme("light", window="#f3f4f6", base="#ffffff", alt_base="#f8fafc", text="#111827",
              muted="#4b5563", accent="#2563eb", canvas="#fafafa", grid="#d9dde3",
              node="#ffffff", node_border="#9ca3af", edge="#6b7280", error="#dc2626",
              warning="#d97706", ok="#16a34a")
DARK = Theme("dark", window="#1f2329", base="#16191d", alt_base="#1b1f24", text="#e5e7eb",
             muted="#9ca3af", accent="#60a5fa", canvas="#14171b", grid="#2a2f36",
             node="#262b32", node_border="#4b5563", edge="#9ca3af", error="#f87171",
             warning="#fbbf24", ok="#4ade80")
THEMES = {t.name: t for t in (LIGHT, DARK)}

_current = LIGHT


def current() -> Theme:
    return _current


def category_colour(category: str) -> QColor:
    return QColor(CATEGORY_COLOURS.get(category, "#64748b"))


def apply_theme(name: str, app: QApplication | None = None) -> Theme:
    """Switch the whole application (Fusion style + palette); unknown names fall back to light."""
    global _current
    _current = THEMES.get(name, LIGHT)
    app = app or QApplication.instance()
    if app is not None:
        app.setStyle("Fusion")
        app.setPalette(_palette(_current))
    return _current


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.base, QPalette.ColorRole.AlternateBase: t.alt_base,
        QPalette.ColorRole.Text: t.text, QPalette.ColorRole.Button: t.window,
        QPalette.ColorRole.ButtonText: t.text, QPalette.ColorRole.ToolTipBase: t.base,
        QPalette.ColorRole.ToolTipText: t.text, QPalette.ColorRole.Highlight: t.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: t.accent,
        QPalette.ColorRole.PlaceholderText: t.muted, QPalette.ColorRole.Mid: t.node_border,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    disabled = QColor(t.muted)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p
