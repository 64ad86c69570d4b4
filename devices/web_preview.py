"""Watch the running graph in a browser, the sink half: a node that keeps the latest frame as JPEG.

Not for: serving it (devices/web_server.py: the pages, the endpoints, the checks) or recording and
streaming (video_sink.py, stream_sink.py).
    node:   {type = "web_preview_sink", options = {max_fps = 60.0}}   in: frame (Frame, BGR or BGRA)
A BGRA frame travels as one JPEG holding the colour on top and the alpha (as grey) below it, the colour's
rows padded to a multiple of 16 so no JPEG block mixes the two; the page puts the alpha back on a canvas.
(A PNG or WebP with alpha costs 25-90 ms a 720p frame here, the JPEG pair 3 ms.)
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..graph import DeviceError, Frame, Node
from ..graph.options import Above, check_ranges


class LatestFrame:
    """The newest JPEG and what the page needs to show it; readers wait for a newer one."""

    def __init__(self):
        self._cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.number = 0
        self.capture_ts_ns = 0          # on this process's clock (a split graph's offset applied)
        self.alpha_rows = 0             # > 0: the alpha is stacked below the colour, at this row

    def publish(self, jpeg: bytes, capture_ts_ns: int, alpha_rows: int = 0) -> None:
        with self._cond:
            self.jpeg, self.capture_ts_ns, self.alpha_rows = jpeg, capture_ts_ns, alpha_rows
            self.number += 1
            self._cond.notify_all()

    def newer_than(self, number: int, timeout_s: float) -> tuple[bytes, int, int, int] | None:
        """(jpeg, number, capture_ts_ns, alpha_rows) of a frame newer than ``number``, or None after
        timeout_s."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.number > number and self.jpeg is not None, timeout_s):
                return None
            return self.jpeg, self.number, self.capture_ts_ns, self.alpha_rows


class Snapshot:
    """A full-resolution copy of one frame, made only when asked for (no copy per frame)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._one_at_a_time = threading.Lock()   # two snapshot requests must not reset each other's
        self.wanted = False
        self.image: np.ndarray | None = None
        self.last: np.ndarray | None = None    # the newest frame, not copied: read only when nothing flows

    def take(self, timeout_s: float) -> np.ndarray | None:
        with self._one_at_a_time, self._cond:
            self.image, self.wanted = None, True
            got = self._cond.wait_for(lambda: self.image is not None, timeout_s)
            self.wanted = False
            return self.image if got else self.last

    def offer(self, image: np.ndarray) -> None:
        self.last = image
        if self.wanted:
            with self._cond:
                self.image = image.copy()
                self._cond.notify_all()


class WebPreviewSink(Node):
    """Encodes at most ``max_fps`` frames a second as JPEG (downscaled to ``max_width``) into
    ``self.latest``, which the server reads. Frames above the rate are skipped and counted, so a
    fast graph does not spend a core on JPEGs nobody sees. BGRA frames keep their alpha (see above).
    """

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        max_fps: float = 60.0       # frames a second encoded at most (the page and OBS show each)
        max_width: int = 1920       # wider frames are downscaled (720p and 1080p go through as they are)
        quality: int = 80           # JPEG quality

        def __post_init__(self):
            check_ranges(self, max_fps=(Above(0), 120), max_width=(64, 7680), quality=(10, 100))

    def __init__(self, node_id: str, options: Any = None, type_name: str | None = None):
        super().__init__(node_id, options, type_name)
        self.latest = LatestFrame()     # exists before open(), so a server can hold it from the start
        self.snapshot = Snapshot()
        self._next_due_ns = 0
        self._stacked: np.ndarray | None = None

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        self.snapshot.offer(packet.payload)
        now = packet.capture_ts_ns       # the frame's own time: the rate follows the source's clock
        period = int(1e9 / self.options.max_fps)
        # a quarter period of slack: a source at exactly max_fps arrives with jitter and must not
        # lose every other frame to it
        if now < self._next_due_ns - period // 4:
            ctx.count("preview_skipped")
            return
        self._next_due_ns = max(self._next_due_ns, now - period // 2) + period
        image = packet.payload
        if image.shape[1] > self.options.max_width:
            height = round(image.shape[0] * self.options.max_width / image.shape[1])
            image = cv2.resize(image, (self.options.max_width, height), interpolation=cv2.INTER_AREA)
        alpha_rows = 0
        if image.shape[2] == 4:
            image, alpha_rows = self._stack_alpha(image)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.options.quality])
        if not ok:
            raise DeviceError(f"web preview: JPEG encoding failed for a {image.shape} frame")
        local_capture_ns = packet.capture_ts_ns + packet.meta.get("clock_offset_ns", 0)
        self.latest.publish(jpeg.tobytes(), local_capture_ns, alpha_rows)

    def _stack_alpha(self, bgra: np.ndarray) -> tuple[np.ndarray, int]:
        """One BGR image: the colour, black rows up to a multiple of 16, then the alpha as grey."""
        height, width = bgra.shape[:2]
        padded = -(-height // 16) * 16
        if self._stacked is None or self._stacked.shape != (padded + height, width, 3):
            # reused: no allocation per frame (and the padding rows stay black)
            self._stacked = np.zeros((padded + height, width, 3), np.uint8)
        cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR, dst=self._stacked[:height])
        cv2.cvtColor(cv2.extractChannel(bgra, 3), cv2.COLOR_GRAY2BGR, dst=self._stacked[padded:])
        return self._stacked, padded
