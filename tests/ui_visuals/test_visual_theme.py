"""Point 6 of issue 12: the dark theme is complete and every text colour is readable.

Contrast is the WCAG 2.x ratio of text against its background; body text wants 4.5:1.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QStyle

from app.ui import theme

AA = 4.5
R = QPalette.ColorRole
PAIRS = [(R.WindowText, R.Window), (R.Text, R.Base), (R.Text, R.AlternateBase),
         (R.ButtonText, R.Button), (R.HighlightedText, R.Highlight),
         (R.ToolTipText, R.ToolTipBase), (R.PlaceholderText, R.Base),
         (R.PlaceholderText, R.Window), (R.Link, R.Base), (R.BrightText, R.Window)]


def test_contrast_ratio_matches_wcag() -> None:
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_palette_roles_are_readable(qapp, use_theme, name: str) -> None:
    use_theme(name)
    p = qapp.palette()
    assert p.color(R.Window).name() == theme.THEMES[name].window  # the theme was applied
    for text, background in PAIRS:
        ratio = theme.contrast_ratio(p.color(text), p.color(background))
        assert ratio >= AA, f"{name}: {text.name} on {background.name} is {ratio:.2f}:1"


@pytest.mark.parametrize("name", ["light", "dark"])
def test_node_colours_are_readable(name: str) -> None:
    t = theme.THEMES[name]
    for category, header in theme.CATEGORY_COLOURS.items():
        title = theme.contrast_ratio(theme.NODE_TITLE, header)
        assert title >= AA, f"layer type and name on {category} header: {title:.2f}:1"
    body = {"shape": t.text, "parameters": t.muted, "shape error": t.error}
    for what, colour in body.items():
        assert theme.contrast_ratio(colour, t.node) >= AA, f"{what} on a node in {name}"
    assert theme.contrast_ratio(t.muted, t.canvas) >= AA  # port labels on the canvas
    for badge in (t.error, t.warning):
        assert theme.contrast_ratio(theme.readable_text(badge), badge) >= AA


@pytest.mark.parametrize("name", ["light", "dark"])
def test_status_and_code_colours_are_readable(name: str) -> None:
    from app.ui.panels.code_view import SYNTAX

    t = theme.THEMES[name]
    for what in ("error", "warning", "ok", "muted", "accent"):
        for background in (t.base, t.window):
            ratio = theme.contrast_ratio(getattr(t, what), background)
            assert ratio >= AA, f"{name}: {what} on {background} is {ratio:.2f}:1"
    for token, colour in SYNTAX[name].items():
        assert theme.contrast_ratio(colour, t.base) >= AA, f"code {token} in {name}"


def test_code_view_recolours_with_the_theme(qapp, use_theme) -> None:
    from PySide6.QtGui import QTextDocument

    from app.ui.panels.code_view import SYNTAX, PythonHighlighter

    document = QTextDocument()  # the highlighter lives as long as its document
    highlighter = PythonHighlighter(document)
    use_theme("dark")
    highlighter.set_theme(theme.current())
    keyword = highlighter.rules[0][1].foreground().color().name()
    assert keyword == SYNTAX["dark"]["keyword"]


def _opaque_lightness(icon: QIcon, mode: QIcon.Mode = QIcon.Mode.Normal) -> float:
    image = icon.pixmap(QSize(24, 24), mode).toImage()
    shades = [image.pixelColor(x, y) for x in range(image.width())
              for y in range(image.height())]
    opaque = [c.lightnessF() for c in shades if c.alpha() > 160]
    assert opaque, "the icon draws nothing"
    return sum(opaque) / len(opaque)


def test_undo_redo_icons_stay_visible_in_both_themes(qapp, use_theme) -> None:
    use_theme("light")
    undo = qapp.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack)
    redo = qapp.style().standardIcon(QStyle.StandardPixmap.SP_ArrowForward)
    assert _opaque_lightness(undo) < 0.35  # dark arrows on a light toolbar
    use_theme("dark")  # the same icon objects follow the switch
    for icon in (undo, redo):
        assert _opaque_lightness(icon) > 0.65
        assert _opaque_lightness(icon, QIcon.Mode.Disabled) > 0.45


def test_window_toolbar_icons_follow_the_theme(qapp, use_theme, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    use_theme("light")  # what the launcher does before it builds the window
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        autosave_dir=tmp_path / "autosave", training=False)
    try:
        window.set_theme("dark")
        assert _opaque_lightness(window.act_undo.icon()) > 0.45
    finally:
        window.session.stack.setClean()
        window.autosaver.stop()
        window.deleteLater()


def test_palette_entries_and_data_help_follow_the_theme(qapp, use_theme) -> None:
    from app.ui.panels.palette import PalettePanel

    use_theme("light")
    panel = PalettePanel()  # built in light, then switched: what View > Theme does
    use_theme("dark")
    item = panel.items["Conv2d"]
    brush = item.foreground(0)
    shown = brush.color() if brush.style() != Qt.BrushStyle.NoBrush \
        else panel.tree.palette().color(R.Text)
    assert theme.contrast_ratio(shown, panel.tree.palette().color(R.Base)) >= AA


def test_data_help_labels_follow_the_theme(qapp, use_theme) -> None:
    from app.ui.training.data_panel import DataPanel

    panel = DataPanel()
    labels = [panel.help, panel.augment.step_help]
    for name in ("light", "dark"):
        use_theme(name)
        for label in labels:
            assert "color" not in label.styleSheet()
            p = label.palette()
            ratio = theme.contrast_ratio(p.color(label.foregroundRole()), p.color(R.Window))
            assert ratio >= AA, f"{name}: help text {ratio:.2f}:1"


def test_every_catalogue_category_has_its_own_colour() -> None:
    from app.core.catalogue import CATEGORIES

    assert set(CATEGORIES) <= set(theme.CATEGORY_COLOURS)
    assert len(set(theme.CATEGORY_COLOURS.values())) == len(theme.CATEGORY_COLOURS)


def _lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour: distances in it follow what the eye tells apart."""
    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_each_category_has_a_colour_of_its_own() -> None:
    """Dropout was slate like Input/Output (ΔE 4: the same grey on the canvas); every pair of
    categories now differs by ΔE ≥ 15, a difference seen at a glance."""
    import itertools
    import math

    for a, b in itertools.combinations(theme.CATEGORY_COLOURS, 2):
        distance = math.dist(_lab(theme.CATEGORY_COLOURS[a]), _lab(theme.CATEGORY_COLOURS[b]))
        assert distance >= 15, f"{a} and {b} look alike: ΔE {distance:.1f}"


@pytest.mark.parametrize("name", ["light", "dark"])
def test_dropout_header_is_its_category_colour(qtbot, use_theme, name: str) -> None:
    """The canvas paints a Dropout card's header from the category table, in either theme."""
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    from app.core.graph import NetworkDocument
    from app.ui.canvas.node_item import HEADER, WIDTH, NodeItem

    use_theme(name)
    doc = NetworkDocument()
    item = NodeItem(doc.node(doc.add_node("Dropout", {}, "drop").name))
    image = QImage(int(WIDTH) + 20, 120, QImage.Format.Format_RGB32)
    image.fill(QColor(theme.current().canvas))
    painter = QPainter(image)
    painter.translate(10, 10)
    item.paint(painter, QStyleOptionGraphicsItem())
    painter.end()
    header = QColor(image.pixel(10 + int(WIDTH) - 30, 10 + int(HEADER) - 4))
    assert header.name() == theme.CATEGORY_COLOURS["Dropout"]
    assert theme.contrast_ratio(theme.NODE_TITLE, header) >= 4.5
