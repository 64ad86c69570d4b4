"""Bring camera frames down to the working resolution every later stage uses.

Not for: model-sized resizing (nodes/segment.py warps to the model's input itself).
in: frame (Frame)   out: frame (Frame, at most max_width x max_height, aspect kept)
example: recipes' standard chain (capture -> downscale -> segment ...)
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2

from ..graph import Frame, Node


class Downscale(Node):
    """Shrink frames larger than the bound (INTER_AREA, which is right for shrinking); pass smaller
    frames through untouched (no copy)."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        max_width: int = 1280
        max_height: int = 720

        def __post_init__(self):
            if self.max_width < 16 or self.max_height < 16:
                raise ValueError(f"max_width and max_height must be >= 16, got {self.max_width}x{self.max_height}")

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        frame = packet.payload
        h, w = frame.shape[:2]
        scale = min(self.options.max_width / w, self.options.max_height / h)
        if scale >= 1.0:
            ctx.emit("frame", packet)
            return
        size = (max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2))
        ctx.emit("frame", packet.derive(cv2.resize(frame, size, interpolation=cv2.INTER_AREA)))
