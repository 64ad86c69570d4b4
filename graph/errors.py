"""The project's exception hierarchy: one root, each error carrying what it is about.

Not for: catching. The CLI turns these into one clear line and a non-zero exit.
"""
from __future__ import annotations


class PortraitflowError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(PortraitflowError, ValueError):
    """A graph, recipe, manifest or option is wrong: the message names file, node and field."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, node: str | None = None,
                 field: str | None = None):
        where = ":".join(str(part) for part in (file, node, field) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.node, self.field = file, node, field


class ContractError(PortraitflowError, TypeError):
    """A node's declared contract is broken (port kinds, payload types)."""

    exit_code = 2


class NodeError(PortraitflowError, RuntimeError):
    """A node raised while running: names the node id, its type and the packet's timestamp."""

    def __init__(self, node_id: str, node_type: str, capture_ts_ns: int | None, cause: BaseException):
        at = f" at capture_ts_ns={capture_ts_ns}" if capture_ts_ns is not None else ""
        super().__init__(f"node '{node_id}' ({node_type}) failed{at}: "
                         f"{type(cause).__name__}: {cause}")
        self.node_id, self.node_type, self.capture_ts_ns = node_id, node_type, capture_ts_ns
        self.__cause__ = cause


class ModelError(PortraitflowError):
    """A model could not be fetched, verified, converted or loaded."""

    exit_code = 3


class DeviceError(PortraitflowError, OSError):
    """A source or sink could not be opened or used (file, camera, window, stream)."""

    exit_code = 4


class EndOfStream(Exception):
    """Raised by a source's process() when it has no more packets. Not an error."""
