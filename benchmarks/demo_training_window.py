"""Open the editor with the training docks, load a template and start training.

    python benchmarks/demo_training_window.py [--template mnist_cnn] [--tab 0]

Used for the docs/training-*.png screenshots; the run trains on the offline digits.
"""

from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="mnist_cnn")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--tab", type=int, default=0, help="plots tab to show")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app = QApplication(sys.argv)
    from app.ui.main_window import DISCARD, MainWindow
    from app.ui.training.docks import install_training_docks

    window = MainWindow(training=False)  # docks installed here, synchronously
    window.ask_unsaved = lambda: DISCARD
    docks = install_training_docks(window)
    window.resize(1600, 1000)
    window.show()
    window.open_template(args.template)
    docks.training_panel.epochs.setValue(args.epochs)
    docks.tabs.setCurrentIndex(args.tab)

    def begin() -> None:
        window.set_mode("train")
        docks.start()

    QTimer.singleShot(2000, begin)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
