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
from typing import Any

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
    "register": ".graph.registry", "NodeHarness": ".graph.testing",
    # errors
    "PortraitflowError": ".graph.errors", "ConfigError": ".graph.errors", "ContractError": ".graph.errors",
    "NodeError": ".graph.errors", "DeviceError": ".graph.errors", "ModelError": ".graph.errors",
    "EndOfStream": ".graph.errors",
}
#: the same class under the name a newcomer looks for first
_ALIASES = {"Graph": "GraphSpec"}

__all__ = [   # _EXPORTS and _ALIASES, spelled out for readers and linters (a test keeps them equal)
    "Above", "AnyKind", "ConfigError", "Context", "ContractError", "DeviceError", "DropPolicy", "EndOfStream",
    "Frame", "Graph", "GraphRunner", "GraphSpec", "Kind", "Mask", "ModelError", "NoOptions", "Node",
    "NodeError", "NodeHarness", "Packet", "PacketStream", "Pairing", "PortraitflowError", "RunStats", "__version__",
    "check_ranges", "list_recipes", "load_graph", "recipe_graph", "register", "run", "stream",
]


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

