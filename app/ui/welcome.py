"""Getting started (shown on the first run and from Help) and the About text."""

from __future__ import annotations

import platform
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, Signal, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import app
from app.core.templates import TEMPLATES

FIRST_RUN_KEY = "gettingStartedShown"
# Networks that train in about a minute on a laptop CPU, simplest first.
STARTERS = ("mlp", "mnist_cnn", "lenet5", "logistic_regression")

STEPS = """\
<ol style="margin-left: -20px;">
<li><b>Pick a network.</b> Start from a template below (File &gt; New from Template has
them all), or build your own: File &gt; New Blank Network, then double-click layers in
the Layers panel to stack them.</li>
<li><b>Check the data.</b> The <b>Data</b> mode (Alt+2) shows the data set, its split
and sample images.</li>
<li><b>Press F5.</b> Training starts and the <b>Train</b> mode (Alt+3) draws the loss,
accuracy and learning rate as it goes. Pause (F6) and Stop (Shift+F5) are always in the
toolbar, with the progress and the time left.</li>
<li><b>Look at the result.</b> The <b>Evaluate</b> mode (Alt+4) has the confusion
matrix, the misclassified samples, your own drawings to try, and a comparison of
runs.</li>
<li><b>Take it with you.</b> File &gt; Export PyTorch Code (Ctrl+E) writes a plain
<code>.py</code> file, a training script and the trained weights.</li>
</ol>"""


class GettingStarted(QDialog):
    """The five steps, with one-click starter templates."""

    templateChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting started with TorchCanvas")
        self.setModal(False)
        intro = QLabel("<h2>Build, train and export a neural network in five steps</h2>")
        steps = QLabel(STEPS)
        steps.setWordWrap(True)
        steps.setTextFormat(Qt.TextFormat.RichText)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, template_id in enumerate(STARTERS):
            template = TEMPLATES[template_id]
            button = QPushButton(template.title)
            button.setToolTip(template.description)
            button.clicked.connect(lambda _c=False, t=template_id: self._choose(t))
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[template_id] = button
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(steps)
        lay.addWidget(QLabel("<b>Start with:</b>"))
        lay.addLayout(grid)
        lay.addWidget(close)
        self.resize(620, self.sizeHint().height())

    def _choose(self, template_id: str) -> None:
        self.templateChosen.emit(template_id)
        self.accept()


def versions() -> dict[str, str]:
    """What the app runs on; torch only if it has been imported already (it is slow)."""
    found = {"TorchCanvas": app.__version__, "Python": platform.python_version(),
             "Qt": qVersion(), "PySide6": pyside_version}
    torch = sys.modules.get("torch")
    found["PyTorch"] = getattr(torch, "__version__", "not loaded yet") if torch else \
        "not loaded yet"
    return found


def about_text() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
    return ("<h3>TorchCanvas</h3><p>Build neural networks visually, train them and export "
            f"plain PyTorch code.</p><table>{rows}</table>")
