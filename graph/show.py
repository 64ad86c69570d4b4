"""Draw a graph as text: Mermaid (for Markdown) or Graphviz DOT.

Not for: checking it (graph/validate.py); `portraitflow graph show` calls this after checking.
"""
from __future__ import annotations

from .validate import ResolvedGraph


def to_mermaid(graph: ResolvedGraph) -> str:
    lines = ["flowchart LR"]
    parts: dict[str | None, list[str]] = {}
    for node in graph.nodes:
        parts.setdefault(node.part, []).append(node.id)
    for part, ids in parts.items():
        if part:
            lines.append(f"  subgraph {part}")
        for node_id in ids:
            node = graph.node(node_id)
            lines.append(f'    {node_id}["{node_id}<br/><small>{node.type}</small>"]')
        if part:
            lines.append("  end")
    for edge in graph.edges:
        e = edge.spec
        label = f"{e.source_port}→{e.target_port} · {edge.policy.value}/{edge.queue_size}"
        lines.append(f'  {e.source} -->|"{label}"| {e.target}')
    return "\n".join(lines) + "\n"


def to_dot(graph: ResolvedGraph) -> str:
    lines = [f'digraph "{graph.spec.name}" {{', "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    parts: dict[str | None, list[str]] = {}
    for node in graph.nodes:
        parts.setdefault(node.part, []).append(node.id)
    for part, ids in parts.items():
        indent = "  "
        if part:
            lines.append(f'  subgraph "cluster_{part}" {{ label="{part}";')
            indent = "    "
        for node_id in ids:
            lines.append(f'{indent}"{node_id}" [label="{node_id}\\n{graph.node(node_id).type}"];')
        if part:
            lines.append("  }")
    for edge in graph.edges:
        e = edge.spec
        style = ', style=dashed' if edge.policy.value == "latest" else ""
        lines.append(f'  "{e.source}" -> "{e.target}" [label="{e.source_port}→{e.target_port}\\n'
                     f'{edge.policy.value}/{edge.queue_size}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
