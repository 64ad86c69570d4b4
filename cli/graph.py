"""`portraitflow graph check|show FILE|RECIPE` and `portraitflow graph export --recipe NAME [-o FILE]`.

Not for: running graphs (cli/run.py). A recipe name where a file is expected stands for the graph
`portraitflow run --recipe NAME` runs; `export` writes that graph as a graph file to start from, which
`run --graph` runs identically (it is built by run's own code, cli/run.py's build_spec).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..graph.graph_file import load_graph_file
from ..graph.show import to_dot, to_mermaid
from ..graph.spec import GraphSpec
from ..graph.validate import resolve
from . import run as run_cli
from .flags import add_size_flags
from .run import build_spec

#: what `run` uses when --input / --output are not given (cli/run.py's defaults)
DEFAULT_INPUT = "sample"
DEFAULT_OUTPUT = "portraitflow-out.mp4"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("graph", help="check, draw or export a graph (a file or a recipe)")
    sub = parser.add_subparsers(dest="graph_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a graph file (or a recipe) against the node contracts")
    check.add_argument("file", help="a graph file (.toml) or a recipe name")
    check.set_defaults(func=_check)
    show = sub.add_parser("show", help="print the graph as Mermaid or DOT text")
    show.add_argument("file", help="a graph file (.toml) or a recipe name")
    show.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    show.set_defaults(func=_show)
    export = sub.add_parser("export", help="write a recipe's whole graph as a graph file",
                            description="Write the graph `portraitflow run --recipe NAME` runs as a graph "
                                        "file: `graph check` accepts it and `run --graph FILE` runs it "
                                        "identically (its --input/--output replace the nodes capture and "
                                        "output).")
    export.add_argument("--recipe", required=True, help="recipe name or .toml recipe path")
    export.add_argument("-o", "--output-file", dest="output_file", metavar="FILE",
                        help="where to write it (default: print it)")
    # the flags of `run --recipe` that shape the graph, passed to run's own graph builder
    export.add_argument("--input", default=DEFAULT_INPUT, help=f"the capture node (default: {DEFAULT_INPUT})")
    export.add_argument("--output", default=DEFAULT_OUTPUT,
                        help=f"the output node (default: {DEFAULT_OUTPUT})")
    export.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override a look setting or NODE.OPTION (repeatable), as `run --set` does")
    export.add_argument("--realtime", action="store_true", help="pace file and sample sources, as `run` does")
    export.add_argument("--key-colour", metavar="green|blue|#RRGGBB", help="as `run --key-colour`")
    export.add_argument("--fps", type=float, default=None, metavar="N", help="as `run --fps`")
    export.add_argument("--no-audio", action="store_true", help="as `run --no-audio`")
    add_size_flags(export)
    export.set_defaults(func=_export)


def graph_or_recipe(text: str) -> GraphSpec:
    """A graph file, or (when no such file exists and the name is a recipe) that recipe's graph."""
    path = Path(text)
    if path.suffix == ".toml" or path.exists() or "/" in text:
        return load_graph_file(path)
    from ..recipes.loader import list_recipes
    if text in list_recipes():
        return build_spec(_as_run_args(argparse.Namespace(recipe=text)))
    return load_graph_file(path)   # the file-not-found error, naming it


#: flags `graph export` shares with `run`, by their argparse dest
SHARED_RUN_FLAGS = ("recipe", "input", "output", "settings", "realtime", "key_colour", "fps", "no_audio",
                    "size", "max_size")


def _as_run_args(args: argparse.Namespace) -> argparse.Namespace:
    """The Namespace `portraitflow run --recipe ...` would have: run's defaults, this command's flags."""
    parser = argparse.ArgumentParser()
    run_cli.register(parser.add_subparsers(dest="command"))
    run_args = parser.parse_args(["run"])
    for name in SHARED_RUN_FLAGS:
        if hasattr(args, name) and hasattr(run_args, name):
            setattr(run_args, name, getattr(args, name))
    return run_args


def _check(args: argparse.Namespace) -> int:
    graph = resolve(graph_or_recipe(args.file))
    sources = [n.id for n in graph.nodes if not n.cls.inputs]
    sinks = [n.id for n in graph.nodes if not n.cls.outputs]
    print(f"{args.file}: ok ({len(graph.nodes)} nodes, {len(graph.edges)} edges; "
          f"sources: {', '.join(sources)}; sinks: {', '.join(sinks) or 'none'})")
    return 0


def _show(args: argparse.Namespace) -> int:
    graph = resolve(graph_or_recipe(args.file))
    print(to_mermaid(graph) if args.format == "mermaid" else to_dot(graph), end="")
    return 0


def _export(args: argparse.Namespace) -> int:
    spec = build_spec(_as_run_args(args))
    order = resolve(spec).nodes    # never write a graph that `graph check` would refuse
    spec.nodes = {n.id: spec.nodes[n.id] for n in order}   # top to bottom: source first, as a frame flows
    spec.file = None
    comments = {node.id: f"options and their ranges: portraitflow nodes {node.type}"
                for node in spec.nodes.values()}
    text = (f"# The graph `portraitflow run --recipe {args.recipe}` runs, written by `portraitflow graph "
            f"export`.\n# `portraitflow run --graph FILE --input X --output Y` replaces the nodes "
            f"capture and output.\n\n" + spec.to_toml(comments=comments))
    if args.output_file:
        Path(args.output_file).write_text(text, encoding="utf-8")
        print(f"wrote {args.output_file}", file=sys.stderr)
    else:
        print(text, end="")
    return 0
