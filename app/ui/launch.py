"""Start the Qt application and the main window (the only place the GUI boots)."""

from __future__ import annotations

import argparse
import sys


def launch(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TorchCanvas")
    app.setOrganizationName("TorchCanvas")
    window = MainWindow()
    if args.file:
        window.open_project(args.file)
    elif args.template:
        window.open_template(args.template)
    else:
        window.open_template("lenet5")
    window.show()
    if args.screenshot:
        app.processEvents()
        window.grab().save(args.screenshot)
        return 0
    return app.exec()
