"""The dataflow runtime: node contract, packets, streams and policies, scheduler, graph files.

Not for: any concrete node (nodes/, devices/) or model code (models/); nothing here imports them.
"""
from .errors import (
    ConfigError,
    ContractError,
    DeviceError,
    EndOfStream,
    ModelError,
    NodeError,
    PortraitflowError,
)
from .graph_file import load_graph_file, parse_graph
from .kinds import AnyKind, Frame, Kind, Mask
from .node import Context, Encoding, Node, Pairing
from .options import Above, NoOptions, build_options, check_ranges, describe_options
from .packet import Packet, now_ns
from .runner import GraphRunner, run_graph
from .spec import DropPolicy, GraphSpec
from .stats import RunStats
from .validate import resolve

__all__ = [
    "Above",
    "AnyKind",
    "ConfigError",
    "Context",
    "ContractError",
    "DeviceError",
    "DropPolicy",
    "Encoding",
    "EndOfStream",
    "Frame",
    "GraphRunner",
    "GraphSpec",
    "Kind",
    "Mask",
    "ModelError",
    "NoOptions",
    "Node",
    "NodeError",
    "Packet",
    "Pairing",
    "PortraitflowError",
    "RunStats",
    "build_options",
    "check_ranges",
    "describe_options",
    "load_graph_file",
    "now_ns",
    "parse_graph",
    "resolve",
    "run_graph",
]
