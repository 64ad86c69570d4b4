"""Send the output as a live H.264 network stream: MPEG-TS over UDP (or TCP), or FLV over RTMP, via PyAV.

Not for: files (video_sink.py) or the virtual camera (virtual_camera_sink.py). OBS's Media Source, VLC,
ffplay and streaming servers receive it: `ffplay -fflags nobuffer udp://127.0.0.1:23000`.
in: frame (Frame, BGR or BGRA: alpha is dropped with one warning, see --key-colour; odd sizes lose their
    last row/column)
options: url, fps=0 (the source's timing), bitrate_kbps, keyframe_seconds, preset, timestamps="media",
         audio_from=""
example: {type = "stream_sink", options = {url = "rtmp://127.0.0.1/live/portrait"}}
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

import av
import cv2
import numpy as np

from ..graph import DeviceError, Encoding, Frame, Node, Packet
from ..graph.media_time import media_seconds
from ..graph.options import check_ranges
from .alpha_drop import AlphaDropWarning
from .audio_track import AudioTrack
from .letterbox import letterbox
from .muxer import Muxer, finish_output
from .output_clock import OutputClock, Timing

#: the container each URL scheme carries
CONTAINER_FOR_SCHEME = {"udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtmp": "flv", "rtmps": "flv"}
#: PTS units: MPEG-TS counts in 90 kHz ticks, FLV in milliseconds
TIME_BASE = {"mpegts": Fraction(1, 90_000), "flv": Fraction(1, 1000)}
#: 7 TS packets: one UDP datagram below the usual 1500-byte MTU
UDP_PACKET_SIZE = 1316
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


class StreamSink(Node):
    """Encodes each frame with libx264 at once (zerolatency: no B-frames, no lookahead, sliced
    threads) and sends it. The encoder opens on the first frame, whose size the stream keeps (a
    frame of another size is letterboxed into it, counted "frames_letterboxed"); a keyframe every
    ``keyframe_seconds`` lets a receiver join at any time.

    Timestamps come from the frame's media time (a camera's capture time, a file's own pts), in the
    container's time base (1/90000 for MPEG-TS, 1/1000 for FLV), strictly increasing even through
    bursts and duplicate timestamps (devices/output_clock.py): the receiver sees the real timing, gaps
    included. ``timestamps = "capture"`` uses capture_ts_ns instead; ``fps`` > 0 resamples to that rate.
    ``audio_from`` (a media file, the run's input) sends its sound with the video: AAC, MP3, MP2 or AC-3
    copied, anything else re-encoded to AAC (devices/audio_track.py).

    A UDP stream has no receiver to wait for: frames sent while nobody listens are lost, as with any
    live broadcast. An RTMP server must be listening when the first frame arrives. A send error (the
    peer went away) is one DeviceError, and nothing is sent after it.
    """

    inputs = {"frame": Frame}
    encoding = Encoding(rate_option="fps", sound_option="audio_from", plays_live=True)

    @dataclass(frozen=True)
    class Options:
        url: str = "udp://127.0.0.1:23000"
        fps: float = 0.0                  # 0: the source's timing (its nominal rate sets up the encoder)
        bitrate_kbps: int = 4000
        keyframe_seconds: float = 1.0
        preset: str = "ultrafast"
        timestamps: Timing = "media"
        audio_from: str = ""

        def __post_init__(self):
            scheme = urlsplit(self.url).scheme
            if scheme not in CONTAINER_FOR_SCHEME:
                schemes = ", ".join(s + "://" for s in CONTAINER_FOR_SCHEME)
                raise ValueError(f"url must start with one of {schemes}"
                                 f", got {self.url!r}")
            check_ranges(self, fps=(0, 240), bitrate_kbps=(100, 100000), keyframe_seconds=(0.1, 10))
            if self.preset not in PRESETS:
                raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")

    def open(self, ctx) -> None:
        self._muxer: Muxer | None = None
        self._stream = None
        self._audio: AudioTrack | None = None
        container_format = CONTAINER_FOR_SCHEME[urlsplit(self.options.url).scheme]
        self._time_base = TIME_BASE[container_format]
        self._clock = OutputClock(self._time_base, self.options.timestamps, self.options.fps, count=ctx.count)
        self._alpha_drop = AlphaDropWarning(f"{self.id} (stream {self.options.url})")

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        pts_list = self._clock.pts_for(packet)
        if self._muxer is None:
            self._open_stream(ctx, packet)
        if not pts_list:
            return
        frame = av.VideoFrame.from_ndarray(self._to_i420(ctx, packet.payload), format="yuv420p")
        frame.time_base = self._time_base
        for pts in pts_list:
            frame.pts = pts
            self._send(self._stream.encode(frame))
            ctx.count("frames_sent")

    def close(self, ctx) -> None:
        muxer = getattr(self, "_muxer", None)
        if muxer is None:     # no frame arrived (or open() failed): no file, nothing to finish
            return
        try:
            finish_output(muxer, lambda: self._send(self._stream.encode(None)),
                          self._audio, self._clock.end_seconds())
        finally:
            self._muxer = None

    # -- helpers -------------------------------------------------------------------------------
    def _to_i420(self, ctx, image: np.ndarray) -> np.ndarray:
        height, width = self._size
        if image.shape[0] < height or image.shape[1] < width or \
                image.shape[0] > height + 1 or image.shape[1] > width + 1:
            image = letterbox(image, width, height)    # another size, not just an odd row or column
            ctx.count("frames_letterboxed")
        self._alpha_drop.check(ctx, image)
        image = image[:height, :width]
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        # cv2 converts BGR to I420 in about 1.4 ms at 720p, less than half of PyAV's reformat
        code = cv2.COLOR_BGRA2YUV_I420 if image.shape[2] == 4 else cv2.COLOR_BGR2YUV_I420
        return cv2.cvtColor(image, code)

    def _open_stream(self, ctx, first: Packet) -> None:
        options = self.options
        image = first.payload
        parts = urlsplit(options.url)
        container_format = CONTAINER_FOR_SCHEME[parts.scheme]
        url = options.url
        if parts.scheme == "udp" and "pkt_size" not in parts.query:
            url += ("&" if parts.query else "?") + f"pkt_size={UDP_PACKET_SIZE}"
        height, width = image.shape[0] & ~1, image.shape[1] & ~1   # 4:2:0 needs even sizes
        if height < 2 or width < 2:
            raise DeviceError(f"stream {options.url}: frame too small ({image.shape[1]}x{image.shape[0]})")
        self._size = (height, width)
        try:
            # muxdelay/muxpreload 0: the TS muxer would otherwise hold packets back 0.7 s;
            # flush_packets: every packet leaves at once instead of filling an I/O buffer;
            # omit_video_pes_length 0: a PES with its length lets the receiver's demuxer hand on a
            # frame when it is complete instead of when the next one starts (71 -> 39 ms p50)
            container = av.open(url, "w", format=container_format,
                                container_options={"muxdelay": "0", "muxpreload": "0", "flush_packets": "1",
                                                   "omit_video_pes_length": "0"}
                                if container_format == "mpegts" else {"flush_packets": "1"},
                                timeout=(5.0, 5.0))
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"stream {options.url}: cannot open ({container_format}): "
                              f"{exc}{self._hint()}") from exc
        rate = self._clock.rate or Fraction(30)
        try:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            stream.time_base = self._time_base
            # the encoder counts in the container's fine time base too: left at 1 / rate, PyAV
            # rounded every pts to a frame period and two frames of a burst got the same dts
            # ("non monotonically increasing dts to muxer", the stream died within seconds)
            stream.codec_context.time_base = self._time_base
            stream.bit_rate = options.bitrate_kbps * 1000
            stream.gop_size = max(1, round(float(rate) * options.keyframe_seconds))
            stream.codec_context.max_b_frames = 0
            stream.codec_context.options = {"preset": options.preset, "tune": "zerolatency"}
        except (av.FFmpegError, ValueError) as exc:
            container.close()
            raise DeviceError(f"stream {options.url}: cannot set up the H.264 encoder: {exc}") from exc
        self._muxer = Muxer(container, lambda exc: f"stream {options.url}: sending failed: {exc}{self._hint()}")
        self._stream = stream
        if options.audio_from:
            origin = media_seconds(first.meta)
            try:
                self._audio = AudioTrack(options.audio_from, container,
                                         origin if origin is not None else Fraction(0), count=ctx.count)
            except DeviceError:
                self._muxer.close()
                raise

    def _send(self, packets) -> None:
        if self._audio is None:
            self._muxer.mux(packets)
        else:
            self._audio.mux_with_video(self._muxer, packets, self._time_base)

    def _hint(self) -> str:
        if urlsplit(self.options.url).scheme.startswith("rtmp"):
            return " (is the RTMP server running and accepting this stream key?)"
        return ""
