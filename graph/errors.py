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
    """A node raised while running: names the node id, its type and the frame it was working on,
    as a user counts it: the frame index (the source's sequence number) and its media time in
    seconds (the source's media time, graph/media_time.py, when it stamped one, else the time since
    the run's first frame).
    ``capture_ts_ns`` keeps the raw monotonic timestamp for programs."""

    def __init__(self, node_id: str, node_type: str, capture_ts_ns: int | None, cause: BaseException, *,
                 frame_index: int | None = None, media_time_s: float | None = None):
        self.node_id, self.node_type, self.capture_ts_ns = node_id, node_type, capture_ts_ns
        self.frame_index, self.media_time_s = frame_index, media_time_s
        super().__init__(f"node '{node_id}' ({node_type}) failed{self.where()}: "
                         f"{type(cause).__name__}: {cause}")
        self.__cause__ = cause

    def where(self) -> str:
        """' at frame 41 (t=1.367 s)', ' at frame 41', or '' when no frame was being handled."""
        if self.frame_index is None:
            return ""
        at = f" at frame {self.frame_index}"
        return at + (f" (t={self.media_time_s:.3f} s)" if self.media_time_s is not None else "")


class ModelError(PortraitflowError):
    """A model could not be fetched, verified, converted or loaded."""

    exit_code = 3


class DeviceError(PortraitflowError, OSError):
    """A source or sink could not be opened or used (file, camera, window, stream)."""

    exit_code = 4


class EndOfStream(Exception):
    """Raised by a source's process() when it has no more packets. Not an error."""
