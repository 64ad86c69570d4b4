"""The `spotlight` node: a frame and its person mask in, the background dimmed out (a frame+mask plugin).

Not for: real looks (portraitflow's composite node); it shows what a node with two inputs declares.
in:  frame (Frame, BGR, primary: one call per frame), mask (Mask at the frame's size, e.g. fringe.mask)
out: frame (Frame, BGR)
options: dim (0..1, how dark the background gets, default 0.7), mask_wait_ms (how long a live graph
         waits for the frame's own mask), mask_max_age_ms (an older mask counts as missing)
example: [nodes.spotlight] type = "spotlight"  inputs = { frame = "downscale.frame", mask = "fringe.mask" }

When the mask for a frame is missing (dropped, late, too old) ``ctx.inputs["mask"]`` is None: the node
fails closed (dims the whole frame, never shows an undimmed background) and counts "no_mask".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portraitflow.graph import Frame, Mask, Node, Pairing
from portraitflow.graph.options import Above, check_ranges


class Spotlight(Node):
    """Dim everything but the person."""

    inputs = {"frame": Frame, "mask": Mask}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        dim: float = 0.7              # 0 leaves the background as it is, 1 makes it black
        mask_wait_ms: float = 100.0   # a live graph waits this long for the frame's own mask
        mask_max_age_ms: float = 250.0   # else it takes an older one, at most this old

        def __post_init__(self) -> None:
            # declared once: validated on load (ConfigError naming the field) and listed by
            # `portraitflow nodes spotlight`
            check_ranges(self, dim=(0.0, 1.0), mask_wait_ms=(0.0, 1000.0),
                         mask_max_age_ms=(Above(0.0), 5000.0))

    @classmethod
    def pairing_for(cls, options: Options) -> Pairing:
        # the frame drives: one process() call per frame; the mask is paired by capture timestamp
        return Pairing(primary="frame", wait_ms=options.mask_wait_ms, max_age_ms=options.mask_max_age_ms)

    def process(self, ctx) -> None:
        frame_packet, mask_packet = ctx.inputs["frame"], ctx.inputs["mask"]
        frame = frame_packet.payload[..., :3]
        mask = mask_packet.payload if mask_packet is not None else None
        if mask is not None and mask.shape != frame.shape[:2]:
            ctx.count("mask_size_mismatch")   # a bad packet is counted, not fatal: fail closed
            mask = None
        if mask is None:
            ctx.count("no_mask")
            weight = np.float32(1.0 - self.options.dim)
            out = (frame * weight).astype(np.uint8)
        else:
            # person = 1 keeps the pixel, background = 0 is dimmed; float32, vectorised, a new array
            weight = np.float32(1.0 - self.options.dim) + np.float32(self.options.dim) * mask
            out = (frame * weight[..., None]).astype(np.uint8)
        ctx.emit("frame", frame_packet.derive(out))
