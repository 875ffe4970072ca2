"""The Learn menu. Only Qt here: each window (and torch with it) is imported when opened,
so the menu costs the editor's start-up nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu


def _open(window: QMainWindow, key: str, make: Any) -> QDialog:
    """One window of each kind, kept by the editor window and raised when asked again."""
    windows = window.__dict__.setdefault("learn_windows", {})
    if key not in windows:
        windows[key] = make()
    dialog = windows[key]
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def open_playground(window: QMainWindow) -> QDialog:
    from app.ui.learn.playground import OptimizerPlayground

    return _open(window, "playground", lambda: OptimizerPlayground(window))


def open_activations(window: QMainWindow) -> QDialog:
    from app.ui.learn.activation_explorer import ActivationExplorer

    return _open(window, "activations", lambda: ActivationExplorer(window))


def open_gradient_check(window: QMainWindow) -> QDialog:
    """A fresh dialog each time: the network or the selection may have changed."""
    from app.ui.learn.gradient_check_dialog import GradientCheckDialog

    selected = window.scene.selected_nodes()
    windows = window.__dict__.setdefault("learn_windows", {})
    old = windows.pop("gradcheck", None)
    if old is not None:
        old.close()
    return _open(window, "gradcheck", lambda: GradientCheckDialog(
        window.project.network, selected[0] if len(selected) == 1 else None, window))


def show_saliency(window: QMainWindow) -> None:
    window.set_mode("evaluate")
    docks = window.training_docks
    if docks is not None:
        docks.eval_tabs.setCurrentWidget(docks.saliency)
    else:
        window.statusBar().showMessage("The saliency maps appear in the Evaluate mode once "
                                       "the training tools have loaded…", 6000)


def install_learn_menu(window: QMainWindow, menu: QMenu) -> dict[str, QAction]:
    actions = {}
    for key, text, slot, tip in (
            ("playground", "&Optimizer Playground…", open_playground,
             "Race SGD, momentum, Adam & co. over Himmelblau's function and others"),
            ("activations", "&Activation Explorer…", open_activations,
             "Every activation and its derivative, with live parameters"),
            ("saliency", "&Saliency Maps (Evaluate)", show_saliency,
             "Grad-CAM, gradient and SmoothGrad maps of the trained classifier"),
            ("gradcheck", "&Gradient Check…", open_gradient_check,
             "Autograd against finite differences for the network or the selected layer")):
        action = QAction(text, window)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, s=slot: s(window))
        menu.addAction(action)
        actions[key] = action
    return actions
