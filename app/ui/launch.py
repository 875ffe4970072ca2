"""Start the Qt application and the editor window (the only place the GUI boots).

torch is not imported here: the window shows first, and shape inference (which imports
torch) runs on the first event-loop tick after it is visible.
"""

from __future__ import annotations

import argparse
import sys
import time

ORGANISATION = "TorchCanvas"
APPLICATION = "TorchCanvas"


def make_app() -> object:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    from app.ui.theme import install_style

    install_style(app)  # before any window takes its standard icons from the style
    return app


def launch(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    app = make_app()
    from app.ui.main_window import MainWindow

    # A screenshot exits at once; loading the training docks would only delay the exit.
    window = MainWindow(training=not getattr(args, "screenshot", None))
    window.show()
    opened = _open_initial(window, args)
    if getattr(args, "screenshot", None):
        return _screenshot(app, window, args.screenshot)
    if opened and not getattr(args, "file", None):
        window.offer_recovery()
    app.processEvents()
    window.statusBar().showMessage(
        f"Ready in {time.perf_counter() - started:.1f} s", 4000)
    status = app.exec()
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone()  # background imports end before teardown
    return status


def _open_initial(window: object, args: argparse.Namespace) -> bool:
    if getattr(args, "file", None):
        return window.open_project(args.file, confirm=False)
    return window.open_template(getattr(args, "template", None) or "lenet5")


def _screenshot(app: object, window: object, path: str) -> int:
    """Render the window once shapes, summary and code are up to date, save it, exit."""
    app.processEvents()
    window.session.infer_now()
    window.view.show_network()
    window.summary.refresh()
    window.code_view.wait_idle()
    app.processEvents()
    ok = window.grab().save(path)
    if not ok:
        print(f"error: cannot write screenshot {path}", file=sys.stderr)
        return 1
    window.session.stack.setClean()  # nothing to ask about on the way out
    window.close()
    return 0
