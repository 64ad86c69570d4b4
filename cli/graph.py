"""`portraitflow graph check FILE` and `portraitflow graph show FILE [--format mermaid|dot]`.

Not for: running graphs (cli/run.py).
"""
from __future__ import annotations

import argparse

from ..graph.graph_file import load_graph_file
from ..graph.show import to_dot, to_mermaid
from ..graph.validate import resolve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("graph", help="check or draw a graph file")
    sub = parser.add_subparsers(dest="graph_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a graph file against the node contracts")
    check.add_argument("file")
    check.set_defaults(func=_check)
    show = sub.add_parser("show", help="print the graph as Mermaid or DOT text")
    show.add_argument("file")
    show.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    show.set_defaults(func=_show)


def _check(args: argparse.Namespace) -> int:
    graph = resolve(load_graph_file(args.file))
    sources = [n.id for n in graph.nodes if not n.cls.inputs]
    sinks = [n.id for n in graph.nodes if not n.cls.outputs]
    print(f"{args.file}: ok ({len(graph.nodes)} nodes, {len(graph.edges)} edges; "
          f"sources: {', '.join(sources)}; sinks: {', '.join(sinks) or 'none'})")
    return 0


def _show(args: argparse.Namespace) -> int:
    graph = resolve(load_graph_file(args.file))
    print(to_mermaid(graph) if args.format == "mermaid" else to_dot(graph), end="")
    return 0
