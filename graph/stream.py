"""An edge at run time: a bounded queue with an explicit drop policy, counting every drop.

Not for: pairing several inputs (graph/pairing.py) or crossing processes (the transport links).
All input streams of one node share that node's lock. A thread is woken only for what it waits for,
never polled: the consumer waits on one stream at a time (``consumer_waiting``: the primary for its next
packet, then each secondary it pairs) and a put wakes it only when it waits on that stream; a producer
blocked on a full queue waits on that stream's own condition, woken by a pop from it. (Before, every put
and pop woke every waiter of the node and every wait also woke itself every 0.1 s: bench/runner.py
counts the context switches that cost.) Abort and detach wake everyone. A producer settles each capture
timestamp it has finished (``settle``), so a consumer pairing by timestamp knows a packet that did not come
never will.
"""
from __future__ import annotations

import threading
from collections import deque

from .packet import Packet
from .spec import DropPolicy


class Stream:
    """One edge's queue. ``put`` is called by the producer's thread, ``take`` by the consumer's."""

    def __init__(self, name: str, capacity: int, policy: DropPolicy, cond: threading.Condition,
                 abort: threading.Event, lock: threading.RLock | None = None):
        if capacity < 1:
            raise ValueError(f"edge {name}: queue_size must be >= 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self.policy = policy
        self.cond = cond             # the consumer's (all its streams'): it waits on it for packets
        # the producer waits for room on a condition of its own over the same lock (``lock``: cond's)
        self._space = threading.Condition(lock) if lock is not None else cond
        self._abort = abort
        self._queue: deque[Packet] = deque()
        self.closed = False          # the producer ended its stream (end of stream)
        self.pushed = 0
        self.dropped = 0
        self.detached = False        # the consumer has ended: packets are discarded (and counted)
        self.consumer_waiting = False   # the consumer sleeps until this stream changes (set under cond)
        # the producer is done with every capture timestamp up to this one (None: it never said): a packet
        # at or before it that is not queued will never come (MediaPipe's timestamp bound)
        self.settled_ns: int | None = None

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
                        self._space.wait()
                    if self._abort.is_set() or self.detached:
                        return
            self._queue.append(packet)
            self.pushed += 1
            if self.consumer_waiting:
                self.cond.notify()

    def settle(self, ts_ns: int) -> None:
        """The producer finished its call for ``ts_ns``: whatever it emits from now on is newer."""
        with self.cond:
            if self.settled_ns is None or ts_ns > self.settled_ns:
                self.settled_ns = ts_ns
                if self.consumer_waiting:
                    self.cond.notify()

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
            self._space.notify_all()
            self.cond.notify_all()

    def wake_all(self) -> None:
        """Abort: the consumer and a producer blocked on this queue look at the abort flag now."""
        with self.cond:
            self._space.notify_all()
            self.cond.notify_all()

    # The methods below are called with self.cond held, by the consumer.
    def wait(self, timeout: float | None = None) -> None:
        """Sleep until this stream changes (a packet, its end), abort, or ``timeout`` seconds."""
        self.consumer_waiting = True
        try:
            self.cond.wait(timeout)
        finally:
            self.consumer_waiting = False

    def head(self) -> Packet | None:
        return self._queue[0] if self._queue else None

    def pop(self) -> Packet:
        packet = self._queue.popleft()
        self._space.notify()         # the producer, if it is blocked on this full queue
        return packet

    def __len__(self) -> int:
        return len(self._queue)
