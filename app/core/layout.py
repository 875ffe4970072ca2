"""One-click automatic layout: layers of a DAG stacked top to bottom (no Qt, no torch).

Each node goes to the row of its longest path from an input (networkx topological
generations), so every wire points downwards; within a row, nodes are ordered by the
mean column of their parents to keep wires short and uncrossed in common networks.
"""

from __future__ import annotations

import networkx as nx

from app.core.graph import NetworkDocument

ROW = 110.0
COLUMN = 240.0

Pos = tuple[float, float]


def layered_layout(doc: NetworkDocument, origin: Pos = (0.0, 0.0)) -> dict[str, Pos]:
    graph = nx.DiGraph(doc.graph)  # collapse parallel wires: only the order matters here
    positions: dict[str, Pos] = {}
    column_of: dict[str, float] = {}
    for row, generation in enumerate(nx.topological_generations(graph)):
        ordered = sorted(generation, key=lambda n: (_parent_column(graph, n, column_of),
                                                    doc.node(n).pos[0], n))
        offset = (len(ordered) - 1) / 2
        for i, name in enumerate(ordered):
            column_of[name] = i - offset
            positions[name] = (origin[0] + (i - offset) * COLUMN, origin[1] + row * ROW)
    return positions


def _parent_column(graph: nx.DiGraph, name: str, column_of: dict[str, float]) -> float:
    parents = [column_of[p] for p in graph.predecessors(name) if p in column_of]
    return sum(parents) / len(parents) if parents else 0.0


class Fold:
    """How the canvas shows collapsed blocks: the rows a collapsed block spans fold into the
    one row its node takes, and everything below moves up by what was folded away.

    The document keeps every layer's own position, so expanding a block shows its layers
    where they were; automatic layout lays out every layer and the fold makes each collapsed
    block one node of that layout. `spans` are (top, bottom) of each block's layers.
    """

    def __init__(self, spans: list[tuple[float, float]] | None = None) -> None:
        merged: list[list[float]] = []
        for top, bottom in sorted(spans or []):
            if merged and top <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], bottom)
            else:
                merged.append([top, bottom])
        self.spans = [(top, bottom) for top, bottom in merged if bottom > top]
        self.removed: list[float] = []  # folded away above and at each span's end
        total = 0.0
        for top, bottom in self.spans:
            total += bottom - top
            self.removed.append(total)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __call__(self, y: float) -> float:
        """Document y -> canvas y."""
        shift = 0.0
        for (top, bottom), removed in zip(self.spans, self.removed, strict=True):
            if y <= top:
                break
            if y < bottom:
                return top - shift
            shift = removed
        return y - shift
