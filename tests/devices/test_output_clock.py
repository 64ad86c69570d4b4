"""OutputClock: pts that always increase, from media time, through duplicates, bursts, restarts and a
fixed output rate."""
from __future__ import annotations

import itertools
from fractions import Fraction

from portraitflow.devices.output_clock import OutputClock
from portraitflow.graph.media_time import NANOSECONDS, media_meta
from portraitflow.graph.packet import Packet

MS = 1_000_000


def camera_packets(media_ms: list[float]) -> list[Packet]:
    return [Packet(None, 10**9 + i, i, media_meta(round(t * MS), NANOSECONDS, 30)) for i, t in enumerate(media_ms)]


def test_duplicates_and_bursts_are_nudged_one_tick_and_counted():
    clock = OutputClock(Fraction(1, 1000))
    times = [0, 33, 33, 33.2, 33.5, 66, 100]       # a duplicate, then a burst within 1 ms
    pts = [p for packet in camera_packets(times) for p in clock.pts_for(packet)]
    assert pts == [0, 33, 34, 35, 36, 66, 100]
    assert clock.counters == {"timestamps_nudged": 3}


def test_a_source_restart_is_a_discontinuity_not_thousands_of_nudges():
    clock = OutputClock(Fraction(1, 90_000))
    times = [5000, 5033.3, 5066.7, 10, 43.3]        # the clock went back 5 s
    pts = [p for packet in camera_packets(times) for p in clock.pts_for(packet)]
    assert all(b > a for a, b in itertools.pairwise(pts))
    assert pts[3] - pts[2] == 3000                  # one nominal frame (1/30 s) after the last
    assert abs(pts[4] - pts[3] - 2997) <= 1           # and the source's own spacing after it
    assert clock.counters == {"timestamp_discontinuities": 1}


def test_a_fixed_rate_drops_extra_frames_and_fills_gaps():
    clock = OutputClock(Fraction(1, 90_000), fps=10)
    times = [0, 20, 40, 100, 400]                   # 2 frames in slot 0, then a 300 ms gap
    written = [clock.pts_for(packet) for packet in camera_packets(times)]
    assert written == [[0], [], [], [9000], [18000, 27000, 36000]]
    assert clock.counters == {"frames_dropped_for_fps": 2, "frames_repeated_for_fps": 2}
    assert clock.end_seconds() == Fraction(1, 2)
