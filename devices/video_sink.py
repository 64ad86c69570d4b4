"""Record frames to a video file (MP4, MOV, MKV or WebM by extension) with PyAV: H.264 for opaque frames,
and for frames with alpha ProRes 4444 in .mov, VP9 with alpha in .webm/.mkv (video_codecs.py's table).

Not for: stills and PNG sequences (png_sink.py) or streaming to a network (stream_sink.py).
in: frame (Frame, BGR or BGRA: alpha kept where the container can, else dropped with one warning)
options: path, fps=0 (the source's timing), crf=20, preset="veryfast", keyframe_s=0.5, timestamps="media",
         audio_from="", codec="auto" (by the first frame: alpha or not) | "h264" | "prores4444" |
         "prores4444-ks" | "qtrle" | "vp9" | "vp9-opaque"
example: `portraitflow run --output out.mp4`
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2

from ..graph import DeviceError, Encoding, Frame, Node, Packet
from ..graph.media_time import media_seconds
from ..graph.options import Above, check_ranges
from .alpha_drop import AlphaDropWarning
from .audio_track import AudioTrack
from .letterbox import letterbox
from .muxer import Muxer, finish_output
from .output_clock import OutputClock, Timing
from .video_codecs import CODECS, CONTAINERS, choose_codec, video_frame

#: pts are in 1/90000 s (the MPEG clock): exact for 30, 25, 60 and 29.97 fps alike
TIME_BASE = Fraction(1, 90_000)
#: MP4/MOV are written as fragments, one per keyframe, with the index up front (empty_moov): every
#: completed fragment is playable even if the process is killed before close() (a plain MP4 keeps
#: its index in a trailer written only at the end). flush_packets pushes each packet to the file.
FRAGMENTED_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}


class VideoSink(Node):
    """Encodes each frame as it arrives; the output size is the first frame's (odd sizes padded to even
    by repeating the last row/column, as 4:2:0 needs; a later frame of another size is letterboxed
    into it and counted "frames_letterboxed"). The codec is chosen when the first frame arrives:
    with alpha, the container's alpha codec (an .mp4 drops alpha, saying so once on stderr and counting
    "alpha_dropped"). BGR->I420 is done by OpenCV (faster than PyAV's reformat). Counts "frames_written".

    Timestamps (``timestamps``, see devices/output_clock.py), in 1/90000 s: "media" (default) keeps
    the source's own timing, so the file has the input's rate and duration, constant or variable;
    "capture" uses each packet's capture_ts_ns: the real timing of a live run, gaps where frames were
    dropped included; "index" gives frame i the time i / rate. ``fps`` > 0 resamples to that constant
    rate (frames dropped or repeated, counted); 0 keeps the source's.

    Sound (``audio_from``): the audio of that file (the run's input) is written beside the video,
    copied where the container takes its codec, else re-encoded to AAC, cut where the video ends
    (devices/audio_track.py).

    Stopped by Ctrl-C or an error, close() flushes the encoder and finalises the file. A write error
    (disk full, file unwritable) is one DeviceError and the file keeps what was written before it.
    Killed hard, an MP4/MOV keeps every completed fragment (a fragment ends at each keyframe, every
    ``keyframe_s`` seconds of video), an MKV every cluster written.
    """

    inputs = {"frame": Frame}
    encoding = Encoding(rate_option="fps", sound_option="audio_from", live_timing=("timestamps", "capture"))

    @dataclass(frozen=True)
    class Options:
        path: str
        fps: float = 0.0              # 0: the source's own timing; > 0: a constant rate
        crf: int = 20
        preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                        "slow", "slower", "veryslow"] = "veryfast"
        keyframe_s: float = 0.5
        timestamps: Timing = "media"
        audio_from: str = ""          # a media file whose first audio stream goes into the output
        codec: Literal["auto", "h264", "prores4444", "prores4444-ks", "qtrle", "vp9", "vp9-opaque"] = "auto"

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
            check_ranges(self, fps=(0, 240), crf=(0, 51), keyframe_s=(Above(0), 10))

    def open(self, ctx) -> None:
        path = Path(self.options.path)
        if not path.parent.is_dir():
            raise DeviceError(f"cannot write {path}: directory {path.parent} does not exist")
        self._muxer: Muxer | None = None
        self._stream = None
        self._audio: AudioTrack | None = None
        self._size: tuple[int, int] | None = None     # (height, width) of the first frame
        self._clock = OutputClock(TIME_BASE, self.options.timestamps, self.options.fps, count=ctx.count)

    def _start(self, ctx, first: Packet) -> None:
        """Open the file at the first frame, when the size and rate are known (no frame: no file)."""
        path = self.options.path
        height, width = first.payload.shape[:2]
        suffix = Path(path).suffix.lower()
        muxer = CONTAINERS[suffix].muxer
        self._codec = codec = choose_codec(suffix, self.options.codec, has_alpha=first.payload.shape[2] == 4)
        self._alpha_drop = AlphaDropWarning(f"{self.id} ({Path(path).name}, {codec.encoder})")
        if muxer in ("mp4", "mov"):
            options = FRAGMENTED_MP4
        else:   # MKV: close a cluster (written out whole) at least every keyframe interval
            options = {"flush_packets": "1", "cluster_time_limit": str(round(self.options.keyframe_s * 1000))}
        try:
            container = av.open(path, mode="w", format=muxer, container_options=options)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"cannot create video file {path}: {exc}") from exc
        rate = self._clock.rate or Fraction(30)
        options = dict(codec.options)
        if codec.encoder == "libx264":
            options.update(crf=str(self.options.crf), preset=self.options.preset)
            if muxer in ("mp4", "mov"):
                # no B-frames: with them the first dts is negative and a fragmented MP4 (no edit list)
                # shifts the whole video later by the reorder delay (80 ms at 25 fps) while the sound's
                # first packet stays at 0: picture and sound would start apart. MKV stores negative dts.
                options["bf"] = "0"
        stream = container.add_stream(codec.encoder, rate=rate, options=options)
        pad = 1 if codec.even_size else 0
        stream.width, stream.height = width + pad * (width % 2), height + pad * (height % 2)
        stream.pix_fmt = codec.pix_fmt
        stream.time_base = TIME_BASE
        # the encoder counts in the same fine time base: with its default (1 / rate) PyAV would
        # round every pts to a frame period, and two frames closer than that would collide
        stream.codec_context.time_base = TIME_BASE
        # a short GOP: each keyframe closes an MP4 fragment, bounding what a hard kill can lose
        stream.codec_context.gop_size = max(1, round(float(rate) * self.options.keyframe_s))
        self._muxer = Muxer(container, lambda exc: f"cannot write {path}: {exc}")
        self._stream, self._size = stream, (height, width)
        if self.options.audio_from:
            origin = media_seconds(first.meta)   # the sound at the first frame's media time starts at 0
            try:
                self._audio = AudioTrack(self.options.audio_from, container,
                                         origin if origin is not None else Fraction(0), count=ctx.count)
            except DeviceError:
                self._muxer.close()
                raise

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        pts_list = self._clock.pts_for(packet)
        if self._muxer is None:
            self._start(ctx, packet)
        if not pts_list:
            return
        frame = self._to_frame(ctx, packet.payload)
        frame.time_base = TIME_BASE
        duration = self._clock.frame_duration()
        for pts in pts_list:
            frame.pts = pts
            self._mux_video(self._stream.encode(frame), duration)
            ctx.count("frames_written")

    def _to_frame(self, ctx, image) -> av.VideoFrame:
        height, width = self._size
        if image.shape[:2] != (height, width):
            image = letterbox(image, width, height)
            ctx.count("frames_letterboxed")
        if not self._codec.alpha:
            self._alpha_drop.check(ctx, image)
        if self._codec.even_size and (height % 2 or width % 2):
            image = cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        return video_frame(image, self._codec)

    def _mux_video(self, packets, duration: int) -> None:
        for packet in packets:
            packet.duration = duration     # the last frame's length: the file's duration
        if self._audio is None:
            self._muxer.mux(packets)
        else:
            self._audio.mux_with_video(self._muxer, packets, TIME_BASE)

    def close(self, ctx) -> None:
        muxer = getattr(self, "_muxer", None)
        if muxer is None:     # no frame arrived (or open() failed): no file, nothing to finish
            return
        try:
            finish_output(muxer, lambda: self._mux_video(self._stream.encode(None), self._clock.frame_duration()),
                          self._audio, self._clock.end_seconds())
        finally:
            self._muxer = None
