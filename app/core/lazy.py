"""A module that is imported on first use.

torch, torchvision and scikit-learn take seconds to import, yet the registries that name
their classes (losses, optimizers, data sources, augmentation steps) are also needed to
list and check a project, which must stay instant (`python -m app check`). A registry
module binds `torch = lazy_module("torch")` and uses `torch.x` only inside functions; the
real import happens the first time such a function runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands in for the module `name`; attribute access imports it (once) and forwards.
    A ModuleType with the real name, so code writers still spell `import name` for it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self.__name__)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self.__name__!r} ({state})>"


def lazy_module(name: str) -> Any:
    """`name` imported on first attribute access (typed Any so `torch.x` reads as usual)."""
    return LazyModule(name)
