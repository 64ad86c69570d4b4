"""The two ends of a link, for code that needs both: re-exports of endpoint.py, sender.py and receiver.py.

Not for: anything of its own. The socket and I/O thread are in endpoint.py, the producing end in
sender.py, the consuming end in receiver.py; docs/protocol.md is the specification.
"""
from __future__ import annotations

from .endpoint import PEER_TIMEOUT_S, Counters, LinkSettings
from .receiver import CLOCK_OFFSET_META, LinkReceiver
from .sender import LinkSender

__all__ = ["CLOCK_OFFSET_META", "PEER_TIMEOUT_S", "Counters", "LinkReceiver", "LinkSender", "LinkSettings"]
