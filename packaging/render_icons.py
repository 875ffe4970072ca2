"""Render the app icon's PNG sizes (and the Windows .ico) from the one SVG.

`python packaging/render_icons.py` rewrites resources/icons/torchcanvas-<size>.png and
torchcanvas.ico; the committed files are what it writes. Qt's SVG renderer draws them, so
nothing beyond the app's own dependencies is needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICONS / "torchcanvas.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # the sizes Windows Explorer asks an .ico for


def render(size: int) -> QImage:  # noqa: F821 - Qt is imported on call
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts
    for size in SIZES:
        render(size).save(str(ICONS / f"torchcanvas-{size}.png"))
    from PIL import Image

    with Image.open(ICONS / "torchcanvas-256.png") as big:
        big.save(ICONS / "torchcanvas.ico", sizes=[(s, s) for s in ICO_SIZES])
    print(f"wrote {len(SIZES)} PNGs and torchcanvas.ico to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
