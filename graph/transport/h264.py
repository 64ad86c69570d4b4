"""H.264 for links over Wi-Fi: libx264 ultrafast + zerolatency through PyAV, one access unit per frame.

Not for: recording files (devices/video_sink.py). Latency settings: no B-frames, no lookahead, no
frame threading (zerolatency), so every frame comes out of the encoder as it goes in; the decoder
is fed packets directly (no parser, which would hold a frame back until the next start code).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
from av.video.frame import PictureType

from .payload import Decoder, Encoder, describe
from .wire import WireError

KEYFRAME_INTERVAL = 30


class H264Encoder(Encoder):
    name = "h264"

    def __init__(self, crf: int = 23, fps: float = 30.0):
        self.crf, self.fps = crf, fps
        self._codec: av.CodecContext | None = None
        self._size: tuple[int, int] | None = None
        self._index = 0
        self._force_key = True

    def new_receiver(self) -> None:
        """The next frame is a keyframe (a new receiver has no decoder state)."""
        self._force_key = True

    def discarded(self) -> None:
        """The frame encoded last never went out: the next one must not reference it."""
        self._force_key = True

    def _open(self, width: int, height: int) -> None:
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.time_base = Fraction(1, 1000)
        codec.framerate = Fraction(round(self.fps * 1000), 1000)
        codec.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": str(self.crf),
                         "g": str(KEYFRAME_INTERVAL), "bf": "0"}
        codec.open()
        self._codec, self._size, self._force_key = codec, (width, height), True

    def encode(self, array: np.ndarray, link_seq: int = 0) -> tuple[dict[str, Any], bytes]:
        fields = describe(array)
        if fields["pixel_format"] != "bgr24":
            raise ValueError(f"h264 carries BGR frames only, got {fields['pixel_format']} {array.shape}")
        height, width = array.shape[:2]
        if width % 2 or height % 2:
            raise ValueError(f"h264 needs even width and height, got {width}x{height}")
        if self._size != (width, height):
            self.close()
            self._open(width, height)
        # OpenCV's BGR->I420 is about twice as fast as PyAV's reformat (/work/shared/perf-facts.md)
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(array, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        frame.pts = self._index
        self._index += 1
        if self._force_key:
            frame.pict_type = PictureType.I
            self._force_key = False
        data = b"".join(bytes(p) for p in self._codec.encode(frame))
        if not data:
            raise ValueError("libx264 held a frame back (expected zerolatency to emit every frame)")
        return {**fields, "codec": self.name}, data

    def close(self) -> None:
        self._codec = None


class H264Decoder(Decoder):
    def __init__(self):
        self._codec = av.CodecContext.create("h264", "r")

    def decode(self, header: dict[str, Any], buffer: Any, size: int = 0) -> np.ndarray:
        if header["pixel_format"] != "bgr24" or header["dtype"] != "uint8":
            raise WireError("h264 needs pixel_format bgr24 and dtype uint8")
        try:
            frames = self._codec.decode(av.Packet(bytes(buffer)))
        except av.error.FFmpegError as exc:
            raise WireError(f"h264 payload did not decode: {exc}") from None
        if not frames:
            raise WireError("h264 payload gave no frame (a frame before the first keyframe?)")
        frame = frames[-1]
        if [frame.height, frame.width, 3] != header["shape"]:
            raise WireError(f"h264 frame is {frame.width}x{frame.height}, header says {header['shape']}")
        return frame.to_ndarray(format="bgr24")

    def close(self) -> None:
        self._codec = None
