"""Check a GraphSpec against the node contracts before the first frame, and resolve its defaults.

Not for: running (graph/runner.py). Every error names the file, node and field, with expected vs
got: unknown node type, unknown or mistyped option, unknown port, port kind mismatch, an input fed
twice, an unconnected required input, a cycle, a graph without a source.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, ContractError
from .node import Node, Pairing
from .options import build_options
from .registry import node_class
from .spec import AUTO, DropPolicy, EdgeSpec, GraphSpec


@dataclass
class ResolvedNode:
    """A node as it will run: its class, built options, and the contract computed from them."""

    id: str
    type: str
    cls: type[Node]
    options: Any
    part: str | None
    pairing: Pairing | None = None     # cls.pairing_for(options), checked
    live: bool = False                 # sources: cls.live_for(options)

    def instantiate(self) -> Node:
        return self.cls(self.id, self.options, self.type)


@dataclass
class ResolvedEdge:
    spec: EdgeSpec
    policy: DropPolicy
    queue_size: int

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class ResolvedGraph:
    spec: GraphSpec
    nodes: list[ResolvedNode]          # topological order: sources first
    edges: list[ResolvedEdge]

    def node(self, node_id: str) -> ResolvedNode:
        return next(n for n in self.nodes if n.id == node_id)


def resolve(spec: GraphSpec) -> ResolvedGraph:
    file = spec.file
    nodes: dict[str, ResolvedNode] = {}
    for node_spec in spec.nodes.values():
        cls = node_class(node_spec.type, file=file, node=node_spec.id)
        options = build_options(cls.Options, node_spec.options, file=file, node=node_spec.id)
        pairing, live = node_contract(cls, options, file=file, node=node_spec.id)
        nodes[node_spec.id] = ResolvedNode(node_spec.id, node_spec.type, cls, options, node_spec.part,
                                           pairing, live)

    fed: dict[tuple[str, str], EdgeSpec] = {}
    for edge in spec.edges:
        where = f"inputs.{edge.target_port}"
        if edge.source not in nodes:
            raise ConfigError(f"edge comes from unknown node {edge.source!r} (nodes: {', '.join(nodes)})",
                              file=file, node=edge.target, field=where)
        if edge.target not in nodes:
            raise ConfigError(f"edge goes to unknown node {edge.target!r}", file=file, node=edge.source)
        source_cls, target_cls = nodes[edge.source].cls, nodes[edge.target].cls
        if edge.source_port not in source_cls.outputs:
            raise ConfigError(f"node {edge.source!r} ({nodes[edge.source].type}) has no output "
                              f"{edge.source_port!r} (outputs: {', '.join(source_cls.outputs) or 'none'})",
                              file=file, node=edge.target, field=where)
        if edge.target_port not in target_cls.inputs:
            raise ConfigError(f"no input {edge.target_port!r} on type {nodes[edge.target].type!r} "
                              f"(inputs: {', '.join(target_cls.inputs) or 'none'})",
                              file=file, node=edge.target, field=where)
        out_kind = source_cls.outputs[edge.source_port]
        in_kind = target_cls.inputs[edge.target_port]
        if not out_kind.connects_to(in_kind):
            raise ConfigError(f"port kind mismatch: expected {in_kind.name}, got {out_kind.name} from "
                              f"{edge.source}.{edge.source_port}", file=file, node=edge.target, field=where)
        key = (edge.target, edge.target_port)
        if key in fed:
            raise ConfigError(f"input fed twice (from {fed[key].source}.{fed[key].source_port} and "
                              f"{edge.source}.{edge.source_port})", file=file, node=edge.target, field=where)
        fed[key] = edge

    for node in nodes.values():
        for port in node.cls.inputs:
            if (node.id, port) not in fed and port not in node.cls.optional_inputs:
                raise ConfigError(f"required input {port!r} ({node.cls.inputs[port].name}) is not connected",
                                  file=file, node=node.id, field=f"inputs.{port}")

    order = _topological(nodes, spec.edges, file)
    if not any(not n.cls.inputs for n in nodes.values()):
        raise ConfigError("the graph has no source node (a node without inputs)", file=file)

    default_policy = _default_policy(spec, nodes)
    edges = [ResolvedEdge(e, e.policy or default_policy, e.queue_size or spec.queue_size) for e in spec.edges]
    return ResolvedGraph(spec, [nodes[n] for n in order], edges)


def node_contract(cls: type[Node], options: Any, *, file: str | None = None,
                  node: str | None = None) -> tuple[Pairing | None, bool]:
    """The pairing and liveness a node of ``cls`` runs with under ``options``, checked; a broken
    one is a ContractError naming the file and node."""
    try:
        pairing = cls.pairing_for(options) if cls.inputs else None
        cls.check_pairing(pairing)
    except ContractError as exc:
        where = ":".join(str(part) for part in (file, node) if part)
        raise ContractError(f"{where}: {exc}" if where else str(exc)) from None
    live = bool(cls.live_for(options)) if not cls.inputs else False
    return pairing, live


def _default_policy(spec: GraphSpec, nodes: dict[str, ResolvedNode]) -> DropPolicy:
    if spec.policy != AUTO:
        return DropPolicy(spec.policy)
    if any(node.live for node in nodes.values() if not node.cls.inputs):
        return DropPolicy.LATEST
    return DropPolicy.BLOCK


def _topological(nodes: dict[str, ResolvedNode], edges: list[EdgeSpec], file: str | None) -> list[str]:
    downstream: dict[str, list[str]] = {n: [] for n in nodes}
    indegree = {n: 0 for n in nodes}
    for e in edges:
        downstream[e.source].append(e.target)
        indegree[e.target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in downstream[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    if len(order) != len(nodes):
        stuck = [n for n in nodes if n not in order]
        raise ConfigError(f"the graph has a cycle through {' -> '.join(stuck)}", file=file, node=stuck[0])
    return order
