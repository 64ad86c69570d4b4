"""portraitflow: a real-time dataflow graph that turns a live selfie into a designed portrait.

Subpackages: graph (runtime), nodes (stages), models (segmentation models), recipes (designs),
devices (sources and sinks), cli (the command line). Importing this package downloads nothing and
imports nothing heavy: the names below load their module on first use.

    import portraitflow as pf
    graph = pf.recipe_graph("blur", input="sample")           # or pf.load_graph("my.toml"), pf.GraphSpec()
    for packet in pf.stream(graph, "composite.frame", max_frames=30):
        frame = packet.payload                                  # numpy uint8 HxWx3, BGR
    stats = pf.run(pf.recipe_graph("poster", input="in.mp4", output="out.mp4"))
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module (relative to this package) that defines it
_EXPORTS = {
    # build a graph
    "GraphSpec": ".graph.spec", "DropPolicy": ".graph.spec",
    "load_graph": ".api", "recipe_graph": ".api", "list_recipes": ".api",
    # run it, stream it
    "run": ".api", "stream": ".api", "PacketStream": ".graph.python_stream",
    "GraphRunner": ".graph.runner", "RunStats": ".graph.stats",
    # write a node
    "Node": ".graph.node", "Context": ".graph.node", "Pairing": ".graph.node", "Packet": ".graph.packet",
    "Kind": ".graph.kinds", "AnyKind": ".graph.kinds", "Frame": ".graph.kinds", "Mask": ".graph.kinds",
    "NoOptions": ".graph.options", "check_ranges": ".graph.options", "Above": ".graph.options",
    "register": ".graph.registry",
    # errors
    "PortraitflowError": ".graph.errors", "ConfigError": ".graph.errors", "ContractError": ".graph.errors",
    "NodeError": ".graph.errors", "DeviceError": ".graph.errors", "ModelError": ".graph.errors",
    "EndOfStream": ".graph.errors",
}
#: the same class under the name a newcomer looks for first
_ALIASES = {"Graph": "GraphSpec"}

__all__ = sorted([*_EXPORTS, *_ALIASES, "__version__"])


def __getattr__(name: str) -> Any:
    target = _ALIASES.get(name, name)
    module = _EXPORTS.get(target)
    if module is None:
        raise AttributeError(f"module 'portraitflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), target)
    globals()[name] = value      # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:   # for editors and type checkers; at run time the names load lazily
    from .api import list_recipes, load_graph, recipe_graph, run, stream
    from .graph.errors import (ConfigError, ContractError, DeviceError, EndOfStream, ModelError, NodeError,
                               PortraitflowError)
    from .graph.kinds import AnyKind, Frame, Kind, Mask
    from .graph.node import Context, Node, Pairing
    from .graph.options import Above, NoOptions, check_ranges
    from .graph.packet import Packet
    from .graph.python_stream import PacketStream
    from .graph.registry import register
    from .graph.runner import GraphRunner
    from .graph.spec import DropPolicy, GraphSpec
    from .graph.spec import GraphSpec as Graph
    from .graph.stats import RunStats
