"""Which encoder and pixel format a video file gets, by its container and whether the frames carry alpha,
and how one frame is handed to that encoder.

Not for: opening, timing or muxing files (video_sink.py). The table is the one place that knows that
.mp4 cannot carry alpha, that .mov carries it as ProRes 4444 (or QuickTime Animation) and .webm/.mkv as
VP9 with an alpha plane (the matroska muxer stores it as BlockAdditional; FFmpeg's native vp9 decoder
ignores it, the libvpx-vp9 decoder returns yuva420p). Alpha is straight (not premultiplied) in all three.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class VideoCodec:
    """One way to encode frames: the FFmpeg encoder, its pixel format and options."""

    name: str                  # what the sink's ``codec`` option calls it
    encoder: str               # FFmpeg encoder name
    pix_fmt: str
    alpha: bool                # whether the pixel format keeps a frame's alpha
    options: dict[str, str] = field(default_factory=dict)
    even_size: bool = False    # 4:2:0 formats need an even width and height


CODECS: dict[str, VideoCodec] = {c.name: c for c in (
    VideoCodec("h264", "libx264", "yuv420p", alpha=False, even_size=True),
    # ProRes 4444 with alpha: 10-bit 4:4:4 colour and an alpha plane (FFmpeg's decoder returns
    # yuva444p12le); intra-only, large files, edits well. FFmpeg's "prores" (prores_aw) encoder by
    # default: on the cut-out's 720p frames it took 104 ms a frame against prores_ks's 390 (loaded 2-core
    # machine), alpha within 0.07 levels; prores_ks (rate-controlled, 16-bit alpha) stays selectable.
    VideoCodec("prores4444", "prores", "yuva444p10le", alpha=True, options={"profile": "4"}),  # 4 = 4444
    VideoCodec("prores4444-ks", "prores_ks", "yuva444p10le", alpha=True,
               options={"profile": "4444", "alpha_bits": "16"}),
    # QuickTime Animation: lossless run-length RGB + alpha, small for flat content, big for a camera
    VideoCodec("qtrle", "qtrle", "argb", alpha=True),
    # realtime settings: libvpx's default "good" deadline takes seconds per 720p frame
    VideoCodec("vp9", "libvpx-vp9", "yuva420p", alpha=True, even_size=True,
               options={"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "30", "b": "0"}),
    VideoCodec("vp9-opaque", "libvpx-vp9", "yuv420p", alpha=False, even_size=True,
               options={"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "30", "b": "0"}),
)}


@dataclass(frozen=True)
class Container:
    """A file type: its muxer, the codec for opaque frames, the codec for frames with alpha (None: this
    container cannot carry alpha) and every codec it may hold."""

    muxer: str
    opaque: str
    with_alpha: str | None
    allowed: tuple[str, ...]


#: file extension -> container
CONTAINERS: dict[str, Container] = {
    ".mp4": Container("mp4", "h264", None, ("h264",)),
    ".m4v": Container("mp4", "h264", None, ("h264",)),
    ".mov": Container("mov", "h264", "prores4444", ("h264", "prores4444", "prores4444-ks", "qtrle")),
    ".mkv": Container("matroska", "h264", "vp9", ("h264", "vp9", "vp9-opaque")),
    ".webm": Container("webm", "vp9-opaque", "vp9", ("vp9", "vp9-opaque")),
}
#: what to suggest when a sink cannot keep alpha
ALPHA_OUTPUTS = "a .mov (ProRes 4444), a .webm (VP9 alpha) or a PNG sequence (out/%05d.png)"


def choose_codec(suffix: str, codec: str, has_alpha: bool) -> VideoCodec:
    """The codec for a file ending in ``suffix``: ``codec`` "auto" picks by whether the first frame has
    alpha; a named codec must be one the container holds (ValueError naming both otherwise)."""
    container = CONTAINERS[suffix.lower()]
    if codec == "auto":
        name = container.with_alpha if has_alpha and container.with_alpha else container.opaque
        return CODECS[name]
    if codec not in container.allowed:
        raise ValueError(f"codec {codec!r} cannot go in a {suffix} file (expected one of "
                         f"{', '.join(('auto',) + container.allowed)})")
    return CODECS[codec]


def video_frame(image: np.ndarray, codec: VideoCodec) -> av.VideoFrame:
    """One BGR or BGRA frame (even-sized when the codec needs it) as the encoder's input. The 4:2:0
    formats are converted by OpenCV (faster than PyAV's swscale); the others go in as BGRA and PyAV
    converts them. An opaque frame into an alpha codec gets alpha 255; alpha into an opaque codec is
    dropped (the sink warns)."""
    has_alpha = image.shape[2] == 4
    if codec.pix_fmt == "yuv420p":
        yuv = cv2.cvtColor(image, cv2.COLOR_BGRA2YUV_I420 if has_alpha else cv2.COLOR_BGR2YUV_I420)
        return av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    if codec.pix_fmt == "yuva420p":
        height, width = image.shape[:2]
        yuv = cv2.cvtColor(image, cv2.COLOR_BGRA2YUV_I420 if has_alpha else cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame(width, height, "yuva420p")
        quarter = (height // 2) * (width // 2)
        planes = (yuv[:height], yuv[height:].reshape(-1)[:quarter], yuv[height:].reshape(-1)[quarter:],
                  image[..., 3] if has_alpha else np.full((height, width), 255, np.uint8))
        for plane, data in zip(frame.planes, planes):
            _fill_plane(plane, np.ascontiguousarray(data).reshape(plane.height, plane.width))
        return frame
    bgra = image if has_alpha else cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(bgra), format="bgra")


def _fill_plane(plane, data: np.ndarray) -> None:
    """Copy an HxW uint8 array into a frame plane whose rows may be padded (line_size >= width)."""
    if plane.line_size == plane.width:
        plane.update(data)
        return
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    rows[:, :plane.width] = data
