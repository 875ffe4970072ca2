"""NetworkDocument -> torch nn.Module.

Each node's module sits at the node's module path (`graph.module_path`: `layer1.0.conv1`,
or just the node's name), with containers made as the paths say, so a checkpoint's keys
read `layer1.0.conv1.weight` whichever form the network takes, and the exported code
(which builds the same containers) loads the same state_dict. A plain chain becomes an
nn.Sequential (nested where the paths nest); any other graph becomes a GraphModule that
runs the layers in topological order. Containers whose children are all numbered are
nn.Sequential, others a `Block`, so `print(model)` reads like torchvision's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.core.catalogue import LayerSpec, Role
from app.core.execution import run_node
from app.core.graph import NetworkDocument, module_path
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
    path: str
    spec: LayerSpec
    resolved: dict[str, Any]
    sources: tuple[tuple[str, str], ...]  # (node, port) feeding each input port
    ports: tuple[str, ...]


class Block(nn.Module):
    """A container of named layers (`layer1.0`). The GraphModule calls the layers inside
    it as the graph wires them, so it needs no forward() of its own."""


def _tree(modules: dict[str, nn.Module]) -> dict[str, Any]:
    """{`layer1.0.conv1`: m} -> {"layer1": {"0": {"conv1": m}}}, keeping the order."""
    root: dict[str, Any] = {}
    for path, module in modules.items():
        *outer, leaf = path.split(".")
        level = root
        for segment in outer:
            level = level.setdefault(segment, {})
        level[leaf] = module
    return root


def _container(tree: dict[str, Any], runnable: bool) -> nn.Module:
    """Numbered children (or a container that must run them in order) -> nn.Sequential."""
    children = {key: _container(value, runnable) if isinstance(value, dict) else value
                for key, value in tree.items()}
    if runnable or all(key.isdigit() for key in children):
        return nn.Sequential(OrderedDict(children))
    block = Block()
    for key, child in children.items():
        _attach(block, key, child)
    return block


def _attach(parent: nn.Module, key: str, child: nn.Module | nn.Parameter) -> None:
    """A layer, a container or a Parameter node's tensor, which sits at the path itself."""
    if isinstance(child, nn.Parameter):
        parent.register_parameter(key, child)
    else:
        parent.add_module(key, child)


class GraphModule(nn.Module):
    """Runs the nodes of a DAG in topological order; each node's module sits at its path.

    Attributes start with `_` because node names (its children) never do."""

    def __init__(self, steps: list[Step], modules: dict[str, nn.Module], inputs: list[str],
                 outputs: list[tuple[str, str]]) -> None:
        super().__init__()
        for key, value in _tree(modules).items():
            _attach(self, key, _container(value, False) if isinstance(value, dict) else value)
        self._steps = steps
        # the same module objects; a tensor is looked up at each call, as loading a
        # state_dict with assign=True replaces it
        self._layers = [None if step.spec.holds_tensor else modules[step.path]
                        for step in steps]
        self._inputs = inputs
        self._outputs = outputs

    def forward(self, *xs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(xs) != len(self._inputs):
            raise TypeError(f"the network takes {len(self._inputs)} input(s) "
                            f"({', '.join(self._inputs)}), got {len(xs)}")
        values = {(name, "out"): x for name, x in zip(self._inputs, xs)}
        for step, layer in zip(self._steps, self._layers):
            if layer is None:
                layer = self.get_parameter(step.path)
            args = [values[src] for src in step.sources]
            outs = run_node(step.spec, layer, step.resolved, args)
            values.update(((step.name, p), t) for p, t in zip(step.ports, outs))
        results = tuple(values[ref] for ref in self._outputs)
        return results[0] if len(results) == 1 else results


def _is_chain(doc: NetworkDocument, order: list[str], rank: dict[str, int]) -> bool:
    nodes = [doc.node(n) for n in order]
    roles = [n.spec.role for n in nodes]
    if roles.count(Role.INPUT) != 1 or roles.count(Role.OUTPUT) != 1:
        return False
    for node in nodes:
        # nn.Sequential passes one tensor from layer to layer: no tuples, no side ports
        if (node.spec.sequence or node.spec.attention or len(node.input_ports()) > 1
                or len(node.output_ports()) > 1):
            return False
        if len(doc.outgoing(node.name)) > 1:
            return False
    edges = doc.edges
    return len(edges) == len(order) - 1 and all(
        rank[e.dst] == rank[e.src] + 1 for e in edges)


def _contiguous(paths: list[str]) -> bool:
    """Whether every container's layers are consecutive in `paths` (a chain's order), so a
    nested nn.Sequential runs them in the chain's order."""
    seen: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        parts = path.split(".")
        for depth in range(1, len(parts)):
            seen.setdefault(".".join(parts[:depth]), []).append(i)
    return all(rows[-1] - rows[0] + 1 == len(rows) for rows in seen.values())


def node_module(model: nn.Module, doc: NetworkDocument,
                name: str) -> nn.Module | nn.Parameter:
    """The module of node `name` in `model`, compiled from `doc` (a Parameter node's
    tensor)."""
    node = doc.node(name)
    if node.spec.holds_tensor:
        return model.get_parameter(module_path(node))
    return model.get_submodule(module_path(node))


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
    layers = [name for name in order if doc.node(name).spec.has_module]
    modules = {module_path(doc.node(name)): _build(doc, name, results[name].resolved)
               for name in layers}
    if _is_chain(doc, order, rank) and _contiguous(list(modules)):
        return _container(_tree(modules), runnable=True)
    steps = []
    for name in order:
        node = doc.node(name)
        if not node.spec.has_module:
            continue
        incoming = doc.incoming(name)
        sources = tuple((incoming[p].src, incoming[p].src_port) for p in node.input_ports())
        steps.append(Step(name, module_path(node), node.spec, results[name].resolved,
                          sources, node.output_ports()))
    return GraphModule(steps, modules, doc.ends(Role.INPUT), network_outputs(doc))


def network_outputs(doc: NetworkDocument) -> list[tuple[str, str]]:
    """The (node, port) each Output node receives, in the order the module returns them."""
    return [(doc.incoming(n)["in"].src, doc.incoming(n)["in"].src_port)
            for n in doc.ends(Role.OUTPUT)]


def input_specs(doc: NetworkDocument) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of each Input node, in the order the compiled module takes them."""
    return [(tuple(doc.node(n).params["shape"]), doc.node(n).params["dtype"])
            for n in doc.ends(Role.INPUT)]


def token_limit(doc: NetworkDocument, default: int = 10) -> int:
    """A bound every layer that reads token ids accepts (an Embedding's num_embeddings)."""
    return min((n.params[port.ids_below] for n in doc.nodes
                for port in n.spec.input_port_specs(n.params) if port.ids_below),
               default=default)


def example_inputs(doc: NetworkDocument, batch: int = 2) -> list[torch.Tensor]:
    """Random inputs of the right shapes and dtypes (token ids stay below every vocabulary)."""
    vocab = token_limit(doc)
    return [torch.randint(0, vocab, (batch, *shape)) if dtype == "int64"
            else torch.randn(batch, *shape) for shape, dtype in input_specs(doc)]
