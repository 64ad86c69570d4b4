"""An edge at run time: a bounded queue with an explicit drop policy, counting every drop.

Not for: pairing several inputs (graph/pairing.py) or crossing processes (the transport links).
All input streams of one node share that node's condition variable, so the node's worker can
wait for "anything arrived" and a blocked producer wakes when the consumer takes a packet.
"""
from __future__ import annotations

import threading
from collections import deque

from .packet import Packet
from .spec import DropPolicy


class Stream:
    """One edge's queue. ``put`` is called by the producer's thread, ``take`` by the consumer's."""

    def __init__(self, name: str, capacity: int, policy: DropPolicy, cond: threading.Condition,
                 abort: threading.Event):
        if capacity < 1:
            raise ValueError(f"edge {name}: queue_size must be >= 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self.policy = policy
        self.cond = cond
        self._abort = abort
        self._queue: deque[Packet] = deque()
        self.closed = False          # the producer ended its stream (end of stream)
        self.pushed = 0
        self.dropped = 0
        self.detached = False        # the consumer has ended: packets are discarded (and counted)

    def put(self, packet: Packet) -> None:
        with self.cond:
            if self.detached:
                self.dropped += 1
                return
            if len(self._queue) >= self.capacity:
                if self.policy is DropPolicy.LATEST:
                    self._queue.popleft()
                    self.dropped += 1
                else:
                    while (len(self._queue) >= self.capacity and not self._abort.is_set()
                           and not self.detached):
                        self.cond.wait(0.1)
                    if self._abort.is_set() or self.detached:
                        return
            self._queue.append(packet)
            self.pushed += 1
            self.cond.notify_all()

    def close(self) -> None:
        """End of stream: the consumer drains what is queued, then sees the end."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def detach(self) -> None:
        """The consumer has ended (finished or failed): a producer never blocks on it again."""
        with self.cond:
            self.detached = True
            self.dropped += len(self._queue)
            self._queue.clear()
            self.cond.notify_all()

    # The methods below are called with self.cond held, by the consumer.
    def head(self) -> Packet | None:
        return self._queue[0] if self._queue else None

    def pop(self) -> Packet:
        packet = self._queue.popleft()
        self.cond.notify_all()       # wake a producer blocked on a full queue
        return packet

    def __len__(self) -> int:
        return len(self._queue)
