"""Start the Qt application and the editor window (the only place the GUI boots).

torch is not imported here: the window shows first, and the training tools (torch,
torchvision, the trainer) load on a pool thread after it is visible; F5 pressed
meanwhile is queued.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

ORGANISATION = "TorchCanvas"
APPLICATION = "TorchCanvas"
SCREENSHOT_WAIT_MS = 120_000
# A screenshot after a run (--train) stops the run after this long, so a template with
# many epochs still gives its picture within about a minute; --epochs shortens it instead.
SCREENSHOT_TRAIN_MS = 60_000
SCREENSHOT_SETTLE_MS = 600  # debounced views (the augmentation preview) draw meanwhile
DESKTOP_ID = "torchcanvas"  # resources/torchcanvas.desktop


def make_app() -> object:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.resources import app_icon_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    from app.ui.theme import install_style

    install_style(app)  # before any window takes its standard icons from the style
    app.setDesktopFileName(DESKTOP_ID)  # the window manager matches it to the menu entry
    app.setWindowIcon(QIcon(str(app_icon_path())))
    return app


def parse_size(text: str) -> tuple[int, int]:
    """'1366x768' -> (1366, 768); argparse reports a ValueError as a one-line error."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 400 \
            or int(height) < 300:
        raise argparse.ArgumentTypeError(f"--size {text}: give WIDTHxHEIGHT, at least "
                                         "400x300, e.g. 1366x768")
    return int(width), int(height)


def launch(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    app = make_app()
    from app.ui.main_window import MainWindow

    screenshot = getattr(args, "screenshot", None)
    # A screenshot shows the default layout and leaves the user's settings alone.
    window = MainWindow(settings=_scratch_settings() if screenshot else None)
    if getattr(args, "theme", None):
        window.set_theme(args.theme)
    if screenshot or getattr(args, "mode", None):
        window.set_mode(getattr(args, "mode", None) or "design")
    size = getattr(args, "size", None)
    if size:
        window.resize(*size)
    # torch & co. leave ~200k long-lived objects; a full collection walking them stalls the
    # GUI thread for 100+ ms, so once they are loaded they are moved out of the collector's way.
    window.trainingReady.connect(gc.freeze)
    window.show()
    opened = _open_initial(window, args)
    epochs = getattr(args, "epochs", None)
    if opened and getattr(args, "train", False) and not screenshot:
        if epochs and window.training_docks is not None:
            _set_epochs(window, epochs)
        elif epochs:  # before the queued start, which also waits for this signal
            window.trainingReady.connect(lambda: _set_epochs(window, epochs))
        window.train()  # as F5: queued until the training tools are ready
    if screenshot:
        trained = opened and getattr(args, "train", False)
        return _screenshot(app, window, screenshot, train=trained, epochs=epochs,
                           mode=getattr(args, "mode", None) or "design")
    if opened:  # with a file: its own autosave, if the last session crashed editing it
        window.offer_recovery(for_path=window.path if getattr(args, "file", None) else None)
    app.processEvents()
    window.statusBar().showMessage(
        f"Window ready in {time.perf_counter() - started:.1f} s; the training tools load "
        "in the background (F5 now is queued)", 6000)
    _first_run(window)
    status = app.exec()
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone()  # background imports end before teardown
    return status


def _first_run(window: object) -> None:
    """Getting Started on the very first launch only, and not over a run the student
    already asked for (F5 during start-up, --train): they are past its first step."""
    from app.ui.welcome import FIRST_RUN_KEY

    if not window.settings.value(FIRST_RUN_KEY, False, type=bool):
        window.settings.setValue(FIRST_RUN_KEY, True)
        if not window.run_starting:
            window.show_getting_started()


def _scratch_settings() -> object:
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QSettings

    # Kept on the function so the folder lives as long as the process, then is removed.
    folder = tempfile.TemporaryDirectory(prefix="torchcanvas-shot-")
    _scratch_settings.folder = folder
    return QSettings(str(Path(folder.name) / "settings.ini"), QSettings.Format.IniFormat)


def _open_initial(window: object, args: argparse.Namespace) -> bool:
    if getattr(args, "file", None):
        return window.open_project(args.file, confirm=False)
    return window.open_template(getattr(args, "template", None) or "lenet5")


def _set_epochs(window: object, epochs: int) -> None:
    """--epochs: the run length as if typed into the Train settings (it is undoable)."""
    window.training_docks.training_panel.epochs.setValue(epochs)


def _wait(app: object, done: object, clock: object, limit_ms: int) -> bool:
    while not done() and clock.elapsed() < limit_ms:
        app.processEvents()
        time.sleep(0.02)
    return bool(done())


def _train_for_screenshot(app: object, window: object, epochs: int | None,
                          mode: str) -> bool:
    """Train (the project's epochs, or `epochs`) until the run ends or
    SCREENSHOT_TRAIN_MS pass, then stop it; the plots are drawn from the finished run and
    the requested mode is shown again (F5 switches to Train). False if no run started."""
    from PySide6.QtCore import QElapsedTimer

    docks = window.training_docks
    ended: list[object] = []
    docks.runEnded.connect(ended.append)
    if epochs:
        _set_epochs(window, epochs)
    if not window.train():
        return False
    clock = QElapsedTimer()
    clock.start()
    if not _wait(app, lambda: ended, clock, SCREENSHOT_TRAIN_MS):
        window.stop_training()
        _wait(app, lambda: ended, clock, SCREENSHOT_TRAIN_MS + SCREENSHOT_WAIT_MS)
    window.set_mode(mode)
    return bool(ended)


def _screenshot(app: object, window: object, path: str, train: bool = False,
                epochs: int | None = None, mode: str = "design") -> int:
    """Render the window once shapes, summary, code and the training modes are up to
    date (after a run when `train`), save it, exit."""
    from PySide6.QtCore import QElapsedTimer

    clock = QElapsedTimer()
    clock.start()
    _wait(app, lambda: window.training_docks is not None, clock, SCREENSHOT_WAIT_MS)
    if train and window.training_docks is not None \
            and not _train_for_screenshot(app, window, epochs, mode):
        print("error: --train: the run did not start (see the Train mode's message)",
              file=sys.stderr)
        return 1
    window.session.infer_now()
    window.summary.refresh()
    window.code_view.wait_idle()
    docks = window.training_docks
    if docks is not None:
        _wait(app, lambda: docks.data_panel.bundle is not None, clock, SCREENSHOT_WAIT_MS)
        _wait(app, lambda: False, clock, clock.elapsed() + SCREENSHOT_SETTLE_MS)
    app.processEvents()
    window.view.show_network()
    app.processEvents()
    ok = window.grab().save(path)
    if not ok:
        print(f"error: cannot write screenshot {path}", file=sys.stderr)
        return 1
    window.session.stack.setClean()  # nothing to ask about on the way out
    window.close()
    return 0
