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
from ..graph.media_time import media_meta
from .pacing import SourceClock

#: a file whose packets fail one after another is broken, not glitched: stop instead of counting forever
MAX_CONSECUTIVE_DECODE_ERRORS = 100


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

    out: frame (Frame, BGR), meta: media time (graph/media_time.py): the file's own pts and time
         base and its nominal rate; capture_ts_ns is the graph clock at decode, like a camera's
    options: path (required), realtime (pace by pts: then `live` is True), loop (start over at the
             end; media pts keep increasing by the file's duration), max_frames (0 = all, counted
             across loops)

    An undecodable packet is skipped and counted ("decode_errors"): the run goes on with the next
    frame the decoder can make. A file that yields nothing but errors is a DeviceError.
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

    pace_option = "realtime"   # `run --realtime` / `--preview web` play it at its frame rate
    sound_file_option = "path"  # its file's sound can go to the output (a URL's cannot: see cli/run.py)

    @classmethod
    def live_for(cls, options) -> bool:
        return options.realtime

    def open(self, ctx) -> None:
        self._ctx_count = ctx.count
        self._container = open_video(self.options.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"   # frame + slice threads: decoding keeps up on two cores
        self._rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(30)
        self._time_base = self._stream.time_base or Fraction(1, 90_000)
        self._frame_ticks = max(1, round(1 / self._rate / self._time_base))   # one nominal frame
        self._clock = SourceClock(float(self._rate), self.options.realtime)
        self._decoded = self._decode_frames()
        self._emitted = 0
        self._first_pts: int | None = None
        self._loop_base = 0         # media pts added to this pass over the file (loops)
        self._last_media_pts: int | None = None

    def _decode_frames(self):
        """Frames of one pass over the file; a packet the decoder rejects is counted and skipped.

        FFmpeg's H.264 decoder often conceals a damaged packet instead of failing: it just makes no
        frame of it. So at the end of a pass, packets that gave no frame are counted as errors too
        (one frame per packet, as in H.264/HEVC/MPEG-4 files)."""
        consecutive_errors = packets = frames_out = raised = 0
        for packet in self._container.demux(self._stream):
            if packet.size:
                packets += 1
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                raised += 1
                self._ctx_count("decode_errors")
                consecutive_errors += 1
                if consecutive_errors >= MAX_CONSECUTIVE_DECODE_ERRORS:
                    raise DeviceError(f"cannot decode {self.options.path}: {consecutive_errors} packets "
                                      f"in a row failed after {self._emitted} frames: {exc}") from exc
                continue
            if frames:
                consecutive_errors = 0
            frames_out += len(frames)
            yield from frames
        silently_dropped = packets - raised - frames_out
        if silently_dropped > 0:
            self._ctx_count("decode_errors", silently_dropped)

    def _next_frame(self) -> av.VideoFrame | None:
        try:
            return next(self._decoded)
        except StopIteration:
            return None
        except av.FFmpegError as exc:   # the demuxer itself failed (truncated file, I/O error)
            raise DeviceError(f"cannot read {self.options.path} after {self._emitted} frames: "
                              f"{exc}") from exc

    def process(self, ctx) -> None:
        if self.options.max_frames and self._emitted >= self.options.max_frames:
            raise EndOfStream
        frame = self._next_frame()
        if frame is None:
            if not self.options.loop or self._emitted == 0:
                raise EndOfStream
            self._container.seek(0)
            self._decoded = self._decode_frames()
            # the next pass starts one frame after the last one, so media time keeps increasing
            self._loop_base = (self._last_media_pts or 0) + self._frame_ticks
            self._first_pts = None
            frame = self._next_frame()
            if frame is None:
                raise EndOfStream
        media_pts = self._media_pts(frame)
        image = frame.to_ndarray(format="bgr24")
        self._clock.wait(int((media_pts - self._start_pts) * self._time_base * 1_000_000_000))
        meta = media_meta(media_pts, self._time_base, self._rate)
        ctx.emit("frame", ctx.new_packet(image, capture_ts_ns=self._clock.stamp(), meta=meta))
        self._emitted += 1

    def _media_pts(self, frame: av.VideoFrame) -> int:
        """The frame's pts in the stream's time base, counted up across loops; a frame without one
        gets the previous frame's plus one nominal frame."""
        pts = frame.pts
        if frame.time_base is not None and frame.time_base != self._time_base and pts is not None:
            pts = round(pts * frame.time_base / self._time_base)
        if pts is None:
            media = (self._last_media_pts + self._frame_ticks) if self._last_media_pts is not None else 0
        else:
            if self._first_pts is None:
                self._first_pts = pts
            if self._loop_base:     # a later pass: measured from its own first frame
                media = self._loop_base + pts - self._first_pts
            else:
                media = pts
        if self._last_media_pts is None:
            self._start_pts = media
        self._last_media_pts = media
        return media

    def close(self, ctx) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
