"""Writing Python source: literals, calls, code snippets with their imports, embedded helpers.

Shared by codegen (the model file) and the train script, so both write values by one rule:
`literal` is repr for None/bool/int/str, repr for finite floats and `float('inf')` for
the others, and lists/tuples item by item. Nothing else is written as a value; text that
must be code (an enum member, a nested call) is wrapped in `Expr` by the writer that made
it, never taken from a project file.

A `Snippet` carries its import statements as data ("import numpy as np", "from torch
import nn"), so a script collects imports from the pieces it uses instead of guessing them
from the text. `embed` copies a helper function or class from its real source
(inspect.getsource), with the helpers and imports it needs, so a script cannot drift from
the app.
"""

from __future__ import annotations

import inspect
import math
import symtable
import sys
import textwrap
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class LiteralError(ValueError):
    """A value that has no safe Python literal here."""


class Expr(str):
    """Source text written by a code writer (not data): `literal` passes it through."""


def literal(value: Any, *, tuples: bool = False) -> str:
    """Python source for a plain value; lists become tuples when `tuples` (codegen's rule)."""
    if isinstance(value, Expr):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, list | tuple):
        items = [literal(v, tuples=tuples) for v in value]
        if isinstance(value, list) and not tuples:
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    raise LiteralError(f"cannot write a value of type {type(value).__name__}")


def call(func: str, *args: Any, **kwargs: Any) -> str:
    """`func(arg, ..., name=value, ...)` with every value written by `literal`."""
    parts = [literal(a) for a in args] + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def changed(func: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments whose values differ from `func`'s own defaults: leaving the
    others out calls `func` the same way and keeps the written call short."""
    params = inspect.signature(func).parameters
    return {k: v for k, v in kwargs.items()
            if k not in params or params[k].default is inspect.Parameter.empty
            or isinstance(v, Expr) or not _equal(v, params[k].default)}


def _equal(value: Any, default: Any) -> bool:
    default = getattr(default, "value", default)  # enums, e.g. InterpolationMode
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return list(value) == list(default)
    return type(value) is type(default) and value == default or \
        isinstance(value, int | float) and isinstance(default, int | float) \
        and not isinstance(value, bool) and not isinstance(default, bool) and value == default


@dataclass(frozen=True)
class Snippet:
    """Code plus what it needs: import statements and top-level helper definitions."""

    code: str
    imports: frozenset[str] = frozenset()
    helpers: tuple[str, ...] = ()


def snippet(code: str, *imports: str) -> Snippet:
    return Snippet(code, frozenset(imports))


def needs(code: str, parts: Iterable[Snippet]) -> Snippet:
    """`code` with the imports and helpers of the snippets it was written from."""
    parts = list(parts)
    return Snippet(code, frozenset().union(*(p.imports for p in parts)),
                   _merge(*(p.helpers for p in parts)))


def _merge(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h for group in groups for h in group))


# -- imports ---------------------------------------------------------------------------

def import_lines(imports: Iterable[str]) -> list[str]:
    """isort's layout (ruff I001): __future__, standard library, third party, a blank line
    between; `import x` before `from x import y` in each; from-imports of a module merged."""
    sections: dict[int, tuple[set[str], dict[str, set[str]]]] = {}
    for line in imports:
        words = line.split()
        top = words[1].split(".")[0]
        section = 0 if top == "__future__" else 1 if top in sys.stdlib_module_names else 2
        plain, froms = sections.setdefault(section, (set(), {}))
        if words[0] == "import":
            plain.add(line)
        else:
            names = " ".join(words[3:]).split(",")
            froms.setdefault(words[1], set()).update(n.strip() for n in names)
    out: list[str] = []
    for section in sorted(sections):
        plain, froms = sections[section]
        out += [""] if out else []
        out += sorted(plain, key=lambda s: s.split()[1].lower())
        out += [f"from {m} import {', '.join(sorted(names, key=_name_key))}"
                for m, names in sorted(froms.items(), key=lambda kv: kv[0].lower())]
    return out


def _name_key(name: str) -> tuple[int, str]:
    # isort's force-sort-within... default: CONSTANTS, then Classes, then functions.
    head = name.split()[0]
    kind = 0 if head.isupper() and len(head) > 1 else 1 if head[:1].isupper() else 2
    return kind, head.lower()


def import_of(name: str, obj: Any) -> str:
    """The import statement that binds `name` to `obj`, from its shortest public module."""
    if isinstance(obj, types.ModuleType):
        module = obj.__name__
        parent, _, last = module.rpartition(".")
        if not parent:
            return f"import {module}" if name == module else f"import {module} as {name}"
        return f"from {parent} import {last}" + ("" if last == name else f" as {name}")
    real = obj.__name__
    parts = obj.__module__.split(".")
    for i in range(1, len(parts) + 1):
        module = ".".join(parts[:i])
        if getattr(sys.modules.get(module), real, None) is obj:
            break
    return f"from {module} import {real}" + ("" if real == name else f" as {name}")


# -- embedded helpers -----------------------------------------------------------------

def embed(obj: Any) -> Snippet:
    """`obj`'s name as code, its source (and that of the app helpers it uses) as helpers,
    and imports for the library names it uses. Only for functions and classes of `app`."""
    helpers: dict[str, str] = {}
    imports: set[str] = set()
    _embed(obj, helpers, imports)
    return Snippet(obj.__name__, frozenset(imports), tuple(helpers.values()))


def _embed(obj: Any, helpers: dict[str, str], imports: set[str]) -> None:
    key = f"{obj.__module__}.{obj.__qualname__}"
    if key in helpers:
        return
    source = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
    scope = vars(sys.modules[obj.__module__])
    helpers[key] = ""  # reserved: dependencies come first, cycles stop here
    for name in sorted(_global_names(source) - {obj.__name__}):
        if name not in scope:
            continue  # a builtin
        value = scope[name]
        if _is_app(value):
            _embed(value, helpers, imports)
        elif isinstance(value, bool | int | float | str | tuple):
            helpers[f"{obj.__module__}.{name}"] = f"{name} = {literal(value)}"
        else:
            imports.add(import_of(name, value))
    del helpers[key]
    helpers[key] = source


def _global_names(source: str) -> set[str]:
    """Names `source` reads from its module: decorators, bases, annotations and the free
    names of every function and class body in it."""
    top = symtable.symtable(source, "<embedded>", "exec")
    names = {s.get_name() for s in top.get_symbols()
             if s.is_referenced() and not s.is_assigned() and not s.is_imported()}
    tables = list(top.get_children())
    while tables:
        table = tables.pop()
        tables += table.get_children()
        names |= {s.get_name() for s in table.get_symbols()
                  if s.is_referenced() and (s.is_global() or s.is_free())
                  and not s.is_assigned()}
    return names


def _is_app(value: Any) -> bool:
    return (inspect.isfunction(value) or inspect.isclass(value)) and \
        getattr(value, "__module__", "").split(".")[0] == "app"
