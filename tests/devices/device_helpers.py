"""Helpers for the devices tests: synthetic frames whose content says which frame they are, and real
video files written with PyAV directly (not through our sink, so a sink bug cannot hide). Not for: fixtures.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def numbered_frame(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A BGR frame: smooth gradients (codec-friendly) plus a bright square whose position encodes
    the index, so decoded frames can be matched to the frames written."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    frame[..., 1] = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    frame[..., 2] = 96
    side = max(8, height // 8)
    left = (index * 7) % (width - side)
    frame[height // 3:height // 3 + side, left:left + side] = 255
    return frame


def decode_all(path: str | Path) -> list[np.ndarray]:
    """Every frame of a video file as BGR arrays."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def write_video(path: Path, frames: int, width: int = 320, height: int = 240, fps: int = 24) -> Path:
    """A real H.264 file of ``frames`` numbered frames."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps), options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(numbered_frame(i, width, height),
                                                                   format="bgr24")))
        container.mux(stream.encode(None))
    return path


def mean_abs_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
