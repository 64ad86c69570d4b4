"""The unit that flows along an edge: a payload with its capture timestamp, sequence and metadata.

Not for: transport encoding (see graph/wire.py); a Packet is the in-process form.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: metadata a packet from another process carries (set by graph/transport's link_in): that
#: process's monotonic clock minus this one's, so capture_ts_ns + offset is on this clock
CLOCK_OFFSET_KEY = "clock_offset_ns"
#: the counter a receiving link node keeps: the sending process's clock minus this one's, in µs (the
#: trace recorder reads it to put a split run's processes on one clock)
LINK_CLOCK_OFFSET_COUNTER = "link_clock_offset_us"


def now_ns() -> int:
    """The graph's clock: monotonic nanoseconds (time.monotonic_ns)."""
    return time.monotonic_ns()


@dataclass(frozen=True, slots=True)
class Packet:
    """An immutable packet. Nodes must not modify a payload they received: it may be shared
    by several downstream edges, and a frame that came over a same-host shm link is a read-only
    view of the sender's memory. Make a new array (or copy) instead.

    capture_ts_ns: monotonic ns, set once by the source and never rewritten downstream.
    seq: the source's sequence number (0, 1, 2, ...), carried along like the timestamp.
    meta: small, msgpack-friendly values (str, int, float, bool, lists, dicts).
    """

    payload: Any
    capture_ts_ns: int
    seq: int
    meta: dict[str, Any] = field(default_factory=dict)

    def derive(self, payload: Any, **meta: Any) -> Packet:
        """A packet with a new payload, the same timestamp and sequence, and merged metadata."""
        merged = {**self.meta, **meta} if meta else self.meta
        return Packet(payload, self.capture_ts_ns, self.seq, merged)
