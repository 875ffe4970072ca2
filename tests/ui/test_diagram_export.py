"""File > Export Diagram / Export ONNX and `python -m app render`: real files, real pixels."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import onnx
from PySide6.QtGui import QColor, QImage

from app.ui import theme
from app.ui.diagram import diagram_rect, png_size

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: Path) -> str:
    return " ".join(element.text or "" for element in ET.parse(svg).iter(f"{SVG}text"))


def _informed(window) -> list[tuple[str, str, bool]]:
    messages = []
    window.inform = lambda title, text, error=False: messages.append((title, text, error))
    return messages


def test_svg_holds_every_node_and_leaves_the_canvas_as_it_was(window, tmp_path: Path) -> None:
    from app.ui.diagram import export_diagram_to

    window.scene.select_nodes(["conv1"])
    path = tmp_path / "lenet.svg"
    assert export_diagram_to(window, str(path))
    texts = _texts(path)
    for name in window.session.doc.graph:
        assert name in texts, name
    assert "6×28×28" in texts  # the shapes are drawn too
    assert window.scene.selected_nodes() == ["conv1"] and window.scene.grid_visible


def test_png_has_the_diagram_size_and_is_not_blank(window, tmp_path: Path) -> None:
    from app.ui.diagram import export_diagram_to

    path = tmp_path / "lenet.png"
    assert export_diagram_to(window, str(path))
    image = QImage(str(path))
    assert image.size() == png_size(diagram_rect(window.scene))
    background = QColor(theme.current().canvas).rgb()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20 and background in colours
    conv1 = window.scene.nodes["conv1"].sceneBoundingRect().center()
    assert image.width() > 100 and image.height() > 4 * image.width()  # a tall chain
    assert conv1.y() > diagram_rect(window.scene).top()


def test_unknown_format_and_empty_canvas_are_refused(make_window, tmp_path: Path) -> None:
    from app.core.graph import NetworkDocument
    from app.core.project import Project
    from app.ui.diagram import export_diagram_to

    window = make_window("lenet5")
    messages = _informed(window)
    assert not export_diagram_to(window, str(tmp_path / "net.bmp"))
    assert messages[-1][2] and ".svg or .png" in messages[-1][1]
    empty = NetworkDocument()
    window.load(empty, Project(empty), None)
    assert not export_diagram_to(window, str(tmp_path / "net.svg"))
    assert "empty" in messages[-1][1] and not (tmp_path / "net.svg").exists()


def test_menu_holds_the_exports(window) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "Export &ONNX…" in texts and "Export &Diagram…" in texts


def test_onnx_export_from_the_window(window, tmp_path: Path) -> None:
    from app.ui.weights_export import export_onnx_to

    messages = _informed(window)
    path = tmp_path / "lenet.onnx"
    assert export_onnx_to(window, str(path))
    onnx.checker.check_model(str(path))
    assert "freshly initialised" in messages[-1][1]


def test_render_command_writes_svg_and_png_without_a_display(tmp_path: Path) -> None:
    project = tmp_path / "net.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    run = [sys.executable, "-m", "app"]
    assert subprocess.run([*run, "new", "--template", "residual_cnn", "-o", str(project)],
                          env=env, capture_output=True, timeout=120, check=False).returncode == 0
    for name in ("net.svg", "net.png"):
        result = subprocess.run([*run, "render", str(project), "-o", str(tmp_path / name)],
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        assert result.returncode == 0, result.stderr
    assert "block1_conv1" in _texts(tmp_path / "net.svg")
    assert QImage(str(tmp_path / "net.png")).width() > 200
    bad = subprocess.run([*run, "render", str(project), "-o", str(tmp_path / "net.gif")],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: net.gif: the diagram is written as .svg or .png")
