"""`portraitflow graph check|show FILE|RECIPE` and `portraitflow graph export --recipe NAME [-o FILE]`.

Not for: running graphs (cli/run.py). A recipe name where a file is expected stands for the graph
`portraitflow run --recipe NAME` runs; `export` writes that graph as a graph file to start from, which
`run --graph` runs identically.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..graph.graph_file import load_graph_file
from ..graph.show import to_dot, to_mermaid
from ..graph.spec import GraphSpec
from ..graph.validate import resolve

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
    export.add_argument("--input", default=DEFAULT_INPUT, help=f"the capture node (default: {DEFAULT_INPUT})")
    export.add_argument("--output", default=DEFAULT_OUTPUT,
                        help=f"the output node (default: {DEFAULT_OUTPUT})")
    export.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe setting (repeatable), as `run --set` does")
    export.set_defaults(func=_export)


def graph_or_recipe(text: str) -> GraphSpec:
    """A graph file, or (when no such file exists and the name is a recipe) that recipe's graph."""
    path = Path(text)
    if path.suffix == ".toml" or path.exists() or "/" in text:
        return load_graph_file(path)
    from ..recipes.loader import list_recipes
    if text in list_recipes():
        return _recipe_spec(text, DEFAULT_INPUT, DEFAULT_OUTPUT, {})
    return load_graph_file(path)   # the file-not-found error, naming it


def _recipe_spec(recipe: str, input: str, output: str, settings: dict[str, str]) -> GraphSpec:
    from ..devices.endpoints import sink_for, source_for
    from ..recipes.loader import load_recipe, recipe_graph
    return recipe_graph(load_recipe(recipe), source=source_for(input), sink=sink_for(output),
                        settings=settings)


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
    from ..graph.errors import ConfigError
    settings = {}
    for text in args.settings:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {text!r}")
        settings[key.strip()] = value
    spec = _recipe_spec(args.recipe, args.input, args.output, settings)
    resolve(spec)    # never write a graph that `graph check` would refuse
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
