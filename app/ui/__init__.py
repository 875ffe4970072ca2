"""The PySide6 desktop editor: a thin view over app.core (see DESIGN.md)."""

from app.ui.qt_refcount import guard_none_refcount

guard_none_refcount()
