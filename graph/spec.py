"""A graph as data: nodes with their options and part, edges with their policy; a Python builder.

The same structure is read from a TOML graph file (graph/graph_file.py) and written back by
``to_toml``, so a builder and a file are one format. Not for: checking it against node contracts
(graph/validate.py) or running it (graph/runner.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class DropPolicy(str, Enum):
    """What a full edge does with a new packet.

    LATEST: drop the oldest queued packet (live: a preview never builds latency).
    BLOCK:  the producer waits (offline file to file: nothing dropped, backpressure to the source).
    """

    LATEST = "latest"
    BLOCK = "block"


#: graph-level default policy "auto": LATEST when any source is live, else BLOCK
AUTO = "auto"


@dataclass
class EdgeSpec:
    source: str
    source_port: str
    target: str
    target_port: str
    policy: DropPolicy | None = None      # None: the graph's default
    queue_size: int | None = None         # None: the graph's default

    @property
    def name(self) -> str:
        return f"{self.source}.{self.source_port}->{self.target}.{self.target_port}"


@dataclass
class NodeSpec:
    id: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    part: str | None = None


@dataclass
class GraphSpec:
    name: str = "graph"
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    edges: list[EdgeSpec] = field(default_factory=list)
    policy: str = AUTO                     # "auto", "latest" or "block"
    queue_size: int = 2
    file: str | None = None                # where it was read from, for error messages

    def add(self, node_id: str, node_type: str, *, part: str | None = None, **options: Any) -> GraphSpec:
        """Add a node; returns self so calls chain."""
        self.nodes[node_id] = NodeSpec(node_id, node_type, dict(options), part)
        return self

    def connect(self, source: str, target: str, *, policy: DropPolicy | str | None = None,
                queue_size: int | None = None) -> GraphSpec:
        """Connect ``"node.port"`` to ``"node.port"``."""
        s_node, s_port = split_address(source)
        t_node, t_port = split_address(target)
        self.edges.append(EdgeSpec(s_node, s_port, t_node, t_port,
                                   DropPolicy(policy) if policy else None, queue_size))
        return self

    def insert_after(self, source: str, node_id: str, node_type: str, *, part: str | None = None,
                     **options: Any) -> GraphSpec:
        """Put a one-in one-out node (ports named like ``source``'s) on every edge leaving
        ``"node.port"``: its consumers now read the new node, which reads ``source``."""
        s_node, s_port = split_address(source)
        if s_node not in self.nodes:
            raise ValueError(f"no node {s_node!r} to insert {node_id!r} after (nodes: {', '.join(self.nodes)})")
        for edge in self.edges:
            if edge.source == s_node and edge.source_port == s_port:
                edge.source = node_id
        self.add(node_id, node_type, part=part if part is not None else self.nodes[s_node].part, **options)
        return self.connect(source, f"{node_id}.{s_port}")

    def to_toml(self, *, comments: dict[str, str] | None = None) -> str:
        """The graph-file text of this spec (see graph/graph_file.py for the format); ``comments``
        maps node ids to a comment line written above that node's table. Short options stay inline;
        a node with nested or many options gets its own ``[nodes.ID.options]`` table, one per line."""
        lines = ["[graph]", f"name = {_toml_value(self.name)}", f"policy = {_toml_value(self.policy)}",
                 f"queue_size = {self.queue_size}", ""]
        for node in self.nodes.values():
            if comments and node.id in comments:
                lines.append(f"# {comments[node.id]}")
            lines.append(f"[nodes.{node.id}]")
            lines.append(f"type = {_toml_value(node.type)}")
            if node.part:
                lines.append(f"part = {_toml_value(node.part)}")
            inputs = [e for e in self.edges if e.target == node.id]
            if inputs:
                lines.append("inputs = { " + ", ".join(
                    f"{e.target_port} = {_edge_value(e)}" for e in inputs) + " }")
            if node.options:
                inline = "options = { " + ", ".join(
                    f"{_toml_key(k)} = {_toml_value(v)}" for k, v in node.options.items()) + " }"
                if len(inline) <= 100 and not any(isinstance(v, dict) for v in node.options.values()):
                    lines.append(inline)
                else:   # plain keys first: in TOML a sub-table ends its parent's keys
                    lines.append(f"[nodes.{node.id}.options]")
                    tables = {k: v for k, v in node.options.items() if isinstance(v, dict) and v}
                    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in node.options.items()
                                 if k not in tables)
                    for key, table in tables.items():
                        lines.append(f"[nodes.{node.id}.options.{_toml_key(key)}]")
                        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
            lines.append("")
        return "\n".join(lines)

def split_address(address: str) -> tuple[str, str]:
    """'node.port' -> ('node', 'port')."""
    node, sep, port = address.partition(".")
    if not sep or not node or not port:
        raise ValueError(f"expected 'node.port', got {address!r}")
    return node, port


def _edge_value(edge: EdgeSpec) -> str:
    src = f"{edge.source}.{edge.source_port}"
    if edge.policy is None and edge.queue_size is None:
        return _toml_value(src)
    parts = [f"from = {_toml_value(src)}"]
    if edge.policy is not None:
        parts.append(f"policy = {_toml_value(edge.policy.value)}")
    if edge.queue_size is not None:
        parts.append(f"queue_size = {edge.queue_size}")
    return "{ " + ", ".join(parts) + " }"


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
