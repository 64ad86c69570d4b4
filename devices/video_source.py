"""A video file (or any URL FFmpeg reads) as a source of BGR frames, decoded with PyAV.

Not for: cameras (camera_source.py) or still images (image_source.py).
out: frame (Frame, the file's size, BGR)   options: path, realtime=False, loop=False, max_frames=0
example: `portraitflow run --input clip.mp4`
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..graph import DeviceError, EndOfStream, Frame, Node
from .pacing import SourceClock


def open_video(path: str) -> av.container.InputContainer:
    """Open a file or URL for decoding; a DeviceError names it and says why when it cannot."""
    if "://" not in path and not Path(path).is_file():
        raise DeviceError(f"video file not found: {path}")
    try:
        container = av.open(path, mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise DeviceError(f"cannot read video {path}: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise DeviceError(f"no video stream in {path} (streams: "
                          f"{', '.join(s.type for s in container.streams) or 'none'})")
    return container


class VideoSource(Node):
    """Decodes the first video stream with FFmpeg's frame threads, one frame per process() call.

    out: frame (Frame, BGR), meta {"pts": int, "time_base": "num/den"} (the file's own timing;
         capture_ts_ns is the graph clock at decode, like a camera's)
    options: path (required), realtime (pace by pts: then `live` is True), loop (start over at the
             end; pts keep increasing in pacing), max_frames (0 = all, counted across loops)
    """

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        path: str
        realtime: bool = False
        loop: bool = False
        max_frames: int = 0

        def __post_init__(self):
            if not self.path:
                raise ValueError("path must name a video file")
            if self.max_frames < 0:
                raise ValueError(f"max_frames must be >= 0 (0 = all), got {self.max_frames}")

    @property
    def live(self) -> bool:
        return self.options.realtime

    def open(self, ctx) -> None:
        self._container = open_video(self.options.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"   # frame + slice threads: decoding keeps up on two cores
        self._frames = self._container.decode(self._stream)
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(30)
        self._frame_period_ns = int(1e9 / float(rate))
        self._clock = SourceClock(float(rate), self.options.realtime)
        self._emitted = 0
        self._first_pts: int | None = None
        self._loop_base_ns = 0      # pacing offset of the current pass over the file
        self._last_offset_ns = 0

    def _next_frame(self) -> av.VideoFrame | None:
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except av.FFmpegError as exc:
            raise DeviceError(f"cannot decode {self.options.path} after {self._emitted} frames: "
                              f"{exc}") from exc

    def process(self, ctx) -> None:
        if self.options.max_frames and self._emitted >= self.options.max_frames:
            raise EndOfStream
        frame = self._next_frame()
        if frame is None:
            if not self.options.loop or self._emitted == 0:
                raise EndOfStream
            self._container.seek(0)
            self._frames = self._container.decode(self._stream)
            self._loop_base_ns = self._last_offset_ns + self._frame_period_ns
            self._first_pts = None
            frame = self._next_frame()
            if frame is None:
                raise EndOfStream
        time_base = frame.time_base or self._stream.time_base
        if frame.pts is not None and time_base is not None:
            if self._first_pts is None:
                self._first_pts = frame.pts
            offset_ns = self._loop_base_ns + int((frame.pts - self._first_pts) * time_base * 1_000_000_000)
        else:
            offset_ns = self._last_offset_ns + self._frame_period_ns if self._emitted else 0
        self._last_offset_ns = offset_ns
        image = frame.to_ndarray(format="bgr24")
        self._clock.wait(offset_ns)
        meta = {"pts": frame.pts if frame.pts is not None else -1,
                "time_base": f"{time_base.numerator}/{time_base.denominator}" if time_base else "1/1"}
        ctx.emit("frame", ctx.new_packet(image, capture_ts_ns=self._clock.stamp(), meta=meta))
        self._emitted += 1

    def close(self, ctx) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
