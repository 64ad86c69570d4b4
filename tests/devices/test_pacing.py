"""SourceClock and real-time pacing: timestamps always increase; paced sources stamp their frames at
least a period apart (a lower bound only: a busy machine may be slower, never faster)."""
from __future__ import annotations

import itertools

from portraitflow.devices.image_source import ImageSource
from portraitflow.devices.pacing import SourceClock
from portraitflow.devices.sample_source import SampleSource
from portraitflow.devices.video_source import VideoSource
from portraitflow.graph.testing import make_node, run_node


def test_stamps_strictly_increase_even_in_a_tight_loop():
    clock = SourceClock()
    stamps = [clock.stamp() for _ in range(10_000)]
    assert all(b > a for a, b in itertools.pairwise(stamps))


def test_unpaced_clock_never_sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr("portraitflow.devices.pacing.time.sleep", slept.append)
    unpaced, paced = SourceClock(fps=1.0, realtime=False), SourceClock(fps=1.0, realtime=True)
    for i in range(3):
        unpaced.wait_frame(i)
    assert slept == []
    for i in range(3):
        paced.wait_frame(i)
    assert len(slept) == 2 and all(0.9 < s <= 2.0 for s in slept)   # frames 1 and 2 are due 1 s, 2 s in


def test_realtime_sources_take_at_least_their_duration(video_file, tmp_path):
    image = tmp_path / "x.png"
    import cv2
    import numpy as np
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    cases = [
        (make_node(SampleSource, {"frames": 6, "fps": 100.0, "realtime": True}), 5 / 100),
        (make_node(ImageSource, {"path": str(image), "frames": 6, "fps": 100.0, "realtime": True}), 5 / 100),
        (make_node(VideoSource, {"path": str(video_file), "realtime": True, "max_frames": 4}), 3 / 24),
    ]
    for node, duration in cases:
        assert node.live
        result = run_node(node)
        stamps = [p.capture_ts_ns for p in result["frame"]]
        # the source's own stamps are at least a frame period apart (a lower bound: a busy machine
        # may be slower, never faster), and a paced source drops nothing on the way
        assert stamps[-1] - stamps[0] >= duration * 0.99 * 1e9, node.type_name
        assert result.dropped == 0 and result.processed == len(stamps)


def test_after_a_stall_play_goes_on_in_real_time_without_a_burst():
    """A paused graph (web preview) holds the source for seconds: the frames that fell due meanwhile
    are not sent in a burst afterwards."""
    import time as _time

    from portraitflow.devices.pacing import STALL_NS, SourceClock

    clock = SourceClock(fps=100.0, realtime=True)
    clock.wait_frame(0)
    clock.wait_frame(1)
    _time.sleep(STALL_NS / 1e9 + 0.2)                # the pause
    clock.wait_frame(2)                              # late: not waited for, and the start moves
    before = _time.monotonic()
    clock.wait_frame(3)                              # due one period after frame 2, not long ago
    assert _time.monotonic() - before >= 0.005
