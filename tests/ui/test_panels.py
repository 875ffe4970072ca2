"""Palette, problems, summary, code view, gallery, fixes from the problems list."""

from __future__ import annotations

from pathlib import Path

from app.core.graph import NetworkDocument
from app.core.project import Project
from app.core.templates import TEMPLATES
from app.ui.commands import DisconnectCommand


def test_palette_lists_every_layer_and_searches(window) -> None:
    from app.core.catalogue import CATALOGUE

    palette = window.palette
    assert set(palette.items) == set(CATALOGUE)
    assert "y = x·Wᵀ + b" in palette.items["Linear"].toolTip(0)
    palette.search.setText("pool")
    visible = palette.visible_types()
    assert "MaxPool2d" in visible and "Conv2d" not in visible
    palette.search.setText("")
    assert len(palette.visible_types()) == len(CATALOGUE)


def test_palette_double_click_appends_below_selection(window) -> None:
    doc = window.session.doc
    doc_before = len(doc.nodes)
    window.session.push(DisconnectCommand(
        window.session, doc.incoming("logits")["in"]))
    window.scene.select_nodes(["fc3"])
    window.palette.layerActivated.emit("LogSoftmax")
    new = window.scene.selected_nodes()[0]
    assert doc.node(new).type == "LogSoftmax" and doc.incoming(new)["in"].src == "fc3"
    assert len(doc.nodes) == doc_before + 1
    window.act_undo.trigger()
    assert len(doc.nodes) == doc_before


def test_problems_list_selects_and_fixes(make_window, settle,
                                         image_into_linear: NetworkDocument) -> None:
    window = make_window(None)
    doc = image_into_linear
    window.load(doc, Project(doc), None)
    settle(window)
    problems = window.problems
    top = problems.tree.topLevelItem(0)
    assert "fc" in top.text(0)
    problems._clicked(top)
    assert window.scene.selected_nodes() == ["fc"]
    button = problems.fix_buttons()[0]
    assert "Flatten" in button.text()
    button.click()  # one click, as on any button
    settle(window)
    assert any(n.type == "Flatten" for n in doc.nodes)
    assert "No problems" in problems.summary.text()
    window.act_undo.trigger()
    settle(window)
    assert not any(n.type == "Flatten" for n in doc.nodes)


def test_summary_counts_lenet(window) -> None:
    window.summary.refresh()
    assert window.summary.totals["params"] == 61706  # d2l's LeNet-5
    assert window.summary.totals["trainable"] == 61706
    table = window.summary.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(rows["conv1"], 2).text() == "6×28×28"
    assert table.item(rows["conv1"], 3).text() == "156"
    assert table.item(rows["conv1"], 4).text() == "122K"  # MACs, compact
    assert table.item(rows["conv1"], 4).toolTip().startswith(f"{6 * 28 * 28 * 26:,} ")
    assert table.item(rows["sigmoid1"], 4).text() == "–"
    assert window.summary.totals["macs"] == 423_038  # tests/core/test_cost.py: torchinfo's
    footer = window.summary.footer.text().replace("&nbsp;", " ")  # pairs kept on one line
    assert "Total parameters" in footer
    assert "423.04 K" in footer


def test_code_view_highlights_and_exports(window, tmp_path: Path) -> None:
    window.code_view.wait_idle()
    code = window.code_view.code
    assert "class Net(nn.Module)" in code
    block = window.code_view.editor.document().findBlockByNumber(
        next(i for i, line in enumerate(code.splitlines()) if line.startswith("class Net")))
    assert any(r.format.fontWeight() > 400 for r in block.layout().formats())
    out = tmp_path / "lenet.py"
    window.code_view.export_to(str(out))
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)  # noqa: S102 - our own export
    assert sum(p.numel() for p in namespace["build_model"]().parameters()) == 61706


def test_gallery_shows_every_template(qtbot) -> None:
    from app.ui.gallery import TemplateGallery

    gallery = TemplateGallery()
    qtbot.addWidget(gallery)
    assert gallery.list.count() == len(TEMPLATES)
    assert not gallery.list.item(0).icon().isNull()
    gallery.select("lenet5")
    assert "What it teaches" in gallery.details.text()
    gallery.accept()
    assert gallery.chosen == "lenet5"


def test_screenshot_command(tmp_path: Path, qapp) -> None:
    import argparse

    from app.ui.launch import launch

    out = tmp_path / "shot.png"
    args = argparse.Namespace(file=None, template="residual_cnn", screenshot=str(out))
    assert launch(args) == 0
    assert out.stat().st_size > 10_000


def test_gallery_thumbnails_share_one_scale(qtbot) -> None:
    """Linear regression (3 layers) is not drawn with blocks four times as large as the
    MNIST MLP's: small networks keep the common scale, centred."""
    import numpy as np
    from PySide6.QtGui import QColor, QImage

    from app.ui import theme
    from app.ui.gallery import _NODE_H, _NODE_W, MAX_SCALE, THUMB, render_thumbnail

    def drawn_box(template_id: str) -> tuple[int, int, int, int]:
        image = render_thumbnail(TEMPLATES[template_id].build()).toImage().convertToFormat(
            QImage.Format.Format_RGB32)
        pixels = np.frombuffer(image.constBits(), np.uint32).reshape(
            image.height(), image.bytesPerLine() // 4)[:, :image.width()]
        ys, xs = np.nonzero(pixels != QColor(theme.current().canvas).rgb())
        return xs.min(), xs.max(), ys.min(), ys.max()

    x0, x1, y0, y1 = drawn_box("linear_regression")
    assert x1 - x0 + 1 <= _NODE_W * MAX_SCALE + 2  # one block wide, at the cap
    assert abs((x0 + x1) / 2 - THUMB.width() / 2) <= 2  # centred
    assert abs((y0 + y1) / 2 - THUMB.height() / 2) <= 2
    assert y1 - y0 + 1 <= (2 * 110 + _NODE_H) * MAX_SCALE + 4  # three rows at the cap
    wide = drawn_box("mlp")
    assert wide[3] - wide[2] > y1 - y0  # a longer network fills more of its thumbnail
