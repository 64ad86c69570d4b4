"""Output timestamps for the sinks that encode (files, network streams): pts that always increase.

Not for: capture timestamps (graph/packet.py) or the media time sources stamp (graph/media_time.py);
this turns either into a muxer's pts in the output time base.

A muxer refuses a dts that does not increase ("non monotonically increasing dts"), and a camera
delivers bursts (2-3 frames within a millisecond), jitter and duplicate timestamps, so:
- pts come from the frame's own time (media time by default) in a fine time base (1/90000 for
  MPEG-TS and files, 1/1000 for FLV), never from a frame counter rounded to a nominal rate;
- a frame that would land on or before the previous one is nudged one tick later (counted as
  ``timestamps_nudged``); a jump back of more than ``DISCONTINUITY_S`` (a source that restarted) is
  a discontinuity: the output carries on one frame after the last (counted ``timestamp_discontinuities``);
- with a fixed output rate (``fps``), each frame goes to the slots of that rate it covers: a second
  frame in the same slot is dropped (``frames_dropped_for_fps``), a gap is filled by repeating the
  frame (``frames_repeated_for_fps``), so the file is constant-rate at ``fps`` with the input's duration.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Literal

from ..graph import Packet
from ..graph.media_time import media_rate, media_seconds

Timing = Literal["media", "capture", "index"]
#: a jump back in time larger than this is a source restart, not jitter: do not nudge, re-base
DISCONTINUITY_S = Fraction(1)
#: a gap is filled with repeats of the next frame at a fixed rate, but never more than this much
MAX_FILL_S = 2


class OutputClock:
    """pts for each frame a sink writes, in ``time_base``.

    timing: "media" (the source's media time; packets without one use their capture time),
            "capture" (capture_ts_ns: a live run's real timing, gaps included), "index" (frame i at
            i / rate: constant-rate whatever the timing).
    fps: 0 keeps the source's timing (constant or variable rate); > 0 resamples to that rate.
    """

    def __init__(self, time_base: Fraction, timing: Timing = "media", fps: float = 0.0,
                 count: Callable[[str, int], None] | None = None):
        self.time_base = Fraction(time_base)
        self._count_to = count    # the node's ctx.count: the run summary shows nudges and drops
        self.timing = timing
        self.fps = Fraction(fps).limit_denominator(1001) if fps else None
        self.counters: dict[str, int] = {}     # the same counts, kept here too
        self._origin: Fraction | None = None     # source seconds of the first frame
        self._shift = Fraction(0)                # added after a discontinuity
        self._last_seconds: Fraction | None = None
        self._last_pts = -1
        self._last_slot = -1
        self._index = 0
        self._nominal_rate: Fraction | None = None
        self._interval: Fraction | None = None   # the last gap between two frames, in seconds

    # -- what a sink asks ------------------------------------------------------------------------
    def pts_for(self, packet: Packet) -> list[int]:
        """The output pts to write this frame at: one normally, none when dropped for the fixed
        rate, several when it fills a gap at the fixed rate. Always after every earlier pts."""
        if self._nominal_rate is None:
            self._nominal_rate = media_rate(packet.meta)
        seconds = self._relative_seconds(packet)
        self._index += 1
        if self.fps is None:
            return [self._next_tick(seconds)]
        slot = math.floor(seconds * self.fps + Fraction(1, 2))
        if slot <= self._last_slot:
            if self._last_slot >= 0:
                self._count("frames_dropped_for_fps")
                return []
            slot = 0
        first = max(self._last_slot + 1, slot - int(MAX_FILL_S * self.fps))
        slots = range(first, slot + 1)
        if len(slots) > 1:
            self._count("frames_repeated_for_fps", len(slots) - 1)
        self._last_slot = slot
        return [self._next_tick(Fraction(s) / self.fps) for s in slots]

    def seconds_of(self, packet: Packet) -> Fraction | None:
        """The packet's source time in seconds, on the clock ``timing`` reads (None: index timing)."""
        if self.timing == "capture":
            return Fraction(packet.capture_ts_ns, 1_000_000_000)
        if self.timing == "index":
            return None
        seconds = media_seconds(packet.meta)
        return seconds if seconds is not None else Fraction(packet.capture_ts_ns, 1_000_000_000)

    @property
    def origin_seconds(self) -> Fraction | None:
        """Source time (on the ``timing`` clock) written at pts 0: the first frame's."""
        return self._origin

    @property
    def rate(self) -> Fraction | None:
        """The output's nominal rate: the fixed fps, else the source's nominal rate."""
        return self.fps or self._nominal_rate

    def frame_duration(self) -> int:
        """A frame's duration in ticks (for the packets and the last frame of the file): one period
        of the nominal rate, else the last interval seen, else 1/30 s."""
        period = (1 / self.rate) if self.rate else (self._interval or Fraction(1, 30))
        return max(1, round(period / self.time_base))

    def end_seconds(self) -> Fraction:
        """Output time (s) at which the last frame written ends: audio is cut there."""
        return (self._last_pts + self.frame_duration()) * self.time_base if self._last_pts >= 0 else Fraction(0)

    # -- inside ----------------------------------------------------------------------------------
    def _relative_seconds(self, packet: Packet) -> Fraction:
        seconds = self.seconds_of(packet)
        if seconds is None:    # index timing: the nominal rate (or the fixed fps, or 30)
            rate = self.fps or self._nominal_rate or Fraction(30)
            seconds = Fraction(self._index) / rate
        if self._origin is None:
            self._origin = seconds
        relative = seconds - self._origin + self._shift
        if self._last_seconds is not None:
            if relative - self._last_seconds > 0:
                self._interval = relative - self._last_seconds
            elif self._last_seconds - relative > DISCONTINUITY_S:
                step = (1 / self.rate) if self.rate else (self._interval or Fraction(1, 30))
                self._shift += self._last_seconds + step - relative
                relative = self._last_seconds + step
                self._count("timestamp_discontinuities")
        self._last_seconds = max(relative, self._last_seconds) if self._last_seconds is not None else relative
        return relative

    def _next_tick(self, seconds: Fraction) -> int:
        pts = math.floor(seconds / self.time_base + Fraction(1, 2))
        if pts <= self._last_pts:
            pts = self._last_pts + 1
            self._count("timestamps_nudged")
        self._last_pts = pts
        return pts

    def _count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n
        if self._count_to is not None:
            self._count_to(name, n)
