"""Clock offset between the two ends of a link, from NTP-style ping/pong exchanges, with sanity checks.

Not for: changing timestamps: capture_ts_ns is never rewritten; the offset serves latency figures and
the receiver's future-timestamp check.
"""
from __future__ import annotations

from collections import deque

#: an offset larger than this (about 36 years) is not a clock, it is an attack on int64 arithmetic
MAX_OFFSET_NS = 1 << 60
#: besides what the two round trips explain, an exchange may disagree with the estimate by this much
SLACK_NS = 2_000_000


class ClockOffset:
    """Estimates ``peer_clock - local_clock`` in ns.

    Each exchange gives t1 (ping sent, local), t2 (ping received, peer), t3 (pong sent, peer) and
    t4 (pong received, local): offset = ((t2 - t1) + (t3 - t4)) / 2, round trip = (t4 - t1) - (t3 - t2).
    The estimate is the offset of the exchange with the shortest round trip among the recent ones,
    since queueing delay on either leg is what makes an exchange wrong. The true offset lies within
    half a round trip of every honest exchange, so an exchange whose offset is further from the
    estimate than half of the two round trips plus SLACK_NS is refused (a peer lying in its pongs,
    or a clock that jumped): ``add`` returns False and the estimate does not move.
    """

    def __init__(self, keep: int = 16):
        self._samples: deque[tuple[int, int]] = deque(maxlen=keep)   # (round trip, offset)

    def add(self, t1: int, t2: int, t3: int, t4: int) -> bool:
        round_trip = (t4 - t1) - (t3 - t2)
        if t3 < t2 or t4 < t1 or round_trip < 0:
            return False      # inconsistent stamps (a forged or corrupted pong)
        offset = ((t2 - t1) + (t3 - t4)) // 2
        if abs(offset) > MAX_OFFSET_NS:
            return False
        if self._samples:
            best_trip, best_offset = min(self._samples)
            if abs(offset - best_offset) > (round_trip + best_trip) // 2 + SLACK_NS:
                return False
        self._samples.append((round_trip, offset))
        return True

    @property
    def known(self) -> bool:
        return bool(self._samples)

    @property
    def samples(self) -> int:
        return len(self._samples)

    @property
    def offset_ns(self) -> int:
        """peer - local (0 until the first exchange)."""
        return min(self._samples)[1] if self._samples else 0

    @property
    def round_trip_ns(self) -> int | None:
        return min(self._samples)[0] if self._samples else None
