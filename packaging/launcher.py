"""Entry point of the bundled executable: the same `main` as `python -m app`.

`freeze_support` lets DataLoader workers started with the spawn method (Windows, macOS)
run inside the frozen executable instead of starting a second editor.
TORCHCANVAS_IMPORT_LOG=FILE makes the bundle append the modules it imported, with the file
each came from, to FILE on exit (a bundle ignores PYTHONVERBOSE): the bundle test checks
that all of them came from the bundle, and packaging/import_report.py finds dead weight.
"""

import atexit
import multiprocessing
import os
import sys

from app.cli import main


def _write_import_log(path: str) -> None:
    with open(path, "a", encoding="utf-8") as log:
        for name, module in sorted(sys.modules.items()):
            log.write(f"{name}\t{getattr(module, '__file__', None) or ''}\n")


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if os.environ.get("TORCHCANVAS_IMPORT_LOG"):
        atexit.register(_write_import_log, os.environ["TORCHCANVAS_IMPORT_LOG"])
    sys.exit(main())
