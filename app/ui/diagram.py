"""The network diagram as a picture: the canvas scene rendered to SVG (QSvgGenerator) or PNG.

File > Export Diagram… renders the window's own scene, so the picture shows what the
student sees (groups collapsed or expanded as they are on the canvas, shapes, colours);
`python -m app render FILE -o net.svg` builds the same scene offscreen. The grid, the
selection and hover notes are left out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from app.ui import theme
from app.ui.canvas.scene import CanvasScene

FORMATS = (".svg", ".png")
MARGIN = 24.0
PNG_SCALE = 2.0  # pixels per scene unit: sharp on slides and high-DPI screens
DIAGRAM_FILTER = "SVG drawing (*.svg);;PNG image (*.png)"


class DiagramError(ValueError):
    """The picture cannot be written; one readable line."""


def diagram_rect(scene: CanvasScene) -> QRectF:
    rect = scene.nodes_rect()
    if rect.isEmpty():
        raise DiagramError("the network is empty: there is nothing to draw")
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def png_size(rect: QRectF) -> QSize:
    return QSize(round(rect.width() * PNG_SCALE), round(rect.height() * PNG_SCALE))


def render_diagram(scene: CanvasScene, path: str | Path) -> Path:
    """Write the scene's nodes and wires to `path` (.svg or .png, by its suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DiagramError(f"{path.name}: the diagram is written as .svg or .png")
    rect = diagram_rect(scene)
    selected = scene.selected_nodes()
    scene.clearSelection()
    note_visible = scene.note.isVisible()
    scene.note.hide()
    grid = scene.grid_visible
    scene.grid_visible = False
    scene.set_cached(False)
    try:
        if suffix == ".svg":
            _write_svg(scene, rect, path)
        else:
            _write_png(scene, rect, path)
    finally:
        scene.set_cached(True)
        scene.grid_visible = grid
        scene.note.setVisible(note_visible)
        scene.select_nodes(selected)
    return path


def _write_svg(scene: CanvasScene, rect: QRectF, path: Path) -> None:
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(rect.size().toSize())
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(path.stem)
    generator.setDescription("Network diagram exported by TorchCanvas")
    painter = QPainter()
    if not painter.begin(generator):
        raise DiagramError(f"cannot write {path}")
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect,
                 Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if not path.exists():
        raise DiagramError(f"cannot write {path}")


def _write_png(scene: CanvasScene, rect: QRectF, path: Path) -> None:
    image = QImage(png_size(rect), QImage.Format.Format_ARGB32)
    image.fill(QColor(theme.current().canvas))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect,
                 Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if not image.save(str(path)):
        raise DiagramError(f"cannot write {path}")


def render_project_file(project_path: str, output: str, theme_name: str = "light") -> Path:
    """`python -m app render`: the project's diagram without a window (offscreen Qt)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.core.project import load_project
    from app.ui.session import EditorSession

    project = load_project(project_path)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(theme_name, app)
    session = EditorSession(project)
    session.infer_now()  # the boxes show their output shapes
    scene = CanvasScene(session)
    return render_diagram(scene, output)


def export_diagram_dialog(window: object) -> None:
    """File > Export Diagram…: choose a .svg or .png file and write the canvas to it."""
    from PySide6.QtWidgets import QFileDialog

    from app.ui.weights_export import file_stem

    start = Path(window.start_dir()) / f"{file_stem(window.project.name)}.svg"
    path, chosen = QFileDialog.getSaveFileName(window, "Export diagram", str(start),
                                               DIAGRAM_FILTER)
    if not path:
        return
    if Path(path).suffix.lower() not in FORMATS:
        path += ".png" if "PNG" in chosen else ".svg"
    export_diagram_to(window, path)


def export_diagram_to(window: object, path: str) -> bool:
    try:
        render_diagram(window.scene, path)
    except (DiagramError, OSError) as exc:
        window.inform("Diagram not exported", str(exc), error=True)
        return False
    window.remember_dir(path)
    window.statusBar().showMessage(f"Wrote the diagram to {path}", 6000)
    return True
