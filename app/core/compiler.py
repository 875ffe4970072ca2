"""NetworkDocument -> torch nn.Module.

A plain chain becomes an nn.Sequential whose children carry the node names. Any other
graph becomes a GraphModule that registers each node's module under the node's name and
runs them in topological order. Both register children by node name, so a checkpoint's
keys read `conv1.weight` whichever form the network takes, and the exported code (which
assigns `self.conv1`) loads the same state_dict.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.core.catalogue import LayerSpec
from app.core.execution import run_node
from app.core.graph import NetworkDocument
from app.core.shapes import NodeResult, Problem, errors, infer_shapes, network_problems


class CompileError(ValueError):
    """The network has errors; `problems` lists them, the message shows the first ones."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [p.message for p in problems[:5]]
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__("; ".join(lines) + more)


@dataclass(frozen=True)
class Step:
    name: str
    spec: LayerSpec
    resolved: dict[str, Any]
    sources: tuple[tuple[str, str], ...]  # (node, port) feeding each input port
    ports: tuple[str, ...]


class GraphModule(nn.Module):
    """Runs the nodes of a DAG in topological order; children are named after the nodes."""

    def __init__(self, steps: list[Step], modules: dict[str, nn.Module], inputs: list[str],
                 outputs: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        self.steps = steps
        self.input_names = inputs
        self.output_refs = outputs

    def forward(self, *xs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(xs) != len(self.input_names):
            raise TypeError(f"the network takes {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(xs)}")
        values = {(name, "out"): x for name, x in zip(self.input_names, xs)}
        for step in self.steps:
            args = [values[src] for src in step.sources]
            outs = run_node(step.spec, self._modules[step.name], step.resolved, args)
            values.update(((step.name, p), t) for p, t in zip(step.ports, outs))
        results = tuple(values[ref] for ref in self.output_refs)
        return results[0] if len(results) == 1 else results


def _is_chain(doc: NetworkDocument, order: list[str], rank: dict[str, int]) -> bool:
    nodes = [doc.node(n) for n in order]
    if [n.type for n in nodes].count("Input") != 1 or [n.type for n in nodes].count(
            "Output") != 1:
        return False
    for node in nodes:
        if node.spec.category == "Recurrent" or node.spec.variadic or node.spec.indices_input:
            return False
        if len(doc.outgoing(node.name)) > 1 or node.params.get("return_indices"):
            return False
    edges = doc.edges
    return len(edges) == len(order) - 1 and all(
        rank[e.dst] == rank[e.src] + 1 for e in edges)


def _build(doc: NetworkDocument, name: str, resolved: dict[str, Any]) -> nn.Module:
    """The node's torch module; a size torch cannot allocate becomes a CompileError."""
    node = doc.node(name)
    try:
        return node.spec.build(resolved)
    except (RuntimeError, ValueError, OverflowError, MemoryError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CompileError([Problem(f"{name}: torch cannot build this {node.type} ({reason}); "
                                    "make its sizes smaller", name)]) from None


def check_compilable(doc: NetworkDocument,
                     results: dict[str, NodeResult] | None = None) -> dict[str, NodeResult]:
    results = infer_shapes(doc) if results is None else results
    problems = errors(network_problems(doc, results))
    if problems:
        raise CompileError(problems)
    return results


def compile_document(doc: NetworkDocument,
                     results: dict[str, NodeResult] | None = None) -> nn.Module:
    """Build the trainable module; raises CompileError listing the graph's problems.

    `results` are up-to-date inference results (a live ShapeInference's), saving a pass.
    """
    results = check_compilable(doc, results)
    order = doc.topological_order()
    rank = {name: i for i, name in enumerate(order)}
    modules = {name: _build(doc, name, results[name].resolved) for name in order
               if doc.node(name).spec.type not in ("Input", "Output")}
    if _is_chain(doc, order, rank):
        return nn.Sequential(OrderedDict(modules))
    steps = []
    for name in order:
        node = doc.node(name)
        if node.type in ("Input", "Output"):
            continue
        incoming = doc.incoming(name)
        sources = tuple((incoming[p].src, incoming[p].src_port) for p in node.input_ports())
        steps.append(Step(name, node.spec, results[name].resolved, sources,
                          node.output_ports()))
    inputs = [n for n in order if doc.node(n).type == "Input"]
    outputs = []
    for name in order:
        if doc.node(name).type == "Output":
            edge = doc.incoming(name)["in"]
            outputs.append((edge.src, edge.src_port))
    return GraphModule(steps, modules, inputs, outputs)


def input_specs(doc: NetworkDocument) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of each Input node, in the order the compiled module takes them."""
    return [(tuple(n.params["shape"]), n.params["dtype"]) for n in
            (doc.node(name) for name in doc.topological_order()) if n.type == "Input"]


def example_inputs(doc: NetworkDocument, batch: int = 2) -> list[torch.Tensor]:
    """Random inputs of the right shapes and dtypes (token ids stay below every vocabulary)."""
    vocab = min((n.params["num_embeddings"] for n in doc.nodes if n.type == "Embedding"),
                default=10)
    return [torch.randint(0, vocab, (batch, *shape)) if dtype == "int64"
            else torch.randn(batch, *shape) for shape, dtype in input_specs(doc)]
