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
