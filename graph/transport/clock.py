"""Clock offset between the two ends of a link, from NTP-style ping/pong exchanges.

Not for: changing timestamps: capture_ts_ns is never rewritten; the offset only serves latency figures.
"""
from __future__ import annotations

from collections import deque


class ClockOffset:
    """Estimates ``peer_clock - local_clock`` in ns.

    Each exchange gives t1 (ping sent, local), t2 (ping received, peer), t3 (pong sent, peer) and
    t4 (pong received, local): offset = ((t2 - t1) + (t3 - t4)) / 2, round trip = (t4 - t1) - (t3 - t2).
    The estimate is the offset of the exchange with the shortest round trip among the recent ones,
    since queueing delay on either leg is what makes an exchange wrong.
    """

    def __init__(self, keep: int = 16):
        self._samples: deque[tuple[int, int]] = deque(maxlen=keep)   # (round trip, offset)

    def add(self, t1: int, t2: int, t3: int, t4: int) -> None:
        round_trip = (t4 - t1) - (t3 - t2)
        if round_trip < 0:
            return        # inconsistent stamps (a forged or corrupted pong): ignore
        self._samples.append((round_trip, ((t2 - t1) + (t3 - t4)) // 2))

    @property
    def known(self) -> bool:
        return bool(self._samples)

    @property
    def offset_ns(self) -> int:
        """peer - local (0 until the first exchange)."""
        return min(self._samples)[1] if self._samples else 0

    @property
    def round_trip_ns(self) -> int | None:
        return min(self._samples)[0] if self._samples else None
