"""The `mirror` node: flips frames left to right, like a selfie camera's preview.

Not for: anything else; it shows how small a plugin node is.
in: frame (Frame)   out: frame (Frame)   options: enabled (bool, default true)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portraitflow.graph import Frame, Node


class Mirror(Node):
    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        enabled: bool = True

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        if not self.options.enabled:
            ctx.emit("frame", packet)
            return
        # a new contiguous array: never modify a received payload in place
        ctx.emit("frame", packet.derive(np.ascontiguousarray(packet.payload[:, ::-1])))
