"""Open the editor in a state worth a screenshot of the canvas, then wait to be captured.

Run under a real X server with /work/shared/tools/xshot.sh, e.g.
  xshot.sh docs/editing-resnet18-collapsed.png --size 1366x768 --wait 25 -- \
      python docs/tools/editing_shots.py --template resnet18
Options: --expand BLOCK (expand a collapsed block and centre on it), --wire DST (highlight
the wire into DST as a palette drag over it does), --insert TYPE (drop TYPE on that wire).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", default="resnet18")
    parser.add_argument("--expand")
    parser.add_argument("--wire")
    parser.add_argument("--insert")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer

    from app.core.graph import module_path
    from app.ui.launch import _scratch_settings, make_app
    from app.ui.main_window import MainWindow

    app = make_app()
    window = MainWindow(settings=_scratch_settings(), training=False)
    window.showMaximized()
    window.open_template(args.template)

    def stage() -> None:
        window.session.infer_now()
        scene, view = window.scene, window.view
        view.show_network()
        if args.expand:
            scene.set_collapsed(args.expand, False)
            first = next(n.name for n in window.session.doc.nodes
                         if module_path(n).startswith(args.expand + "."))
            view.set_zoom(0.5)
            top = scene.nodes[first].sceneBoundingRect().top()
            view.centerOn(scene.nodes_rect().center().x(),
                          top - 150 + view.viewport().height() / 2 / view.zoom())
        if args.wire:
            edge = window.session.doc.incoming(args.wire)["in"]
            view.set_zoom(1.0)  # the wire and the layers around it readable
            view.centerOn(scene.edge_item(edge).path().pointAtPercent(0.5))
            if args.insert:
                scene.insert_on_wire(edge, args.insert)
                window.session.infer_now()
            else:
                scene.edge_item(edge).set_hovered(True)
        window.session.stack.setClean()

    QTimer.singleShot(1500, stage)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
