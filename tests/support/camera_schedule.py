"""A camera's real delivery schedule, replayed: bursts, jitter, gaps and duplicate timestamps.

Not for: production graphs. The stream tests and bench/streams.py drive sinks with it instead of a
sleep of exactly one frame period (which can never show a timestamp collision). Each frame carries
its index as a 16-bit block code in the top-left corner (blocks of 24 px: white = 1), so a receiver
in another process can tell which frame it decoded.

The schedule at a nominal ``fps``: every frame is delivered at its due time +- 8 ms of jitter; every
``BURST_EVERY`` frames the driver hands over 2-3 frames within 1 ms (their timestamps too: the
arrival time, as a camera without hardware timestamps gives); every ``DUPLICATE_EVERY`` frames a
frame repeats the previous one's timestamp; twice per 600 frames the camera stalls for 200 ms.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np

from portraitflow.graph import EndOfStream, Frame, Node, registry
from portraitflow.graph.media_time import NANOSECONDS, media_meta

JITTER_NS = 8_000_000
BURST_EVERY = 37
DUPLICATE_EVERY = 53
GAP_NS = 200_000_000
GAP_AT = (150, 420)
BITS, BLOCK = 16, 24


@dataclass(frozen=True)
class Shot:
    """One frame of the schedule: when it is delivered and the timestamp it carries (ns from start)."""

    index: int
    delivered_ns: int
    media_ns: int


def camera_schedule(frames: int, fps: float = 30.0, seed: int = 1) -> list[Shot]:
    rng = random.Random(seed)
    period = 1e9 / fps
    shots: list[Shot] = []
    offset = 0
    burst_left = 0
    for i in range(frames):
        if i in GAP_AT:
            offset += GAP_NS
        due = int(offset + i * period + rng.uniform(-JITTER_NS, JITTER_NS))
        previous = shots[-1] if shots else None
        if burst_left and previous is not None:
            delivered = previous.delivered_ns + rng.randint(200_000, 450_000)   # 2-3 frames within 1 ms
            burst_left -= 1
            media = delivered
        else:
            delivered = max(due, previous.delivered_ns + 1 if previous else 0)
            media = delivered
            if i and i % BURST_EVERY == 0:
                burst_left = rng.choice((1, 2))
        if previous is not None and i % DUPLICATE_EVERY == 0:
            media = previous.media_ns      # the driver stamped two frames alike
        shots.append(Shot(i, delivered, media))
    return shots


def stamp_index(image: np.ndarray, index: int) -> None:
    """Draw ``index`` as the block code (in place)."""
    for bit in range(BITS):
        image[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 if (index >> bit) & 1 else 0


def read_index(grey: np.ndarray) -> int:
    bits = grey[:BLOCK, :BITS * BLOCK].reshape(BLOCK, BITS, BLOCK).mean(axis=(0, 2)) > 128
    return int(sum(int(b) << i for i, b in enumerate(bits)))


class CameraScheduleSource(Node):
    """Emits frames on the camera schedule, in real time (it sleeps until each delivery), live.

    out: frame (Frame, BGR, width x height), media time = the schedule's timestamp (ns), meta
         {"frame_index": i}; capture_ts_ns is the monotonic time it was handed over
    """

    outputs = {"frame": Frame}
    #: capture_ts_ns of every frame emitted, per ``record`` key (for latency at a receiver)
    captured: dict[str, dict[int, int]] = {}

    @dataclass(frozen=True)
    class Options:
        frames: int = 600
        fps: float = 30.0
        width: int = 640
        height: int = 480
        seed: int = 1
        record: str = ""

    @property
    def live(self) -> bool:
        return True

    def open(self, ctx):
        self.shots = camera_schedule(self.options.frames, self.options.fps, self.options.seed)
        y, x = np.mgrid[0:self.options.height, 0:self.options.width]
        self.background = np.dstack([(x * 255 // self.options.width), (y * 255 // self.options.height),
                                     np.full_like(x, 96)]).astype(np.uint8)
        self.next = 0
        self.record = CameraScheduleSource.captured.setdefault(self.options.record, {})
        self.record.clear()
        self.start_ns: int | None = None
        self.last_capture_ns = 0

    def process(self, ctx):
        if self.next >= len(self.shots):
            raise EndOfStream
        shot = self.shots[self.next]
        if self.start_ns is None:
            self.start_ns = time.monotonic_ns()
        delay = self.start_ns + shot.delivered_ns - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        image = self.background.copy()
        stamp_index(image, shot.index)
        capture_ns = max(time.monotonic_ns(), self.last_capture_ns + 1)   # the graph clock must increase
        self.last_capture_ns = capture_ns
        self.record[shot.index] = capture_ns
        meta = {"frame_index": shot.index, **media_meta(shot.media_ns, NANOSECONDS, self.options.fps)}
        ctx.emit("frame", ctx.new_packet(image, capture_ts_ns=capture_ns, meta=meta))
        self.next += 1


registry.register("t_camera_schedule", CameraScheduleSource)
