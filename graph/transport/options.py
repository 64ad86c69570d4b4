"""Options shared by the two link nodes: where to meet, which stream, which keys, which limits.

Not for: per-end options (codec and policy on link_out, window and kind on link_in).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..options import check_ranges
from . import wire
from .endpoint import LinkSettings
from .security import Security

MODES = ("bind", "connect")


@dataclass(frozen=True)
class LinkOptions:
    address: str = ""             # a ZeroMQ endpoint: ipc:///tmp/x, tcp://127.0.0.1:5555, tcp://*:5555
    mode: str = "connect"         # "bind" or "connect"
    stream: str = "link"          # the link's name; both ends must agree (checked on every message)
    heartbeat_ms: float = 100.0
    secret_key: str = ""          # CurveZMQ: this end's certificate (NAME.key_secret)
    server_key: str = ""          # CurveZMQ, connecting end: the server's public certificate (NAME.key)
    allow_keys: str = ""          # CurveZMQ, binding end: directory of allowed client certificates
    insecure: bool = False        # plain text on a non-loopback address
    max_side: int = 8192
    max_payload_mb: int = 64

    def __post_init__(self):
        if not self.address or "://" not in self.address:
            raise ValueError(f"address must be a ZeroMQ endpoint like tcp://127.0.0.1:5555 or ipc:///tmp/x, "
                             f"got {self.address!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'bind' or 'connect', got {self.mode!r}")
        if not self.stream or len(self.stream) > 200:
            raise ValueError(f"stream must be a name of 1-200 characters, got {self.stream!r}")
        check_ranges(self, heartbeat_ms=(5, 1000), max_side=(16, 65535), max_payload_mb=(1, 1024))


def settings_from(options: LinkOptions, node_id: str) -> LinkSettings:
    return LinkSettings(
        address=options.address, bind=options.mode == "bind", stream=options.stream, node=node_id,
        security=Security(options.secret_key, options.server_key, options.allow_keys, options.insecure),
        heartbeat_s=options.heartbeat_ms / 1000.0,
        limits=wire.Limits(max_side=options.max_side, max_payload_bytes=options.max_payload_mb << 20))
