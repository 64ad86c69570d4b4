"""Read a graph file (TOML, standard library tomllib) into a GraphSpec; errors name file, node, field.

Not for: checking types, options and ports against node contracts (graph/validate.py).

    [graph]
    name = "blur"
    policy = "auto"          # default edge policy: auto | latest | block (auto: latest if a source is live)
    queue_size = 2           # default queue bound per edge

    [nodes.capture]
    type = "sample_source"
    options = { frames = 90 }

    [nodes.segment]
    type = "segment"
    part = "companion"       # which process runs it (see docs/protocol.md); optional
    inputs = { frame = "capture.frame" }

    [nodes.output]
    type = "video_sink"
    inputs = { frame = { from = "capture.frame", policy = "block", queue_size = 4 } }
    options = { path = "out.mp4" }
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .spec import AUTO, DropPolicy, EdgeSpec, GraphSpec, NodeSpec, split_address

GRAPH_KEYS = {"name", "policy", "queue_size"}
NODE_KEYS = {"type", "part", "inputs", "options"}
EDGE_KEYS = {"from", "policy", "queue_size"}
POLICIES = [AUTO] + [p.value for p in DropPolicy]


def load_graph_file(path: str | Path) -> GraphSpec:
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("graph file not found", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read graph file: {exc}", file=file) from None
    return parse_graph(text, file=file)


def parse_graph(text: str, *, file: str = "<graph>") -> GraphSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from None
    unknown = sorted(set(data) - {"graph", "nodes"})
    if unknown:
        raise ConfigError(f"unknown top-level table {unknown[0]!r} (expected [graph] and [nodes.ID])",
                          file=file, field=unknown[0])
    head = _table(data.get("graph", {}), file, None, "graph")
    _no_unknown(head, GRAPH_KEYS, file, None, "graph.")
    spec = GraphSpec(file=file)
    spec.name = _typed(head, "name", str, file, None, Path(file).stem if file else "graph")
    spec.policy = _typed(head, "policy", str, file, None, AUTO)
    if spec.policy not in POLICIES:
        raise ConfigError(f"expected one of {POLICIES}, got {spec.policy!r}", file=file, field="graph.policy")
    spec.queue_size = _typed(head, "queue_size", int, file, None, 2)
    if spec.queue_size < 1:
        raise ConfigError(f"expected an int >= 1, got {spec.queue_size}", file=file, field="graph.queue_size")
    nodes = _table(data.get("nodes"), file, None, "nodes")
    if not nodes:
        raise ConfigError("the graph has no nodes (expected [nodes.ID] tables)", file=file, field="nodes")
    for node_id, body in nodes.items():
        body = _table(body, file, node_id, "")
        _no_unknown(body, NODE_KEYS, file, node_id, "")
        if "type" not in body:
            raise ConfigError("missing 'type' (the node type name)", file=file, node=node_id, field="type")
        node_type = _typed(body, "type", str, file, node_id, None)
        part = _typed(body, "part", str, file, node_id, None)
        options = _table(body.get("options", {}), file, node_id, "options")
        spec.nodes[node_id] = NodeSpec(node_id, node_type, dict(options), part)
        for port, value in _table(body.get("inputs", {}), file, node_id, "inputs").items():
            spec.edges.append(_edge(value, node_id, port, file))
    return spec


def _edge(value: Any, node_id: str, port: str, file: str) -> EdgeSpec:
    field = f"inputs.{port}"
    policy = queue_size = None
    if isinstance(value, dict):
        _no_unknown(value, EDGE_KEYS, file, node_id, field + ".")
        if "from" not in value:
            raise ConfigError("missing 'from' (expected 'node.port')", file=file, node=node_id, field=field)
        source = value["from"]
        if "policy" in value:
            if value["policy"] not in [p.value for p in DropPolicy]:
                raise ConfigError(f"expected 'latest' or 'block', got {value['policy']!r}",
                                  file=file, node=node_id, field=field + ".policy")
            policy = DropPolicy(value["policy"])
        if "queue_size" in value:
            queue_size = value["queue_size"]
            if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
                raise ConfigError(f"expected an int >= 1, got {queue_size!r}",
                                  file=file, node=node_id, field=field + ".queue_size")
    else:
        source = value
    if not isinstance(source, str):
        raise ConfigError(f"expected 'node.port', got {source!r}", file=file, node=node_id, field=field)
    try:
        s_node, s_port = split_address(source)
    except ValueError as exc:
        raise ConfigError(str(exc), file=file, node=node_id, field=field) from None
    return EdgeSpec(s_node, s_port, node_id, port, policy, queue_size)


def _table(value: Any, file: str, node: str | None, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"expected a table, got {type(value).__name__} {value!r}",
                          file=file, node=node, field=field or None)
    return value


def _typed(table: dict, key: str, tp: type, file: str, node: str | None, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"expected {tp.__name__}, got {type(value).__name__} {value!r}",
                          file=file, node=node, field=key)
    return value


def _no_unknown(table: dict, allowed: set[str], file: str, node: str | None, prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} (expected one of {sorted(allowed)})",
                          file=file, node=node, field=prefix + unknown[0])
