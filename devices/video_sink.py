"""Record frames to a video file (MP4, MOV, MKV or WebM by extension) with PyAV: H.264 for opaque frames,
and for frames with alpha ProRes 4444 in .mov, VP9 with alpha in .webm/.mkv (video_codecs.py's table).

Not for: stills and PNG sequences (png_sink.py) or streaming to a network (stream_sink.py).
in: frame (Frame, BGR or BGRA: alpha kept where the container can, else dropped with one warning)
options: path, fps=30.0, crf=20, preset="veryfast", keyframe_s=0.5, timestamps="index",
         codec="auto" (by the first frame: alpha or not) | "h264" | "prores4444" | "qtrle" | "vp9" | "vp9-opaque"
example: `portraitflow run --output out.mp4`
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2

from ..graph.options import Above, check_ranges
from ..graph import DeviceError, Frame, Node
from .alpha_drop import AlphaDropWarning
from .video_codecs import CODECS, CONTAINERS, choose_codec, video_frame
#: pts are in 1/90000 s (the MPEG clock): exact for 30, 25, 60 and 29.97 fps alike
TIME_BASE = Fraction(1, 90_000)
#: MP4/MOV are written as fragments, one per keyframe, with the index up front (empty_moov): every
#: completed fragment is playable even if the process is killed before close() (a plain MP4 keeps
#: its index in a trailer written only at the end). flush_packets pushes each packet to the file.
FRAGMENTED_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}


class VideoSink(Node):
    """Encodes each frame as it arrives; the output size is the first frame's (odd sizes padded to even
    by repeating the last row/column, as yuv420p needs). BGR->I420 is done by OpenCV (faster than
    PyAV's reformat). Counts "frames_written".

    Timestamps (``timestamps``): "index" (default) gives frame i the pts i / fps: a constant-rate file
    whatever the run's speed (offline renders, benchmarks). "capture" uses each packet's
    capture_ts_ns relative to the first frame's: the file plays back with the real timing of a live
    run, gaps where frames were dropped included (variable frame rate).

    Stopped by Ctrl-C or an error, close() flushes the encoder and finalises the file. Killed hard,
    an MP4/MOV keeps every completed fragment (a fragment ends at each keyframe, every ``keyframe_s``
    seconds of video), an MKV every cluster written.
    """

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        path: str
        fps: float = 30.0
        crf: int = 20
        preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                        "slow", "slower", "veryslow"] = "veryfast"
        keyframe_s: float = 0.5
        timestamps: Literal["index", "capture"] = "index"
        codec: Literal["auto", "h264", "prores4444", "qtrle", "vp9", "vp9-opaque"] = "auto"

        def __post_init__(self):
            suffix = Path(self.path).suffix.lower()
            if suffix not in CONTAINERS:
                raise ValueError(f"path must end in {', '.join(CONTAINERS)}, got {self.path!r}")
            if self.codec != "auto":
                try:
                    choose_codec(suffix, self.codec, has_alpha=CODECS[self.codec].alpha)
                except ValueError as exc:
                    error = ValueError(f"{self.path}: {exc}")
                    error.field = "codec"   # type: ignore[attr-defined]  (build_options reads it)
                    raise error from None
            check_ranges(self, fps=(Above(0), 240), crf=(0, 51), keyframe_s=(Above(0), 10))

    def open(self, ctx) -> None:
        path = Path(self.options.path)
        if not path.parent.is_dir():
            raise DeviceError(f"cannot write {path}: directory {path.parent} does not exist")
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._size: tuple[int, int] | None = None     # (height, width) of the first frame
        self._first_ts: int | None = None
        self._last_pts = -1
        self._written = 0
        self._alpha_drop = AlphaDropWarning(f"{self.id} ({Path(self.options.path).name}, H.264)")

    def _start(self, height: int, width: int, has_alpha: bool) -> None:
        """Open the file at the first frame, when the size and whether it has alpha are known (no frame:
        no file)."""
        path = self.options.path
        suffix = Path(path).suffix.lower()
        muxer = CONTAINERS[suffix].muxer
        self._codec = codec = choose_codec(suffix, self.options.codec, has_alpha)
        if muxer in ("mp4", "mov"):
            options = FRAGMENTED_MP4
        else:   # MKV: close a cluster (written out whole) at least every keyframe interval
            options = {"flush_packets": "1", "cluster_time_limit": str(round(self.options.keyframe_s * 1000))}
        try:
            container = av.open(path, mode="w", format=muxer, container_options=options)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"cannot create video file {path}: {exc}") from exc
        rate = Fraction(self.options.fps).limit_denominator(1001)
        options = dict(codec.options)
        if codec.encoder == "libx264":
            options.update(crf=str(self.options.crf), preset=self.options.preset)
        stream = container.add_stream(codec.encoder, rate=rate, options=options)
        pad = 1 if codec.even_size else 0
        stream.width, stream.height = width + pad * (width % 2), height + pad * (height % 2)
        stream.pix_fmt = codec.pix_fmt
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        # a short GOP: each keyframe closes an MP4 fragment, bounding what a hard kill can lose
        stream.codec_context.gop_size = max(1, round(self.options.fps * self.options.keyframe_s))
        self._container, self._stream, self._size = container, stream, (height, width)

    def _pts(self, capture_ts_ns: int) -> int:
        if self.options.timestamps == "index":
            pts = round(self._written * TIME_BASE.denominator / self.options.fps)
        else:
            if self._first_ts is None:
                self._first_ts = capture_ts_ns
            pts = (capture_ts_ns - self._first_ts) * TIME_BASE.denominator // 1_000_000_000
        pts = max(pts, self._last_pts + 1)     # pts must increase even if two frames share a tick
        self._last_pts = pts
        return pts

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        image = packet.payload
        height, width = image.shape[:2]
        if self._size is None:
            self._start(height, width, has_alpha=image.shape[2] == 4)
        elif (height, width) != self._size:
            raise DeviceError(f"{self.options.path}: frame size changed mid-stream, expected "
                              f"{self._size[1]}x{self._size[0]}, got {width}x{height}")
        if not self._codec.alpha:
            self._alpha_drop.check(ctx, image)
        if self._codec.even_size and (height % 2 or width % 2):
            image = cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        frame = video_frame(image, self._codec)
        frame.pts = self._pts(packet.capture_ts_ns)
        frame.time_base = TIME_BASE
        self._mux(self._stream.encode(frame))
        self._written += 1
        ctx.count("frames_written")

    def _mux(self, packets) -> None:
        try:
            self._container.mux(packets)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"cannot write {self.options.path}: {exc}") from exc

    def close(self, ctx) -> None:
        container = getattr(self, "_container", None)
        if container is None:
            return
        try:
            self._mux(self._stream.encode(None))   # the frames still inside the encoder
        finally:
            container.close()
            self._container = None


def frame_count(path: str) -> int:
    """Decoded frames in a video file (for tests and the CLI summary)."""
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


