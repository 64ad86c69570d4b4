"""Read back what the alpha sinks wrote, with independent readers: PyAV (libvpx-vp9 for VP9's alpha,
which FFmpeg's native vp9 decoder ignores), ffprobe for the stream's codec and pixel format, OpenCV for PNGs.

Not for: production reading of alpha video (no node needs it yet).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np


def decode_bgra(path: str | Path) -> list[np.ndarray]:
    """Every frame of a video file as uint8 HxWx4 BGRA (alpha 255 when the stream has none)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.codec_context.name == "vp9":
            # the matroska demuxer hands VP9's alpha over as packet side data (BlockAdditional); only
            # libvpx's decoder reads it
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            frames = [f for p in container.demux(stream) if p.size for f in decoder.decode(p)]
            frames += list(decoder.decode(None))
        else:
            frames = list(container.decode(stream))
    return [f.to_ndarray(format="bgra") for f in frames]


def probe(path: str | Path) -> dict:
    """ffprobe's view of the first video stream (codec_name, pix_fmt, profile, width, height, tags...)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json",
                          str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)["streams"][0]


def read_png_sequence(folder: str | Path) -> list[np.ndarray]:
    """The folder's PNGs in name order, unchanged (RGBA PNGs come back BGRA)."""
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(Path(folder).glob("*.png"))]
