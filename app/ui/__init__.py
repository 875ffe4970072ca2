"""The PySide6 editor: a thin view over app.core (see DESIGN.md)."""
