"""Bring frames to the output size the user chose (`--size WxH` or `--max-size WxH`), before any other stage.

Not for: the working size of the mask stages (nodes/downscale.py) or fitting a stray frame to a sink.
in: frame (Frame)   out: frame (Frame: exactly width x height for fit "cover", at most that for "within")
options: width, height (px), fit = "cover" | "within"
example: [nodes.size] type = "resize"  inputs = { frame = "capture.frame" }  options = { width = 1280,
         height = 720, fit = "cover" }

"cover" scales the frame to cover width x height and crops the centre, so every output pixel is picture:
no bars are baked into a recording or stream, and the look never draws over bars (which segmentation
would call background). "within" only ever shrinks, aspect kept: a cap that leaves smaller frames alone
(no copy). Placed right after the source, so the mask and the composite agree on the framing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..graph import Frame, Node
from ..graph.options import check_ranges

#: the largest side we accept (8K UHD is 7680x4320)
MAX_SIDE = 8192


def scaled_size(width: int, height: int, target_w: int, target_h: int, fit: str) -> tuple[int, int]:
    """(width, height) the frame is scaled to before cropping ("cover") or as it is ("within")."""
    if fit == "cover":
        scale = max(target_w / width, target_h / height)
        return max(target_w, round(width * scale)), max(target_h, round(height * scale))
    scale = min(1.0, target_w / width, target_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class Resize(Node):
    """Scale (and for "cover" crop) each frame to the chosen output size."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        width: int = 1920
        height: int = 1080
        fit: Literal["cover", "within"] = "cover"

        def __post_init__(self):
            check_ranges(self, width=(16, MAX_SIDE), height=(16, MAX_SIDE))

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        frame = packet.payload
        h, w = frame.shape[:2]
        o = self.options
        size = scaled_size(w, h, o.width, o.height, o.fit)
        if size == (w, h) and (o.fit == "within" or size == (o.width, o.height)):
            ctx.emit("frame", packet)
            return
        scaled = frame
        if size != (w, h):   # INTER_AREA when shrinking (no aliasing), bilinear when enlarging
            interpolation = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
            scaled = cv2.resize(frame, size, interpolation=interpolation)
        if o.fit == "cover":
            x0, y0 = (size[0] - o.width) // 2, (size[1] - o.height) // 2
            scaled = np.ascontiguousarray(scaled[y0:y0 + o.height, x0:x0 + o.width])
        ctx.emit("frame", packet.derive(scaled))
