"""The Python API's conveniences: a graph from a file or a recipe name, run it, stream its packets.

Not for: the runtime itself (graph/) or the command line (cli/); `import portraitflow` re-exports these
lazily, so importing the package stays cheap.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .graph.graph_file import load_graph_file
from .graph.python_stream import PacketStream
from .graph.runner import Observer, run_graph
from .graph.spec import DropPolicy, GraphSpec
from .graph.stats import RunStats
from .graph.validate import ResolvedGraph

#: an input or output: a CLI string ("sample", "in.mp4", "camera:0"; "out.mp4", "null") or (type, options)
Endpoint = str | tuple[str, dict[str, Any]]


def load_graph(path: str | Path) -> GraphSpec:
    """A graph file (TOML) as a GraphSpec; ConfigError names the file, node and field when it is wrong."""
    return load_graph_file(path)


def recipe_graph(recipe: str | Path, *, input: Endpoint = "sample", output: Endpoint = "null",
                 settings: dict[str, Any] | None = None) -> GraphSpec:
    """The graph `portraitflow run --recipe RECIPE --input INPUT --output OUTPUT` runs, as a GraphSpec.

    recipe: a bundled name ("blur", see list_recipes()) or a recipe file path; settings override the
    recipe's [settings] like `--set key=value` does. The graph's nodes are ``capture``, the recipe's
    chain (downscale, segment, smooth, fringe, composite) and ``output``.
    """
    from .devices.endpoints import sink_for, source_for
    from .recipes.loader import load_recipe
    from .recipes.loader import recipe_graph as chain_between

    source = source_for(input) if isinstance(input, str) else input
    sink = sink_for(output) if isinstance(output, str) else output
    return chain_between(load_recipe(recipe), source=source, sink=sink, settings=settings)


def list_recipes() -> list[str]:
    """The bundled recipe names."""
    from .recipes.loader import list_recipes as names
    return names()


def _as_graph(graph: GraphSpec | ResolvedGraph | str | Path) -> GraphSpec | ResolvedGraph:
    if isinstance(graph, (GraphSpec, ResolvedGraph)):
        return graph
    return load_graph_file(graph)


def run(graph: GraphSpec | ResolvedGraph | str | Path, *, max_frames: int | None = None,
        observers: list[Observer] | None = None) -> RunStats:
    """Run a graph (a GraphSpec or a graph file path) to its end and return what it measured.

    Ctrl-C stops cleanly (a second one aborts); a node's failure is raised as a NodeError naming the
    node, the frame index and its media time, after every node has closed.
    """
    return run_graph(_as_graph(graph), max_frames=max_frames, observers=observers)


def stream(graph: GraphSpec | str | Path, address: str, *, policy: DropPolicy | str | None = None,
           queue_size: int | None = None, max_frames: int | None = None) -> PacketStream:
    """Run a graph and iterate over the packets one of its output ports emits:

        for packet in portraitflow.stream(graph, "composite.frame", max_frames=30):
            frame = packet.payload      # numpy uint8 HxWx3 BGR (masks: float32 HxW in [0, 1])

    The edge to the loop is bounded like any edge (the graph's policy and queue size unless given:
    "latest" drops the oldest for a slow loop, counted in ``.stats``; "block" makes the graph wait).
    Leaving the loop (break, an exception) stops the graph: every node closes, no thread is left.
    """
    spec = _as_graph(graph)
    if isinstance(spec, ResolvedGraph):
        spec = spec.spec
    return PacketStream(spec, address, policy=policy, queue_size=queue_size, max_frames=max_frames)
