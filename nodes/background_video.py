"""A video file as a look's background: decoded on this node's own thread, looped, scaled to cover the frame
(aspect kept, centre crop), and timed by the output's media time, so a 24 fps clip plays at its own speed
under a 30 fps camera (frames repeat or are skipped as the clock says, never slowed or sped up).

Not for: the camera or input video (devices/video_source.py) or drawing (the look: replace's background,
the double exposure's fill). The standard chain adds this node when a look's video setting names a video
file (recipes/loader.py), so a recipe just says ``background = "clip.mp4"``.
in:  frame (Frame, the frame to draw on: gives the time and the size; primary)
out: frame (Frame, BGR at the input frame's size: the clip's frame for that time), same timestamp
options: path, loop = true (false: the last frame holds once the clip has ended)
example: [nodes.background] type = "background_video"  inputs = { frame = "capture.frame" }
         options = { path = "beach.mp4" }
Counts ``background_decoded`` (clip frames decoded) and ``background_loops``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..graph import Context, DeviceError, Frame, Node
from ..graph.media_time import media_seconds
from .looks.assets import cover

if TYPE_CHECKING:
    import av

#: settings values ending like this are video backgrounds (anything else is an image or procedural asset)
VIDEO_BACKGROUND_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts",
                               ".gif", ".flv", ".wmv")


def is_video_background(reference: object) -> bool:
    """Whether a look setting (an asset reference string) names a video file."""
    return isinstance(reference, str) and Path(reference).suffix.lower() in VIDEO_BACKGROUND_EXTENSIONS


class ClipReader:
    """Frames of a video file by time in seconds from its start: sequential decoding, looping by seeking
    back to the start, the frame shown at time t being the last one whose own time is <= t. Times are
    exact fractions (pts x time base), so a loop of 12 frames at 10 fps is exactly 1.2 s, not 1.2000000002."""

    def __init__(self, path: str, *, loop: bool = True):
        import av  # here, not at the top: the looks import this module, and `portraitflow --help` must stay light

        self._av = av
        self.path, self.loop = path, loop
        import av  # here, not at the top: the recipe catalogue (and `portraitflow --help`) stays PyAV-free
        try:
            self._container = av.open(path)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, OSError, IndexError) as exc:
            raise DeviceError(f"background video {path!r}: cannot open ({exc})") from exc
        self._stream.thread_type = "AUTO"
        self.duration_s: Fraction | None = None    # known at the end of the first pass
        self.loops = 0
        self.decoded = 0
        self._start_s: Fraction | None = None      # the clip's first frame time (files may not start at 0)
        self._time_base = Fraction(self._stream.time_base) if self._stream.time_base else Fraction(1, 90_000)
        self._restart()
        self._current = self._next_frame()
        if self._current is None:
            raise DeviceError(f"background video {path!r}: no frame could be decoded")
        self._upcoming = self._next_frame()

    def _restart(self) -> None:
        self._frames = self._container.decode(self._stream)
        self._pass_start = True

    def _next_frame(self) -> tuple[Fraction, av.VideoFrame] | None:
        """(time from the clip's start in s, frame), or None at the end of the clip."""
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except self._av.FFmpegError as exc:
            raise DeviceError(f"background video {self.path!r}: decode failed ({exc})") from exc
        self.decoded += 1
        time_s = frame.pts * self._time_base if frame.pts is not None else Fraction(0)
        if self._start_s is None:
            self._start_s = time_s
        return time_s - self._start_s, frame

    def _wrap(self) -> None:
        """Back to the clip's first frame (the end has been reached)."""
        try:
            self._container.seek(0, stream=self._stream)
        except self._av.FFmpegError as exc:
            raise DeviceError(f"background video {self.path!r}: cannot loop ({exc})") from exc
        self._restart()
        self.loops += 1
        first = self._next_frame()
        if first is None:
            raise DeviceError(f"background video {self.path!r}: no frame after seeking to the start")
        self._current, self._upcoming = first, self._next_frame()

    def frame_at(self, time_s: Fraction) -> tuple[av.VideoFrame, bool]:
        """The frame to show at ``time_s`` (>= 0, from the clip's start, any number of loops on) and whether
        it differs from the one returned last time."""
        changed = False
        if self.duration_s is not None and self.loop:
            time_s %= self.duration_s
            if time_s < self._current[0]:          # the clock went round: start the clip again
                self._wrap()
                changed = True
        while True:
            if self._upcoming is None:             # the clip ends after the current frame
                if self.duration_s is None:        # the last frame lasts one frame period
                    rate = self._stream.average_rate or self._stream.guessed_rate
                    self.duration_s = self._current[0] + (1 / Fraction(rate) if rate else Fraction(1, 25))
                if not self.loop or time_s < self.duration_s:
                    return self._current[1], changed
                self._wrap()
                time_s %= self.duration_s
                changed = True
                continue
            if self._upcoming[0] > time_s:
                return self._current[1], changed
            self._current, self._upcoming = self._upcoming, self._next_frame()
            changed = True

    def close(self) -> None:
        self._container.close()


class BackgroundVideo(Node):
    """Emits, for every frame it is given, the background clip's frame for that frame's media time."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        path: str
        loop: bool = True

        def __post_init__(self):
            if not is_video_background(self.path):
                raise ValueError(f"path must be a video file ({', '.join(VIDEO_BACKGROUND_EXTENSIONS)}), "
                                 f"got {self.path!r}")

    def open(self, ctx: Context) -> None:
        if not Path(self.options.path).is_file():
            raise DeviceError(f"background video not found: {self.options.path!r}")
        self._reader = ClipReader(self.options.path, loop=self.options.loop)
        self._first_time_s: Fraction | None = None
        self._plate: np.ndarray | None = None
        self._loops_counted = 0
        self._decoded_counted = 0

    def _time_s(self, packet) -> Fraction:
        """Seconds since the first frame this node saw, on the source's media clock (its own pts, or the
        capture clock for sources that stamp none)."""
        media = media_seconds(packet.meta)
        now = media if media is not None else Fraction(packet.capture_ts_ns, 1_000_000_000)
        if self._first_time_s is None:
            self._first_time_s = now
        return max(Fraction(0), now - self._first_time_s)

    def process(self, ctx: Context) -> None:
        packet = ctx.inputs["frame"]
        height, width = packet.payload.shape[:2]
        frame, changed = self._reader.frame_at(self._time_s(packet))
        if changed or self._plate is None or self._plate.shape[:2] != (height, width):
            # a new array each time the clip moves on: the previous one may still be in the composite's hands
            self._plate = cover(frame.to_ndarray(format="bgr24"), height, width)
        reader = self._reader
        ctx.count("background_decoded", reader.decoded - self._decoded_counted)
        ctx.count("background_loops", reader.loops - self._loops_counted)
        self._decoded_counted, self._loops_counted = reader.decoded, reader.loops
        ctx.emit("frame", packet.derive(self._plate, background_time_s=round(frame.time or 0.0, 6)))

    def close(self, ctx: Context) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()
            self._reader = None
