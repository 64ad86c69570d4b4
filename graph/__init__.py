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
from .kinds import AnyKind, Frame, Kind, Mask
from .node import Context, Node, Pairing
from .options import NoOptions, build_options
from .packet import Packet, now_ns

__all__ = [
                     "AnyKind",
                     "ConfigError",
                     "Context",
                     "ContractError",
                     "DeviceError",
                     "EndOfStream",
                     "Frame",
                     "Kind",
                     "Mask",
                     "ModelError",
                     "NoOptions",
                     "Node",
                     "NodeError",
                     "Packet",
                     "Pairing",
                     "PortraitflowError",
                     "build_options",
                     "now_ns",
]
