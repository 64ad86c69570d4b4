"""Source timing: strictly increasing capture timestamps, and optional real-time pacing at a frame rate.

Not for: edge drop policies or latency statistics (graph/stream.py, graph/stats.py).
"""
from __future__ import annotations

import time

from ..graph import now_ns

#: a frame this late is a stall (a pause from the web page, a suspended machine), not jitter
STALL_NS = 1_000_000_000


class SourceClock:
    """Capture timestamps for a source: the graph's monotonic clock, nudged so they always increase
    (two frames read within the same nanosecond tick must still be ordered).

    With ``fps > 0`` and ``realtime``, ``wait(i)`` sleeps until frame i's due time measured from the
    first frame, so a file plays like a camera; a late frame is not waited for (no catch-up burst
    beyond what is already late, and no drift: due times come from the start, not the last frame).
    A frame more than STALL_NS late (the graph was paused) moves the start, so play goes on from there.
    """

    def __init__(self, fps: float = 0.0, realtime: bool = False):
        self.period_ns = int(1e9 / fps) if fps > 0 else 0
        self.realtime = realtime and fps > 0
        self._start_ns: int | None = None
        self._last_ns = 0

    def wait(self, offset_ns: int) -> None:
        """Real-time mode: sleep until ``start + offset_ns``; otherwise return at once."""
        if not self.realtime:
            return
        if self._start_ns is None:
            self._start_ns = now_ns()
            return
        delay_ns = self._start_ns + offset_ns - now_ns()
        if delay_ns > 0:
            time.sleep(delay_ns / 1e9)
        elif delay_ns < -STALL_NS:
            # the graph was paused (or the machine stalled): go on in real time from here instead
            # of bursting out every frame that fell due meanwhile
            self._start_ns -= delay_ns

    def wait_frame(self, index: int) -> None:
        """Real-time mode: sleep until frame ``index`` is due (index / fps after the first)."""
        self.wait(index * self.period_ns)

    def stamp(self) -> int:
        """Now, strictly after the previous stamp."""
        ts = max(now_ns(), self._last_ns + 1)
        self._last_ns = ts
        return ts
