"""A still image repeated as a stream of frames: a photo through the same chain as a video.

Not for: image sequences or videos (video_source.py reads those through FFmpeg).
out: frame (Frame, the image's size, BGR)   options: path, fps=30.0, frames=1, realtime=False
example: `portraitflow run --input me.jpg --output me.png`
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..graph import DeviceError, EndOfStream, Frame, Node
from ..graph.media_time import media_meta
from ..graph.options import Above, check_ranges
from .pacing import SourceClock


def read_image(path: str) -> np.ndarray:
    """Read an image as uint8 BGR (grey and alpha images converted); DeviceError names the file."""
    if not Path(path).is_file():
        raise DeviceError(f"image file not found: {path}")
    # imdecode, not imread: it reads any path (non-ASCII too) and fails the same way for bad data
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DeviceError(f"cannot decode image {path} (expected PNG, JPEG, BMP, WebP or TIFF)")
    return image


class ImageSource(Node):
    """Emits the same decoded image ``frames`` times (0 = until stopped). The array is shared by every
    packet and made read-only, so a node that would modify its input fails loudly instead of
    corrupting later frames.

    out: frame (Frame, BGR), meta {"frame_index": i} and media time i / fps (graph/media_time.py)
    options: path (required), fps (rate for realtime pacing), frames (0 = endless), realtime
    """

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        path: str
        fps: float = 30.0
        frames: int = 1
        realtime: bool = False

        def __post_init__(self):
            if not self.path:
                raise ValueError("path must name an image file")
            check_ranges(self, fps=(Above(0), 240))
            if self.frames < 0:
                raise ValueError(f"frames must be >= 0 (0 = endless), got {self.frames}")

    pace_option = "realtime"   # `run --realtime` / `--preview web` play it at its frame rate

    @classmethod
    def live_for(cls, options) -> bool:
        return options.realtime

    def open(self, ctx) -> None:
        self._image = read_image(self.options.path)
        self._image.flags.writeable = False
        self._clock = SourceClock(self.options.fps, self.options.realtime)
        self._index = 0
        self._time_base = 1 / Fraction(self.options.fps).limit_denominator(1001)   # media time i / fps

    def process(self, ctx) -> None:
        i = self._index
        if self.options.frames and i >= self.options.frames:
            raise EndOfStream
        self._clock.wait_frame(i)
        meta = {"frame_index": i, **media_meta(i, self._time_base, 1 / self._time_base)}
        ctx.emit("frame", ctx.new_packet(self._image, capture_ts_ns=self._clock.stamp(), meta=meta))
        self._index = i + 1
