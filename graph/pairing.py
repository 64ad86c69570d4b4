"""Take a node's next set of inputs: one primary packet, each other input paired by timestamp.

Not for: queueing (graph/stream.py). The rule, per secondary input: use the packet with the primary's
capture timestamp, waiting for it up to the pairing's wait (forever on BLOCK edges, where nothing is
dropped); once it cannot come any more (a newer packet arrived, its producer finished that
timestamp without emitting it, the stream ended, or the wait ran out), use the newest packet not newer than the primary if it is at most max_age old, else None.
"""
from __future__ import annotations

import threading
import time

from .node import Pairing
from .packet import Packet
from .spec import DropPolicy
from .stream import Stream


class InputSet:
    """The input side of one node: its streams by port, and the pairing rule."""

    def __init__(self, streams: dict[str, Stream], pairing: Pairing | None, cond: threading.Condition,
                 abort: threading.Event):
        self.streams = streams
        self.cond = cond
        self.abort = abort
        self.primary = pairing.primary if pairing else (next(iter(streams)) if streams else None)
        self.pairing = pairing
        self._latest_not_newer: dict[str, Packet | None] = {p: None for p in streams}
        self.late_or_missing: dict[str, int] = {p: 0 for p in streams}

    def next(self) -> dict[str, Packet | None] | None:
        """Block until the next input set is ready; None at end of stream or abort."""
        if self.primary is None:
            return None
        primary_stream = self.streams[self.primary]
        with self.cond:
            while not len(primary_stream) and not primary_stream.closed and not self.abort.is_set():
                primary_stream.wait()     # woken by a packet on it, its end or abort: never polled
            if self.abort.is_set() or not len(primary_stream):
                return None
            packet = primary_stream.pop()
            inputs: dict[str, Packet | None] = {self.primary: packet}
            for port, stream in self.streams.items():
                if port != self.primary:
                    inputs[port] = self._pair(port, stream, packet)
            if self.abort.is_set():   # aborted while pairing: leave now, not with a pair made up by the abort
                return None
            return inputs

    def _pair(self, port: str, stream: Stream, primary: Packet) -> Packet | None:
        assert self.pairing is not None
        ts = primary.capture_ts_ns
        wait_ms = None if stream.policy is DropPolicy.BLOCK else self.pairing.wait_ms
        deadline = None if wait_ms is None else time.monotonic() + wait_ms / 1000.0
        while True:
            # move every packet not newer than the primary out of the queue; keep the newest
            while len(stream) and stream.head().capture_ts_ns <= ts:  # type: ignore[union-attr]
                self._latest_not_newer[port] = stream.pop()
            candidate = self._latest_not_newer[port]
            if candidate is not None and candidate.capture_ts_ns == ts:
                return candidate
            # a producer that took its input for ts and emitted nothing for it (a dropped bad packet, a node
            # that emits every Nth frame) settles ts: on a BLOCK edge waiting on would wait for ever, while
            # the primary's queue backs up to the source that feeds that producer too
            settled = stream.settled_ns is not None and stream.settled_ns >= ts
            cannot_come = len(stream) > 0 or settled or stream.closed or self.abort.is_set()
            timed_out = deadline is not None and time.monotonic() >= deadline
            if cannot_come or timed_out:
                self.late_or_missing[port] += 1
                if candidate is not None and ts - candidate.capture_ts_ns <= self.pairing.max_age_ms * 1e6:
                    return candidate
                return None
            stream.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
