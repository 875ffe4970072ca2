"""Side-by-side differences between two runs: settings and network graphs. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    what: str  # a dotted settings key, or a node name
    left: str
    right: str
    change: str = "changed"  # changed | added | removed


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}; lists stay whole values."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value} if prefix else {}


def _show(value: Any) -> str:
    return "—" if value is None else repr(value) if isinstance(value, str) else str(value)


def settings_diff(left: dict[str, Any], right: dict[str, Any]) -> list[Difference]:
    a, b = flatten(left), flatten(right)
    missing = object()
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, missing), b.get(key, missing)
        if va != vb:
            out.append(Difference(key, "" if va is missing else _show(va),
                                  "" if vb is missing else _show(vb)))
    return out


def _nodes(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in graph.get("nodes", [])}


def _describe(node: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(node.get("params", {}).items()))
    return f"{node['type']}({params})"


def _edges(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["src"], e["dst"]) for e in graph.get("edges", [])}


def graph_diff(left: dict[str, Any], right: dict[str, Any]) -> list[Difference]:
    """Layers added, removed or changed (type or parameters), then rewired connections."""
    a, b = _nodes(left), _nodes(right)
    out = []
    for name in [*a, *(n for n in b if n not in a)]:
        if name not in b:
            out.append(Difference(name, _describe(a[name]), "", "removed"))
        elif name not in a:
            out.append(Difference(name, "", _describe(b[name]), "added"))
        elif (a[name]["type"], a[name].get("params")) != (b[name]["type"], b[name].get("params")):
            out.append(Difference(name, _describe(a[name]), _describe(b[name])))
    ea, eb = _edges(left), _edges(right)
    out += [Difference(f"{s} → {d}", "connected", "", "removed") for s, d in sorted(ea - eb)]
    out += [Difference(f"{s} → {d}", "", "connected", "added") for s, d in sorted(eb - ea)]
    return out
